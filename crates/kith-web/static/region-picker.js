// The province/city/district picker: inside an element with data-regions (the URL of the
// regions.json asset: {province: {city: [district]}}), the three inputs marked
// data-region="province|city|district" become selects that depend on each other. What was
// typed stays chosen — also a value the table lacks, so the error the server put beside it
// still points at what the member sees. Without JavaScript the inputs are typed, and the
// server checks the combination either way.
(() => {
  let table = null;
  const load = (src) => (table ??= fetch(src).then((r) => r.json()));
  const fill = (select, names, value, prompt) => {
    select.replaceChildren(new Option(prompt, ""));
    if (value && !names.includes(value)) select.add(new Option(value, value, true, true));
    for (const n of names) select.add(new Option(n, n, n === value, n === value));
  };
  const init = (root) => {
    for (const box of root.querySelectorAll("[data-regions]")) {
      if (box.dataset.ready) continue;
      box.dataset.ready = "1";
      load(box.dataset.regions).then((t) => {
        const inputs = ["province", "city", "district"].map((k) =>
          box.querySelector(`input[data-region="${k}"]`),
        );
        if (inputs.some((i) => !i)) return;
        const [p, c, d] = inputs.map((input) => {
          const s = document.createElement("select");
          for (const a of ["id", "name", "aria-invalid"]) {
            if (input.hasAttribute(a)) s.setAttribute(a, input.getAttribute(a));
          }
          s.dataset.region = input.dataset.region;
          s.dataset.typed = input.value;
          input.replaceWith(s);
          return s;
        });
        const cities = () => Object.keys(t[p.value] || {});
        const districts = () => (t[p.value] || {})[c.value] || [];
        fill(p, Object.keys(t), p.dataset.typed, box.dataset.pickProvince);
        fill(c, cities(), c.dataset.typed, box.dataset.pickCity);
        fill(d, districts(), d.dataset.typed, box.dataset.pickDistrict);
        p.addEventListener("change", () => {
          fill(c, cities(), "", box.dataset.pickCity);
          fill(d, [], "", box.dataset.pickDistrict);
        });
        c.addEventListener("change", () => fill(d, districts(), "", box.dataset.pickDistrict));
        box.dataset.picker = "on";
      });
    }
  };
  init(document);
  // Pages swapped in by htmx (hx-boost) bring their own forms.
  document.addEventListener("htmx:load", (e) => init(e.detail.elt));
})();
