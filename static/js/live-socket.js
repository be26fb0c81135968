/* The one websocket client of Birge's live pages (poll results, the projector, initiatives,
   Q&A sessions and the presenter screen, the People's Budget, the dashboard). Plain browser
   JavaScript, no page script of its own: a page marks its live root

     <section data-live="/ws/polls/7/" data-live-stream="results" data-seq="12">

   and every message the server sends carries HTML fragments it rendered with the same
   templates as the page's first render, in the reader's language ({"<dom id>": "<html>"}, in
   msg.payload.html, or msg.html for the flat poll messages). This module swaps each element
   by id; nothing is formatted or rendered here, so there is one renderer (the server's).

   Why plain DOM and not htmx.swap: the swap must be synchronous and exact (a snapshot replaces
   everything at once; no settle delay, no added classes), work on the projector and presenter
   pages that do not load htmx, and keep what the reader is working on: an element marked
   data-live-keep that holds focus, an open <details> or a typed field is moved into the new
   fragment instead of being replaced, and focus returns to the element of the same id. When
   htmx is on the page, the new content is handed to htmx.process so its hx-* forms (upvotes,
   supports acting in place) keep working, and forms get the page's CSRF token (fragments are
   shared by every reader of a group and carry none). Bars take their width from data-width
   (the Content-Security-Policy allows no inline style).

   Screen readers: one polite live region per page (#live-announcer). A message may carry a
   short server-rendered sentence (msg.announce / payload.announce, e.g. "Cycling lanes:
   41 %, leading"); it is read at most once every 10 seconds (the latest wins), never on the
   first snapshot (the page already says it) and never twice the same.

   The socket (BirgeLive.connect) builds the ws:// or wss:// address from the page's location
   and adds ?lang= (the page's language). On every (re)connect the server sends a snapshot: a
   snapshot always replaces what is shown, an update only if its seq is newer than the last
   one seen on its stream. A dropped socket is reopened with a capped exponential backoff and
   jitter (reset by a snapshot, not by an open that brings nothing), unless it was closed with
   one of `stopCodes` (gone, forbidden, signed out): then it stops for good. onStatus hears
   "live", "reconnecting" and, after a stop code, "stopped" (with the code).

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
      var url = path;
      if (options.lang && url.indexOf("lang=") === -1) {
        url += (url.indexOf("?") === -1 ? "?" : "&") + "lang=" + encodeURIComponent(options.lang);
      }
      var ws = new WebSocket(scheme + location.host + url);
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

  /* --- Swapping server-rendered fragments ------------------------------------------------ */

  function applyWidths(root) {
    var bars = Array.prototype.slice.call(root.querySelectorAll("[data-width]"));
    if (root.matches("[data-width]")) bars.push(root);
    bars.forEach(function (bar) {
      var value = parseFloat(bar.getAttribute("data-width"));
      if (!isNaN(value)) bar.style.width = Math.max(0, Math.min(100, value)) + "%";
    });
  }

  function csrfToken() {
    var field = document.querySelector('input[name="csrfmiddlewaretoken"]:not([value=""]):not([value="live-csrf"])');
    if (field) return field.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // Worked on: typing inside, an open <details>, or a field whose value the reader changed
  // (a focused button alone is not: the row is swapped and the focus follows it by id).
  function inUse(el) {
    var active = document.activeElement;
    if (active && el.contains(active) && active.matches("textarea, input, select")) return true;
    if (el.matches("details[open]") || el.querySelector("details[open]")) return true;
    var fields = el.querySelectorAll("textarea, input[type=text], input:not([type])");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value !== fields[i].defaultValue) return true;
    }
    return false;
  }

  /* What only this reader's page knows (a fragment is shared by a whole group): the JSON of
     the element named by a live root's data-live-reader, e.g. {"voted": [3, 7], "own": [5],
     "can_vote": true}. In a swapped fragment, [data-show-if="voted"] / "!voted" is shown
     when the id of its closest [data-live-item] is (not) in that list, and [data-needs="x"]
     is hidden when x is false. An element htmx swapped in (an upvote acting in place) says
     which variant it shows, and the lists follow it. */
  var reader = null;
  function readerState() {
    if (reader !== null) return reader;
    reader = {};
    var root = document.querySelector("[data-live-reader]");
    var node = root && document.getElementById(root.getAttribute("data-live-reader"));
    try { reader = node ? JSON.parse(node.textContent) || {} : {}; } catch (e) { reader = {}; }
    return reader;
  }
  function applyReader(root) {
    var state = readerState();
    Array.prototype.forEach.call(root.querySelectorAll("[data-show-if]"), function (el) {
      var condition = el.getAttribute("data-show-if");
      var negate = condition.charAt(0) === "!";
      var list = state[negate ? condition.slice(1) : condition];
      var item = el.closest("[data-live-item]");
      if (!Array.isArray(list) || !item) return; // the server decided it (answered, pinned)
      var member = list.indexOf(Number(item.getAttribute("data-live-item"))) !== -1;
      el.hidden = negate ? member : !member;
    });
    Array.prototype.forEach.call(root.querySelectorAll("[data-needs]"), function (el) {
      var flag = state[el.getAttribute("data-needs")];
      if (flag !== undefined) el.hidden = !flag;
    });
  }
  // A form that acts in place (htmx) on a [data-show-if] variant flips the reader's mark
  // once the server has answered: the "!voted" form upvoted, the "voted" one withdrew. The
  // list is updated from the request itself, not from htmx's later events: the socket's push
  // often beats the HTTP answer, and its swap detaches the form, after which htmx neither
  // swaps its answer in nor tells the document. The next fragment (or this call) then shows
  // the reader's own state.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail && event.detail.elt;
    var xhr = event.detail && event.detail.xhr;
    if (!form || !xhr || !form.getAttribute) return;
    var condition = form.getAttribute("data-show-if");
    var item = form.closest("[data-live-item]");
    if (!condition || !item) return;
    var id = Number(item.getAttribute("data-live-item"));
    xhr.addEventListener("load", function () {
      if (xhr.status < 200 || xhr.status >= 300) return;
      var negate = condition.charAt(0) === "!";
      var list = readerState()[negate ? condition.slice(1) : condition];
      if (!Array.isArray(list)) return;
      var at = list.indexOf(id);
      if (negate && at === -1) list.push(id);
      if (!negate && at !== -1) list.splice(at, 1);
      var current = document.querySelector('[data-live-item="' + id + '"]');
      if (current) applyReader(current.parentNode || current);
    });
  });

  // The ids of the chart tables (details[data-live-open]) the reader has open.
  var openTables = new Set();
  document.addEventListener("toggle", function (event) {
    var d = event.target;
    if (!d || !d.matches || !d.matches("details[data-live-open][id]") || !d.isConnected) return;
    if (d.open) openTables.add(d.id);
    else openTables.delete(d.id);
  }, true);

  function swapOne(id, html) {
    var old = document.getElementById(id);
    if (!old) return null;
    var template = document.createElement("template");
    template.innerHTML = html;
    var fresh = template.content.firstElementChild;
    if (!fresh) return null;
    var focusedId = old.contains(document.activeElement) ? document.activeElement.id : "";
    Array.prototype.forEach.call(old.querySelectorAll("[data-live-keep][id]"), function (kept) {
      if (!inUse(kept)) return;
      var twin = template.content.getElementById(kept.id);
      if (twin) twin.replaceWith(kept);
    });
    var token = null;
    Array.prototype.forEach.call(fresh.querySelectorAll('input[name="csrfmiddlewaretoken"]'), function (input) {
      if (!input.value || input.value === "live-csrf") {
        input.value = token === null ? (token = csrfToken()) : token;
      }
    });
    // A chart's data table the reader opened stays open, with the new figures in it: open
    // in the old fragment, or opened by the reader and not closed since (a fragment that
    // came without it in between does not close it).
    Array.prototype.forEach.call(old.querySelectorAll("details[open][data-live-open][id]"), function (d) {
      openTables.add(d.id);
    });
    openTables.forEach(function (id) {
      var twin = fresh.querySelector("#" + CSS.escape(id));
      if (twin && twin.matches("details[data-live-open]")) twin.open = true;
    });
    old.replaceWith(fresh);
    applyWidths(fresh);
    applyReader(fresh);
    if (window.htmx && typeof window.htmx.process === "function") window.htmx.process(fresh);
    if (focusedId) {
      var again = document.getElementById(focusedId);
      if (again && document.activeElement !== again) again.focus({ preventScroll: true });
    }
    return fresh;
  }

  /* Swaps every fragment of `msg` into the page; returns how many were swapped. */
  function swap(msg) {
    var html = (msg.payload && msg.payload.html) || msg.html || {};
    var n = 0;
    Object.keys(html).forEach(function (id) { if (swapOne(id, html[id])) n += 1; });
    return n;
  }

  var ANNOUNCE_EVERY = 10000;
  var announcer = null, lastSaid = "", lastAt = -Infinity, pendingTimer = null, pendingText = "";
  function region() {
    if (announcer) return announcer;
    announcer = document.getElementById("live-announcer");
    if (!announcer) {
      announcer = document.createElement("div");
      announcer.id = "live-announcer";
      announcer.className = "visually-hidden";
      announcer.setAttribute("role", "status");
      announcer.setAttribute("aria-live", "polite");
      announcer.setAttribute("aria-atomic", "true");
      // First in the body: an absolute 1px box at the end would add a pixel to a full-screen wall.
      document.body.insertBefore(announcer, document.body.firstChild);
    }
    return announcer;
  }
  function say() {
    pendingTimer = null;
    if (!pendingText || pendingText === lastSaid) return;
    region().textContent = pendingText;
    lastSaid = pendingText;
    lastAt = Date.now();
  }
  /* Reads `text` politely, at most once every ANNOUNCE_EVERY ms (the latest text wins). */
  function announce(text) {
    if (!text) return;
    pendingText = text;
    if (pendingTimer) return;
    var wait = lastAt + ANNOUNCE_EVERY - Date.now();
    if (wait <= 0) say();
    else pendingTimer = setTimeout(say, wait);
  }

  /* Starts every [data-live] root of the page. */
  function start() {
    region();
    var full = document.querySelector("[data-fullscreen]");
    if (full && document.documentElement.requestFullscreen) {
      full.hidden = false;
      full.addEventListener("click", function () {
        if (document.fullscreenElement) document.exitFullscreen();
        else document.documentElement.requestFullscreen().catch(function () {});
      });
    }
    if (!("WebSocket" in window)) return;
    Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), function (root) {
      var stops = root.getAttribute("data-live-stop-codes");
      var first = true;
      var live = connect(root.getAttribute("data-live"), {
        stream: root.getAttribute("data-live-stream"),
        seq: parseInt(root.getAttribute("data-seq"), 10) || 0,
        lang: root.getAttribute("data-live-lang") || document.documentElement.lang,
        onMessage: function (msg) {
          swap(msg);
          root.setAttribute("data-seq", String(msg.seq));
          var text = msg.announce || (msg.payload && msg.payload.announce);
          if (first) { lastSaid = text || lastSaid; first = false; } else announce(text);
          root.dispatchEvent(new CustomEvent("live:swapped", { detail: msg }));
        },
        onStatus: indicator(root, { staleClass: root.getAttribute("data-live-stale-class") }),
        liveOn: root.getAttribute("data-live-on") || "open",
        maxDelay: parseInt(root.getAttribute("data-live-max-delay"), 10) || 30000,
        staleAfter: staleAfter(root),
        stopCodes: stops ? stops.split(",").map(Number) : undefined
      });
      root.birgeLive = live;
    });
  }

  window.BirgeLive = {
    connect: connect, indicator: indicator, staleAfter: staleAfter, swap: swap, announce: announce
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
