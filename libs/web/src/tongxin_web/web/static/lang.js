// The page's language: Chinese by default, English on request; both labels are in the HTML
// (class "zh" / "en"), html[data-lang] shows one. The choice is remembered in localStorage.
(function () {
  "use strict";
  var KEY = "tongxin.lang";
  var root = document.documentElement;
  function apply(lang) {
    root.setAttribute("data-lang", lang);
    root.setAttribute("lang", lang === "en" ? "en" : "zh-CN");
  }
  try {
    var saved = window.localStorage.getItem(KEY);
    if (saved === "en" || saved === "zh") apply(saved);
  } catch (e) { /* no storage: Chinese */ }
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("lang-toggle");
    if (!button) return;
    button.addEventListener("click", function () {
      var next = root.getAttribute("data-lang") === "en" ? "zh" : "en";
      apply(next);
      try { window.localStorage.setItem(KEY, next); } catch (e) { /* not remembered */ }
      window.dispatchEvent(new Event("tongxin:lang"));
    });
  });
})();
