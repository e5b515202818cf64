// 复制链接: a button with data-copy-from="<input id>" copies that input's value and says
// data-done on itself. Listens on the document, so pages swapped in by hx-boost work too.
// Without the clipboard API (a page not served over HTTPS), the link is selected and
// copied the old way; failing that, left selected for the reader to copy.
document.addEventListener("click", (ev) => {
  const button = ev.target.closest("button[data-copy-from]");
  if (!button) return;
  const input = document.getElementById(button.dataset.copyFrom);
  if (!input) return;
  const said = () => {
    if (button.dataset.done) button.textContent = button.dataset.done;
  };
  const byHand = () => {
    input.select();
    try {
      if (document.execCommand("copy")) said();
    } catch (_) {
      // Left selected.
    }
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(said, byHand);
  } else {
    byHand();
  }
});
