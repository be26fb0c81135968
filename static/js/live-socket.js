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
   a capped exponential backoff and jitter (reset by a snapshot, not by an open that brings
   nothing), unless it was closed with one of `stopCodes`
   (gone, forbidden, signed out): then it stops for good. onStatus hears "live",
   "reconnecting" and, after a stop code, "stopped" (with the code).

   A socket can die without a close event (a sleeping laptop, a proxy that drops it): with
   `staleAfter` (ms; the pages pass twice the server's resync interval, since the server
   re-sends the state that often even when nothing changes) a socket on which nothing has
   arrived for that long is shown as reconnecting and reopened. */
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
    var staleAfter = Number(options.staleAfter) || 0;
    var watchdog = null;
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
        // The back-off starts over only once the state has arrived: a socket that opens and
        // is closed at once (a server that is restarting, a proxy without a backend) keeps
        // backing off instead of reconnecting every second for ever.
        attempt = 0;
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

    // Restarted by every frame (and by each new socket): silence for staleAfter means the
    // socket is dead even if the browser has not noticed yet.
    function arm(ws) {
      if (!staleAfter) return;
      clearTimeout(watchdog);
      watchdog = setTimeout(function () {
        if (stopped || socket !== ws) return;
        onStatus("reconnecting");
        socket = null;
        ws.onclose = null;
        ws.onmessage = null;
        try { ws.close(); } catch (e) { /* already closing */ }
        retry();
      }, staleAfter);
    }

    function retry() {
      attempt += 1;
      var delay = Math.min(maxDelay, 500 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
      setTimeout(open, delay);
    }

    function open() {
      if (stopped) return;
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var ws = new WebSocket(scheme + location.host + path);
      socket = ws;
      arm(ws);
      ws.onopen = function () {
        if (liveOn === "open") onStatus("live");
      };
      ws.onmessage = function (event) {
        arm(ws);
        var msg;
        try { msg = JSON.parse(event.data); } catch (e) { return; }
        receive(msg);
      };
      ws.onclose = function (event) {
        if (socket === ws) socket = null;
        clearTimeout(watchdog);
        if (stopCodes.indexOf(event.code) !== -1) {
          // Signed out, not allowed, gone: retrying cannot help; the page says what to do.
          stopped = true;
          onStatus("stopped", event.code);
          return;
        }
        onStatus("reconnecting");
        if (stopped) return;
        retry();
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
        clearTimeout(watchdog);
        if (socket) socket.close();
      }
    };
  }

  /* An onStatus for the live indicator inside `root`: [data-live-indicator] shown, marked
     .is-reconnecting while down (and .is-stopped once stopped), its [data-live-text] set to
     the text of the status (from options.texts, else the element's data-text-live /
     data-text-reconnecting / data-text-stopped, rendered translated by the template; a page
     without a "stopped" text keeps saying reconnecting). With options.staleClass the root
     carries that class while down. */
  function indicator(root, options) {
    options = options || {};
    var box = root.querySelector("[data-live-indicator]");
    var text = root.querySelector("[data-live-text]");
    function textFor(status) {
      var value = options.texts && options.texts[status];
      if (!value && text) value = text.getAttribute("data-text-" + status);
      if (!value && status === "stopped") return textFor("reconnecting");
      return value;
    }
    return function (status) {
      var live = status === "live";
      if (box) {
        box.hidden = false;
        box.classList.toggle("is-reconnecting", !live);
        box.classList.toggle("is-stopped", status === "stopped");
      }
      if (text) {
        var value = textFor(status);
        if (value && text.textContent !== value) text.textContent = value;
      }
      if (options.staleClass) root.classList.toggle(options.staleClass, !live);
    };
  }

  /* The staleAfter of a page whose root says data-resync-seconds: twice that, in ms. */
  function staleAfter(root) {
    var seconds = parseFloat(root.getAttribute("data-resync-seconds"));
    return seconds > 0 ? 2000 * seconds : 0;
  }

  window.BirgeLive = { connect: connect, indicator: indicator, staleAfter: staleAfter };
})();
