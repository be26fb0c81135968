/* The vote form of an "up to N" poll: once N boxes are ticked the others are disabled, and a
   line says how many are chosen. Without JavaScript the server refuses too many choices. */
(function () {
  "use strict";
  document.querySelectorAll("form[data-max-choices]").forEach(function (form) {
    var max = parseInt(form.getAttribute("data-max-choices"), 10) || 0;
    var boxes = form.querySelectorAll('input[type="checkbox"][name="choice"]');
    var count = form.querySelector("[data-choice-count]");
    if (!max || !boxes.length) return;
    function update() {
      var chosen = 0;
      boxes.forEach(function (box) { if (box.checked) chosen += 1; });
      var full = chosen >= max;
      boxes.forEach(function (box) {
        box.disabled = full && !box.checked;
        var label = box.closest("label");
        if (label) label.classList.toggle("is-disabled", box.disabled);
      });
      if (count) {
        count.textContent = full
          ? count.getAttribute("data-text-full")
          : count.getAttribute("data-text").replace("{chosen}", String(chosen));
      }
    }
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    update();
  });
})();
