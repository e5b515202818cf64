// The console's member picker. Without JavaScript, a fieldset.member-picker is a search box
// (belonging to the page's GET form, so a search reloads the page) above the matches as
// radio choices named account_id. With it, typing asks the fieldset's data-search URL
// (the shop's members/search, JSON) and redraws the choices in place; Enter takes the
// first suggestion instead of reloading. The server decides who may be found.
(() => {
  const choice = (m, only) => {
    const li = document.createElement("li");
    const label = document.createElement("label");
    const radio = document.createElement("input");
    radio.type = "radio";
    radio.name = "account_id";
    radio.value = m.id;
    radio.required = true;
    radio.checked = only;
    const name = document.createElement("span");
    name.className = "pick-name";
    name.textContent = m.name;
    const extra = document.createElement("span");
    extra.className = "muted";
    extra.textContent = [m.phone, m.tier].filter(Boolean).join(" · ");
    label.append(radio, " ", name, " ", extra);
    li.append(label);
    return li;
  };
  const picker = (box) => {
    const q = box.querySelector("input.pick-q");
    const list = box.querySelector("ul.picks");
    const hint = box.querySelector(".pick-hint");
    if (!q || !list || !box.dataset.search) return;
    box.querySelector("#pick-none")?.remove();
    const note = document.createElement("p");
    note.className = "muted pick-note";
    note.setAttribute("role", "status");
    list.after(note);
    let asked = 0;
    let timer;
    const ask = async () => {
      const mine = ++asked;
      const url = `${box.dataset.search}?q=${encodeURIComponent(q.value.trim())}`;
      let found = null;
      try {
        const r = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (r.ok) found = await r.json();
      } catch {
        found = null;
      }
      if (mine !== asked) return; // a later keystroke has asked since
      if (found === null) {
        q.setAttribute("aria-invalid", "true");
        note.textContent = box.dataset.refused;
        list.replaceChildren();
        return;
      }
      q.removeAttribute("aria-invalid");
      hint?.classList.remove("error");
      list.replaceChildren(...found.map((m) => choice(m, found.length === 1)));
      note.textContent = found.length === 0 ? box.dataset.none : "";
      box.dataset.answered = q.value.trim(); // what the choices shown were found for
    };
    q.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(ask, 200);
    });
    q.addEventListener("keydown", (e) => {
      if (e.key !== "Enter") return;
      e.preventDefault();
      const first = list.querySelector("input[type=radio]");
      if (first) first.checked = true;
    });
  };
  const init = (root) => {
    for (const box of root.querySelectorAll("fieldset.member-picker")) {
      if (box.dataset.ready) continue;
      box.dataset.ready = "1";
      picker(box);
    }
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => init(document));
  } else {
    init(document);
  }
  document.addEventListener("htmx:load", (e) => init(e.target));
})();
