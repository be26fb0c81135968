/* What every page shares, kept out of the HTML so that the Content-Security-Policy allows no
   inline script or style: a bar takes its width from data-width (a style="width: …" attribute
   would be an inline style), and a button marked data-print prints the page. The live scripts
   set the same widths when results change. */
(function () {
  "use strict";
  function applyWidths(root) {
    var bars = root.querySelectorAll("[data-width]");
    for (var i = 0; i < bars.length; i++) {
      var value = parseFloat(bars[i].getAttribute("data-width"));
      if (!isNaN(value)) bars[i].style.width = Math.max(0, Math.min(100, value)) + "%";
    }
  }
  function start() {
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
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
