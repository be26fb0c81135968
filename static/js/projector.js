/* The projector screen: one poll's results over /ws/polls/<id>/, bars growing as votes
   arrive. A snapshot on every (re)connect replaces what is shown; an update only if newer
   (live-socket.js). Without JavaScript the server-rendered chart stays as it is. */
(function () {
  "use strict";
  var root = document.querySelector("[data-projector]");
  if (!root) return;
  var THIN = "\u202f";
  var pollId = root.getAttribute("data-poll");
  var lang = root.getAttribute("data-lang");

  var full = root.querySelector("[data-fullscreen]");
  if (full && document.documentElement.requestFullscreen) {
    full.hidden = false;
    full.addEventListener("click", function () {
      if (document.fullscreenElement) document.exitFullscreen();
      else document.documentElement.requestFullscreen().catch(function () {});
    });
  }
  if (!("WebSocket" in window)) return;

  function group(n) {
    if (n === null || n === undefined) return "—";
    return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, THIN);
  }
  function percent(v) {
    var t = Number(v).toFixed(1);
    return lang === "en" ? t : t.replace(".", ",");
  }

  function apply(msg) {
    root.querySelector("[data-total]").textContent = group(msg.total_votes);
    root.querySelector("[data-bars]").hidden = !msg.results_visible;
    root.querySelector("[data-hidden-note]").hidden = !!msg.results_visible;
    var total = msg.total_votes || 0;
    msg.choices.forEach(function (c) {
      var row = root.querySelector('[data-choice="' + c.id + '"]');
      if (!row) return;
      var share = c.votes !== null && total ? (100 * c.votes / total) : 0;
      var votes = row.querySelector("[data-votes]");
      var shown = group(c.votes);
      if (votes.textContent !== shown) {
        votes.textContent = shown;
        // A short highlight on the row that just received votes (none with reduced motion).
        row.classList.remove("is-bumped");
        void row.offsetWidth;
        row.classList.add("is-bumped");
      }
      row.querySelector("[data-share]").textContent = percent(share);
      row.querySelector(".projector-fill").style.width = share.toFixed(1) + "%";
    });
    root.setAttribute("data-seq", String(msg.seq));
    root.dispatchEvent(new CustomEvent("results:applied", { detail: msg }));
  }

  // Live only once the snapshot has replaced the figures: stale numbers never look current.
  BirgeLive.connect("/ws/polls/" + pollId + "/", {
    stream: "results",
    seq: parseInt(root.getAttribute("data-seq"), 10) || 0,
    accept: function (msg) { return String(msg.poll) === pollId; },
    onMessage: apply,
    onStatus: BirgeLive.indicator(root, { staleClass: "is-stale" }),
    liveOn: "snapshot",
    maxDelay: 15000,
    // The server re-sends the results every resync interval: silence for two means dead.
    staleAfter: BirgeLive.staleAfter(root),
    // Signed out (the session ended on the wall's browser), not allowed, or the poll gone:
    // the screen says so and stops, instead of knocking every few seconds all evening.
    stopCodes: [4401, 4403, 4404]
  });
})();
