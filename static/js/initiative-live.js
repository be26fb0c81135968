/* Live support count of one initiative: a snapshot on connect, then updates with a rising
   seq. Reconnects with backoff and resyncs from the new snapshot (live-socket.js). Without
   JavaScript the server-rendered count stays as it is, and the support button still works
   (a POST form). */
(function () {
  "use strict";
  var box = document.querySelector("[data-initiative-live]");
  if (!box || !("WebSocket" in window)) return;
  var id = box.getAttribute("data-initiative");
  var renderedStatus = box.getAttribute("data-status");

  function apply(msg) {
    var p = msg.payload;
    var count = Number(p.supports_count) || 0;
    var threshold = Number(p.threshold) || 0;
    box.querySelector("[data-supports]").textContent = String(count);
    box.querySelector("[data-threshold]").textContent = String(threshold);
    var share = threshold ? Math.min(100, Math.round(100 * count / threshold)) : 100;
    box.querySelector("[data-progress]").style.width = share + "%";
    box.querySelector("[data-threshold-reached]").hidden = !(p.threshold_reached && p.in_review_queue);
    // The forms on the page belong to the rendered status: say so when it moved on.
    box.querySelector("[data-status-changed]").hidden = p.status === renderedStatus;
    box.setAttribute("data-seq", String(msg.seq));
  }

  BirgeLive.connect("/ws/initiatives/" + id + "/", {
    stream: "initiative",
    seq: parseInt(box.getAttribute("data-seq"), 10) || 0,
    accept: function (msg) { return !!msg.payload && String(msg.payload.id) === id; },
    onMessage: apply,
    onStatus: BirgeLive.indicator(box)
  });
})();
