// outdial web UI: the little the pages need beyond htmx. No inline scripts (CSP).
(function () {
  "use strict";

  // The sign-in form picks the browser's time zone when the list has it.
  function pickBrowserZone() {
    var select = document.querySelector("select[data-browser-zone]");
    if (!select || select.dataset.touched) return;
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    if (zone && select.value === "UTC") {
      for (var i = 0; i < select.options.length; i++) {
        if (select.options[i].value === zone) { select.value = zone; break; }
      }
    }
  }

  // Buttons with data-open-dialog="id" open that <dialog>; data-close-dialog closes its own.
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (dialog && dialog.showModal) {
        event.preventDefault();  // without this script the link opens the form as a page
        dialog.showModal();
      }
      return;
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      var own = closer.closest("dialog");
      if (own) { own.close(); }
    }
  });

  // The Queue Calls link acts as a button, so Space opens it as well as Enter.
  document.addEventListener("keydown", function (event) {
    if (event.key === " " && event.target.matches && event.target.matches("a[data-open-dialog]")) {
      event.preventDefault();
      event.target.click();
    }
  });

  // Polling must not replace a table while someone is using a control inside it.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.id && (elt.id === "live" || elt.id === "completed")) {
      var active = document.activeElement;
      if (active && active !== document.body && elt.contains(active) && active.tagName !== "A") {
        event.preventDefault();
      }
    }
  });

  // A failed request says so instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var message = status === 413 ? "The file is larger than this server accepts." :
      status === 403 ? "Refused: reload the page and try again." :
      "Something went wrong (" + status + "). Reload the page and try again.";
    showProblem(message);
  });
  document.addEventListener("htmx:sendError", function () {
    showProblem("The server cannot be reached. Is outdial running?");
  });

  function showProblem(message) {
    var box = document.getElementById("problem");
    if (!box) {
      box = document.createElement("p");
      box.id = "problem";
      box.className = "error banner";
      box.setAttribute("role", "alert");
      var main = document.getElementById("main");
      main.insertBefore(box, main.firstChild);
    }
    box.textContent = message;
  }

  document.addEventListener("DOMContentLoaded", pickBrowserZone);
})();
