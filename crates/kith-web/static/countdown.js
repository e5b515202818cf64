// Ticks the 秒杀 countdowns: every element with data-until (ms since the epoch) shows the
// time left as HH:MM:SS, and reloads the page when it reaches zero (the slot opened or
// closed). The server already rendered the time left, so without JavaScript it is right
// when the page loads.
(() => {
  const els = document.querySelectorAll("[data-until]");
  if (!els.length) return;
  const pad = (n) => String(n).padStart(2, "0");
  const tick = () => {
    const now = Date.now();
    for (const el of els) {
      const left = Math.max(0, Math.floor((Number(el.dataset.until) - now) / 1000));
      el.textContent = `${pad(Math.floor(left / 3600))}:${pad(Math.floor(left / 60) % 60)}:${pad(left % 60)}`;
      if (left === 0 && !el.dataset.reloaded) {
        el.dataset.reloaded = "1";
        setTimeout(() => location.reload(), 1000);
      }
    }
  };
  tick();
  setInterval(tick, 1000);
})();
