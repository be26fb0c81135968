/* The People's Budget round page: the ballot's running total.

   The ballot: as projects are ticked, "spent X of Y ₸" follows, with the number grouped the
   way the page's language writes it (the server renders the separator and every text); over
   the total, or with too many projects, the submit button is disabled and the refusal is
   shown before anything is sent. Without JavaScript the form posts as it is and the server
   refuses an over-budget ballot with the same words (422).

   The live turnout is not here: the server renders it and live-socket.js swaps it in. */
(function () {
  "use strict";

  function grouper(sep) {
    return function (n) {
      if (n === null || n === undefined) return "—";
      return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, sep);
    };
  }
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (m, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : m;
    });
  }
  function setText(el, text) {
    if (el && el.textContent !== String(text)) el.textContent = text;
  }

  /* --- The ballot ------------------------------------------------------------------------- */
  (function ballot() {
    var form = document.querySelector("[data-budget-ballot]");
    var data = document.getElementById("budget-ballot-text");
    if (!form || !data) return;
    var T = JSON.parse(data.textContent);
    var group = grouper(form.getAttribute("data-group-sep") || " ");
    var total = Number(form.getAttribute("data-total")) || 0;
    var min = Number(form.getAttribute("data-min")) || 0;
    var max = Number(form.getAttribute("data-max")) || Infinity;
    var spentText = form.querySelector("[data-budget-spent]");
    var bar = form.querySelector("[data-budget-bar]");
    var refusal = form.querySelector("[data-budget-refusal]");
    var submit = form.querySelector("[data-budget-submit]");
    var hint = form.querySelector("[data-budget-hint]");
    var boxes = form.querySelectorAll('input[type="checkbox"][data-cost]');

    function money(n) { return fill(T.money, { amount: group(n) }); }

    function update() {
      var spent = 0, count = 0;
      Array.prototype.forEach.call(boxes, function (box) {
        if (box.checked) { spent += Number(box.getAttribute("data-cost")) || 0; count += 1; }
      });
      setText(spentText, fill(T.spent, { spent: money(spent), total: money(total) }));
      var share = total ? Math.min(100, 100 * spent / total) : 0;
      bar.style.width = share.toFixed(1) + "%";
      var message = "";
      if (spent > total) message = fill(T.over, { over: money(spent - total), spent: money(spent), total: money(total) });
      else if (count > max) message = T.too_many;
      bar.classList.toggle("is-over", spent > total);
      refusal.hidden = !message;
      setText(refusal, message);
      var blocked = !!message || count < min;
      submit.disabled = blocked;
      // Too few is not a mistake yet, only what is still to do: a hint, not an alert.
      if (hint) {
        hint.hidden = !!message || count >= min;
        setText(hint, T.too_few);
      }
      form.setAttribute("data-spent", String(spent));
    }

    form.addEventListener("change", update);
    form.addEventListener("submit", function (event) {
      update();
      if (submit.disabled) event.preventDefault();
    });
    update();
  })();

})();
