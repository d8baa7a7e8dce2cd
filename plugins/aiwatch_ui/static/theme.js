// Morocco AI Watch: follow the colour mode of the Airflow UI around this page.
// Loaded in <head> without defer, so the page is painted in the right mode from the start. Airflow's UI
// (next-themes) puts "dark" or "light" on its <html> and keeps the choice in localStorage "theme" (this
// page has the same origin); without either, the system's setting decides. A later switch in Airflow's UI
// is followed too.
"use strict";
(function () {
  const root = document.documentElement;
  const system = window.matchMedia("(prefers-color-scheme: dark)");

  function fromAirflow() {
    try {
      if (window.parent !== window) {
        const classes = window.parent.document.documentElement.classList;
        if (classes.contains("dark")) return "dark";
        if (classes.contains("light")) return "light";
      }
    } catch (error) {
      // another origin: not inside Airflow's UI
    }
    try {
      const stored = window.localStorage.getItem("theme");
      if (stored === "dark" || stored === "light") return stored;
    } catch (error) {
      // storage refused: the system decides
    }
    return null;
  }

  function apply() {
    const mode = fromAirflow() || (system.matches ? "dark" : "light");
    root.dataset.theme = mode;
    root.style.colorScheme = mode;
  }

  apply();
  system.addEventListener("change", apply);
  window.addEventListener("storage", apply);
  try {
    if (window.parent !== window) {
      new MutationObserver(apply).observe(window.parent.document.documentElement,
                                          {attributes: true, attributeFilter: ["class"]});
    }
  } catch (error) {
    // another origin
  }
})();
