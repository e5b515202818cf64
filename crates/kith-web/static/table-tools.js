// The console's tables at a desk. A click on a column's heading sorts the rows by it (a
// second click, the other way; aria-sort says which), and a table with data-filter gets a
// box above it that keeps only the rows holding what is typed. Cells sort by their
// data-sort when they have one (a time, an amount in fen), else by their text: amounts
// (¥1,234.50), rates (12.5%) and counts as numbers, words in Chinese collation with digits
// compared as numbers. Without JavaScript the table stays as the server ordered it.
(() => {
  const keyOf = (cell) => {
    const raw = (cell?.dataset.sort ?? cell?.textContent ?? "").trim();
    const n = raw.replace(/[¥,%\s]/g, "");
    return /^-?\d+(\.\d+)?$/.test(n) ? Number(n) : raw;
  };
  const compare = (a, b) =>
    typeof a === "number" && typeof b === "number"
      ? a - b
      : String(a).localeCompare(String(b), "zh-CN", { numeric: true });
  const sortable = (table) => {
    const body = table.tBodies[0];
    const heads = [...table.querySelectorAll("thead th")];
    heads.forEach((th, col) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.append(...th.childNodes);
      th.replaceChildren(button);
      button.addEventListener("click", () => {
        const up = th.getAttribute("aria-sort") !== "ascending";
        for (const other of heads) other.removeAttribute("aria-sort");
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        const rows = [...body.rows];
        rows.sort((x, y) => compare(keyOf(x.cells[col]), keyOf(y.cells[col])) * (up ? 1 : -1));
        body.append(...rows);
      });
    });
  };
  const filterable = (table) => {
    const box = document.createElement("input");
    box.type = "search";
    box.className = "table-filter";
    box.id = `${table.id || "table"}-filter`;
    box.placeholder = table.dataset.filter;
    box.setAttribute("aria-label", table.dataset.filter);
    (table.closest(".table-wrap") ?? table).before(box);
    box.addEventListener("input", () => {
      const want = box.value.trim().toLowerCase();
      for (const row of table.tBodies[0].rows) {
        row.hidden = want !== "" && !row.textContent.toLowerCase().includes(want);
      }
    });
  };
  const init = (root) => {
    for (const table of root.querySelectorAll("table.data")) {
      if (table.dataset.tools || !table.tHead || !table.tBodies[0]) continue;
      table.dataset.tools = "1";
      sortable(table);
      if (table.dataset.filter) filterable(table);
    }
  };
  document.addEventListener("DOMContentLoaded", () => init(document));
  document.addEventListener("htmx:load", (e) => init(e.target));
})();
