// Client-side search of the index: every word typed must appear in a flow's search text
// (name, module, org, project, owners, labels, tables, models). No server needed.
(function () {
  const box = document.getElementById("query");
  const rows = Array.from(document.querySelectorAll("tr[data-search]"));
  const sections = Array.from(document.querySelectorAll("section[data-org]"));
  const count = document.getElementById("shown");
  function filter() {
    const words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const row of rows) {
      const text = row.dataset.search;
      const match = words.every((word) => text.includes(word));
      row.hidden = !match;
      if (match) shown += 1;
    }
    for (const section of sections) {
      section.hidden = !section.querySelector("tr[data-search]:not([hidden])");
    }
    count.textContent = shown;
  }
  box.addEventListener("input", filter);
  const initial = new URLSearchParams(window.location.search).get("q");
  if (initial) box.value = initial;
  filter();
})();
