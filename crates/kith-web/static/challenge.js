// Solves the proof-of-work challenge a form carries (ALTCHA's format: find the number n
// in 0..=maxnumber with hex(SHA-256(salt + n)) = challenge) and fills it in; the submit
// button waits until then. Runs only on pages that were asked for a challenge.
(async () => {
  const numberField = document.querySelector('input[name="challenge_number"]');
  if (!numberField || !numberField.form) return;
  const form = numberField.form;
  const value = (name) => form.querySelector(`input[name="${name}"]`).value;
  const status = document.getElementById("challenge-status");
  const button = form.querySelector('button[type="submit"]');
  const salt = value("challenge_salt");
  const target = value("challenge_challenge");
  const max = Number(value("challenge_maxnumber"));
  if (button) button.disabled = true;
  const done = (n) => {
    if (n !== null) numberField.value = String(n);
    if (status) status.textContent = n !== null ? status.dataset.solved : status.dataset.failed;
    if (button) button.disabled = false;
  };
  if (!window.crypto || !crypto.subtle) return done(null);
  const encoder = new TextEncoder();
  const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
  const batch = 500;
  for (let start = 0; start <= max; start += batch) {
    const numbers = [];
    for (let n = start; n < start + batch && n <= max; n++) numbers.push(n);
    const hashes = await Promise.all(
      numbers.map((n) => crypto.subtle.digest("SHA-256", encoder.encode(salt + n)))
    );
    const hit = hashes.findIndex((h) => hex(h) === target);
    if (hit >= 0) return done(numbers[hit]);
  }
  done(null);
})();
