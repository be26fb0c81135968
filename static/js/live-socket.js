/* The one websocket client of Birge's live pages (results, initiatives, Q&A, dashboard,
   projector). Plain browser JavaScript, loaded before the page scripts that use it:

     var live = BirgeLive.connect("/ws/polls/7/", {
       stream: "results",          // handles "results.snapshot" and "results.update"
       seq: 12,                    // the seq of the server-rendered state
       accept: function (msg) {},  // optional: false drops a message without touching seq
       onMessage: function (msg) {},
       onStatus: BirgeLive.indicator(root)
     });

   It builds the ws:// or wss:// address from the page's location, and on every (re)connect
   the server sends a snapshot: a snapshot always replaces what is shown, an update only if
   its seq is newer than the last one seen on its stream. A dropped socket is reopened with
   a capped exponential backoff and jitter, unless it was closed with one of `stopCodes`
   (gone, forbidden, signed out). onStatus hears "live" and "reconnecting". */
(function () {
  "use strict";

  function connect(path, options) {
    options = options || {};
    var streams = [].concat(options.stream || []);
    var accept = options.accept || function () { return true; };
    var onMessage = options.onMessage || function () {};
    var onStatus = options.onStatus || function () {};
    // "open": live as soon as the socket opens; "snapshot": live once the state has arrived.
    var liveOn = options.liveOn || "open";
    var maxDelay = options.maxDelay || 30000;
    var stopCodes = options.stopCodes || [4403, 4404];
    var lastSeq = {};
    streams.forEach(function (stream) { lastSeq[stream] = Number(options.seq) || 0; });
    var attempt = 0;
    var socket = null;
    var stopped = false;

    function receive(msg) {
      if (!msg || typeof msg.type !== "string") return;
      var dot = msg.type.lastIndexOf(".");
      var stream = msg.type.slice(0, dot);
      var kind = msg.type.slice(dot + 1);
      if (streams.indexOf(stream) === -1) return;
      if (kind === "snapshot") {
        if (liveOn === "snapshot") attempt = 0;
        if (accept(msg)) {
          lastSeq[stream] = msg.seq; // a snapshot always wins: it is the state after a (re)connect
          onMessage(msg);
        }
        if (liveOn === "snapshot") onStatus("live");
      } else if (kind === "update") {
        if (!accept(msg) || !(msg.seq > lastSeq[stream])) return;
        lastSeq[stream] = msg.seq;
        onMessage(msg);
      }
    }

    function open() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var ws = new WebSocket(scheme + location.host + path);
      socket = ws;
      ws.onopen = function () {
        if (liveOn === "open") {
          attempt = 0;
          onStatus("live");
        }
      };
      ws.onmessage = function (event) {
        var msg;
        try { msg = JSON.parse(event.data); } catch (e) { return; }
        receive(msg);
      };
      ws.onclose = function (event) {
        if (socket === ws) socket = null;
        onStatus("reconnecting");
        if (stopped || stopCodes.indexOf(event.code) !== -1) return;
        attempt += 1;
        var delay = Math.min(maxDelay, 500 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
        setTimeout(open, delay);
      };
    }

    open();
    return {
      // Sends a JSON frame if the socket is open (the server takes {"type": "resync"}).
      send: function (frame) {
        if (!socket || socket.readyState !== WebSocket.OPEN) return false;
        socket.send(JSON.stringify(frame));
        return true;
      },
      seq: function (stream) { return lastSeq[stream || streams[0]]; },
      close: function () {
        stopped = true;
        if (socket) socket.close();
      }
    };
  }

  /* An onStatus for the live indicator inside `root`: [data-live-indicator] shown, marked
     .is-reconnecting while down, its [data-live-text] set to the text of the status (from
     options.texts, else the element's data-text-live / data-text-reconnecting). With
     options.staleClass the root carries that class while down. */
  function indicator(root, options) {
    options = options || {};
    var box = root.querySelector("[data-live-indicator]");
    var text = root.querySelector("[data-live-text]");
    return function (status) {
      var live = status === "live";
      if (box) {
        box.hidden = false;
        box.classList.toggle("is-reconnecting", !live);
      }
      if (text) {
        var value = options.texts
          ? options.texts[status]
          : text.getAttribute(live ? "data-text-live" : "data-text-reconnecting");
        if (text.textContent !== value) text.textContent = value;
      }
      if (options.staleClass) root.classList.toggle(options.staleClass, !live);
    };
  }

  window.BirgeLive = { connect: connect, indicator: indicator };
})();
