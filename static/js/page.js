/* What every page shares, kept out of the HTML so that the Content-Security-Policy allows no
   inline script or style: a bar takes its width from data-width (a style="width: …" attribute
   would be an inline style), and a button marked data-print prints the page. The live scripts
   set the same widths when results change.
   It also folds the header's menu on a phone behind its button, and after a refused form puts
   the keyboard where the problem is: on the first invalid field, or on the error itself. */
(function () {
  "use strict";
  function applyWidths(root) {
    var bars = root.querySelectorAll("[data-width]");
    for (var i = 0; i < bars.length; i++) {
      var value = parseFloat(bars[i].getAttribute("data-width"));
      if (!isNaN(value)) bars[i].style.width = Math.max(0, Math.min(100, value)) + "%";
    }
  }
  function setupMenu() {
    var toggle = document.querySelector("[data-menu-toggle]");
    var menu = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
    if (!menu) return;
    function setOpen(open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      menu.classList.toggle("is-open", open);
    }
    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        toggle.focus();
      }
    });
  }
  var FIELDS = "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])";
  function visible(el) { return !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length); }
  function focusFirstError() {
    var marks = document.querySelectorAll("main [aria-invalid=true], main [data-error-summary], main .form-errors, main .error-summary");
    var mark = null;
    for (var i = 0; i < marks.length; i++) {
      if (!marks[i].hidden && visible(marks[i])) { mark = marks[i]; break; }
    }
    if (!mark) return;
    // A page arrived with a fragment (#comment-4) chose its own place: leave it there, unless
    // the fragment names the refused form itself.
    var hashed = window.location.hash.length > 1 && document.getElementById(decodeURIComponent(window.location.hash.slice(1)));
    if (hashed && !hashed.contains(mark)) return;
    var target = null;
    if (mark.matches(FIELDS)) target = mark;
    var form = mark.closest("form");
    if (!target && form) {
      var invalid = form.querySelector("[aria-invalid=true]");
      if (invalid && visible(invalid)) target = invalid;
    }
    if (!target && form) {
      var fields = form.querySelectorAll(FIELDS);
      for (var j = 0; j < fields.length; j++) {
        if (visible(fields[j]) && (mark.compareDocumentPosition(fields[j]) & Node.DOCUMENT_POSITION_FOLLOWING)) { target = fields[j]; break; }
      }
    }
    if (!target) {
      // An error outside a form (a refused action): the message itself takes the focus.
      if (!mark.hasAttribute("tabindex")) mark.setAttribute("tabindex", "-1");
      target = mark;
    }
    var summary = form && form.querySelector("[data-error-summary], .form-errors");
    target.focus({ preventScroll: true });
    if (hashed) {
      // The browser's own scroll to the fragment, at load, takes the focus away again.
      window.addEventListener("load", function () {
        if (document.activeElement === document.body) target.focus({ preventScroll: true });
      }, { once: true });
    }
    // The summary at the form's top stays in view above the field when both fit.
    (summary && summary !== target ? summary : target).scrollIntoView({ block: "start" });
    if (summary && summary !== target) {
      var rect = target.getBoundingClientRect();
      if (rect.bottom > window.innerHeight) target.scrollIntoView({ block: "center" });
    }
  }
  function start() {
    setupMenu();
    focusFirstError();
    applyWidths(document);
    var printers = document.querySelectorAll("[data-print]");
    for (var i = 0; i < printers.length; i++) {
      printers[i].addEventListener("click", function () { window.print(); });
    }
  }
  // Fragments swapped in by htmx (a support button, an upvote) carry their bars too.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail && event.detail.target) applyWidths(event.detail.target);
  });
  // A refused action in place (a 4xx from an hx-post form) is sent again as a plain form: the
  // server then answers with its full page, the reason at the top, as without JavaScript.
  document.addEventListener("htmx:responseError", function (event) {
    var form = event.detail && event.detail.elt;
    if (form && form.tagName === "FORM" && form.method.toLowerCase() === "post") form.submit();
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
