// Today's list at the window: instant search over the rows (name, birth date, the
// last digits of the identity number), "/" to search from anywhere, Enter in the
// search box to go to the first patient shown, and focus on the error summary after
// a refused recording. The page works without it; this only makes it faster.
(function () {
  "use strict";
  const search = document.getElementById("q");
  const rows = Array.from(document.querySelectorAll("[data-testid=list-row]"));
  const count = document.getElementById("search-count");
  const summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
  const shown = () => rows.filter((row) => !row.hidden);
  const matches = (row, query) => {
    const text = row.dataset.search || "";
    if (/^\d{1,5}$/.test(query)) {
      const number = text.split(" ").pop();
      return number.endsWith(query) || text.includes(query);
    }
    return query.split(/\s+/).every((word) => text.includes(word));
  };
  const apply = () => {
    const query = search.value.trim().toLowerCase();
    rows.forEach((row) => {
      row.hidden = query !== "" && !matches(row, query);
    });
    if (count) {
      count.textContent = query ? `Viser ${shown().length} av ${rows.length}.` : "";
    }
  };
  if (search) {
    search.addEventListener("input", apply);
    search.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") {
        return;
      }
      const first = shown()[0];
      const target = first && first.querySelector("input[type=checkbox], button:not([disabled]), a");
      if (target) {
        event.preventDefault();
        first.scrollIntoView({ block: "center" });
        target.focus();
      }
    });
  }
  document.addEventListener("keydown", (event) => {
    const active = document.activeElement;
    const typing = active && /^(input|textarea|select)$/i.test(active.tagName);
    if (event.key === "/" && search && !typing) {
      event.preventDefault();
      search.focus();
      search.select();
    }
  });
})();
