// The docs' search, from disk as well as from a server: no Web Worker and no fetch (a page
// opened as file:// may use neither). lunr.js and the index (search_index.js, written from
// search_index.json when the site is built) load as plain scripts; lunr indexes in the page.
(function () {
  var index = null;
  var documents = {};

  function url(path) {
    return base_url.replace(/\/$/, "") + "/" + path;
  }

  function load(path, done) {
    var script = document.createElement("script");
    script.src = url(path);
    script.onload = done;
    script.onerror = function () { console.error("search: could not load " + path); };
    document.head.appendChild(script);
  }

  function escapeHtml(value) {
    return value.replace(/&/g, "&amp;").replace(/"/g, "&quot;")
      .replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function show(results) {
    var box = document.getElementById("mkdocs-search-results");
    if (!box) { return; }
    box.innerHTML = "";
    if (!results.length) {
      box.insertAdjacentHTML("beforeend", "<p>" + (box.getAttribute("data-no-results-text") || "No results found") + "</p>");
      return;
    }
    results.forEach(function (doc) {
      var summary = doc.text.substring(0, 200);
      box.insertAdjacentHTML("beforeend", '<article><h3><a href="' + url(doc.location) + '">' +
        escapeHtml(doc.title) + "</a></h3><p>" + escapeHtml(summary) + "</p></article>");
    });
  }

  function search() {
    var input = document.getElementById("mkdocs-search-query");
    var query = input ? input.value.trim() : "";
    if (!index || query.length < 2) { show([]); return; }
    var words = query.split(/\s+/).map(function (w) { return w.replace(/[:~^*+-]/g, ""); })
      .filter(Boolean).map(function (w) { return "+" + w + "*"; }).join(" ");
    var found;
    try { found = index.search(words); } catch (error) { found = []; }
    show(found.map(function (hit) { return documents[hit.ref]; }).filter(Boolean));
  }

  load("search/lunr.js", function () {
    load("search/search_index.js", function () {
      var data = window.pipelinesSearchIndex || { docs: [] };
      index = lunr(function () {
        this.field("title", { boost: 10 });
        this.field("text");
        this.ref("location");
        data.docs.forEach(function (doc) {
          documents[doc.location] = doc;
          this.add(doc);
        }, this);
      });
      var input = document.getElementById("mkdocs-search-query");
      if (input) {
        input.addEventListener("keyup", search);
        input.addEventListener("input", search);
        if (input.value) { search(); }
      }
    });
  });
})();
