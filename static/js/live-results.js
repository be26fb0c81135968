/* Live poll results: a snapshot on connect, then coalesced updates with a rising seq.
   Reconnects with backoff and resyncs from the new snapshot. Without JavaScript the
   server-rendered chart stays as it is. */
(function () {
  "use strict";
  var section = document.querySelector("[data-results]");
  if (!section || !("WebSocket" in window)) return;
  var pollId = section.getAttribute("data-poll");
  var lastSeq = parseInt(section.getAttribute("data-seq"), 10) || 0;
  var indicator = section.querySelector("[data-live-indicator]");
  var text = section.querySelector("[data-live-text]");
  var attempt = 0;

  function setLive(live) {
    indicator.hidden = false;
    indicator.classList.toggle("is-reconnecting", !live);
    text.textContent = text.getAttribute(live ? "data-text-live" : "data-text-reconnecting");
  }

  function apply(msg) {
    if (msg.poll !== undefined && String(msg.poll) !== pollId) return;
    // A snapshot always wins (it follows a reconnect); an update only if it is newer.
    if (msg.type === "results.update" && msg.seq <= lastSeq) return;
    lastSeq = msg.seq;
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
    section.setAttribute("data-seq", String(lastSeq));
    section.dispatchEvent(new CustomEvent("results:applied", { detail: msg }));
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/ws/polls/" + pollId + "/");
    ws.onopen = function () { attempt = 0; setLive(true); };
    ws.onmessage = function (event) {
      var msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (msg.type === "results.snapshot" || msg.type === "results.update") apply(msg);
    };
    ws.onclose = function (event) {
      setLive(false);
      if (event.code === 4404 || event.code === 4403) return; // gone or forbidden: stop
      attempt += 1;
      var delay = Math.min(30000, 500 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
      setTimeout(connect, delay);
    };
  }
  connect();
})();
