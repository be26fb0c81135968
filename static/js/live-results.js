/* Live poll results: a snapshot on connect, then coalesced updates with a rising seq.
   Reconnects with backoff and resyncs from the new snapshot (live-socket.js). Without
   JavaScript the server-rendered chart stays as it is. */
(function () {
  "use strict";
  var section = document.querySelector("[data-results]");
  if (!section || !("WebSocket" in window)) return;
  var pollId = section.getAttribute("data-poll");

  function apply(msg) {
    section.querySelector("[data-total]").textContent = msg.total_votes;
    var bars = section.querySelector("[data-bars]");
    bars.hidden = !msg.results_visible;
    section.querySelector("[data-hidden-note]").hidden = !!msg.results_visible;
    var total = msg.total_votes || 0;
    msg.choices.forEach(function (c) {
      var row = section.querySelector('[data-choice="' + c.id + '"]');
      if (!row) return;
      var share = c.votes !== null && total ? (100 * c.votes / total) : 0;
      row.querySelector("[data-votes]").textContent = c.votes === null ? "—" : c.votes;
      row.querySelector("[data-share]").textContent = share.toFixed(1);
      row.querySelector(".bar-fill").style.width = share.toFixed(1) + "%";
    });
    section.setAttribute("data-seq", String(msg.seq));
    section.dispatchEvent(new CustomEvent("results:applied", { detail: msg }));
  }

  BirgeLive.connect("/ws/polls/" + pollId + "/", {
    stream: "results",
    seq: parseInt(section.getAttribute("data-seq"), 10) || 0,
    accept: function (msg) { return msg.poll === undefined || String(msg.poll) === pollId; },
    onMessage: apply,
    onStatus: BirgeLive.indicator(section)
  });
})();
