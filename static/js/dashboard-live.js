/* The akimat dashboard, kept live over /ws/dashboard/, and the exports page's status polling.

   The server renders the page from the same payload the socket sends, so without JavaScript
   the page is complete (as of its "figures as of" time). Every message carries the whole
   state: a snapshot (on every connect, so after a reconnect too) replaces everything; an
   update only if its seq is newer. While the socket is down the figures are greyed out and
   the indicator says so: stale numbers are never shown as current. */
(function () {
  "use strict";
  var THIN = "\u202f"; // narrow no-break space, as the server groups digits

  function group(n) {
    if (n === null || n === undefined) return "—";
    return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, THIN);
  }
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (m, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : m;
    });
  }
  function setText(el, text) {
    if (el && el.textContent !== String(text)) el.textContent = text;
  }

  /* --- Exports page: refresh the rows of files still being made, every second. ---------- */
  (function exportsStatus() {
    var table = document.querySelector("[data-exports]");
    if (!table || !window.fetch) return;
    var busy = {};
    function update(row, d) {
      var state = row.querySelector('[data-field="state"]');
      setText(state, d.state_label);
      state.className = "badge badge-export-" + d.state;
      row.setAttribute("data-state", d.state);
      var progress = row.querySelector('[data-field="progress"]');
      progress.value = d.progress;
      setText(row.querySelector('[data-field="progress-text"]'), d.progress);
      setText(row.querySelector('[data-field="rows"]'), d.rows_text);
      if (d.state === "done" || d.state === "failed") {
        row.removeAttribute("data-status-url");
        row.querySelector('[data-field="progress-box"]').hidden = true;
      }
      if (d.download_url) {
        var cell = row.querySelector('[data-field="file"]');
        var link = document.createElement("a");
        link.href = d.download_url;
        link.setAttribute("download", "");
        link.textContent = table.getAttribute("data-text-download");
        cell.textContent = "";
        cell.appendChild(link);
      }
    }
    function tick() {
      var rows = table.querySelectorAll("tr[data-status-url]");
      if (!rows.length) { clearInterval(timer); return; }
      Array.prototype.forEach.call(rows, function (row) {
        var id = row.getAttribute("data-export");
        if (busy[id]) return;
        busy[id] = true;
        fetch(row.getAttribute("data-status-url"), {
          credentials: "same-origin", headers: { Accept: "application/json" }
        })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (d) { busy[id] = false; if (d) update(row, d); },
                function () { busy[id] = false; });
      });
    }
    var timer = setInterval(tick, 1000);
  })();

  /* --- The dashboard --------------------------------------------------------------------- */
  var root = document.querySelector("[data-dashboard]");
  if (!root || !("WebSocket" in window)) return;
  var T = JSON.parse(document.getElementById("dashboard-text").textContent);
  var lang = T.lang;
  var canDecide = root.getAttribute("data-can-decide") === "1";
  var flashBox = root.querySelector("[data-flash]");
  var SVG = "http://www.w3.org/2000/svg";
  var BAR_PITCH = 10, BAR_WIDTH = 8, BAR_MAX = 60, BASELINE = 64;

  function percent(v) {
    if (v === null || v === undefined) return "—";
    var text = Number(v).toFixed(1);
    return lang === "en" ? text : text.replace(".", ",");
  }
  function waiting(minutes) {
    minutes = Math.max(0, minutes | 0);
    if (minutes < 60) return fill(T.min, { m: minutes });
    var hours = Math.floor(minutes / 60);
    if (hours < 24) return fill(T.hours, { h: hours, m: minutes % 60 });
    return fill(T.days, { d: Math.floor(hours / 24), h: hours % 24 });
  }
  function clock(iso, withSeconds) {
    var options = { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Almaty" };
    if (withSeconds) options.second = "2-digit";
    try { return new Date(iso).toLocaleTimeString(lang, options); }
    catch (e) { return iso.slice(11, withSeconds ? 19 : 16); }
  }
  function dateTime(iso) {
    try {
      return new Date(iso).toLocaleString(lang, {
        day: "numeric", month: "long", hour: "2-digit", minute: "2-digit", hour12: false,
        timeZone: "Asia/Almaty"
      });
    } catch (e) { return iso; }
  }
  function urlFor(attr, id) { return root.getAttribute(attr).replace("/0/", "/" + id + "/"); }
  function field(node, name) { return node.querySelector('[data-field="' + name + '"]'); }

  // The empty copies name their ids, labels and descriptions with 0: make them this item's.
  function clone(templateId, id) {
    var node = document.getElementById(templateId).content.firstElementChild.cloneNode(true);
    var nodes = [node].concat(Array.prototype.slice.call(
      node.querySelectorAll("[id],[for],[aria-describedby],[aria-labelledby]")));
    nodes.forEach(function (el) {
      ["id", "for", "aria-describedby", "aria-labelledby"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value) el.setAttribute(attr, value.replace(/(^|-)0(-|$)/, "$1" + id + "$2"));
      });
    });
    return node;
  }
  // Moves a node only when it is out of place, so an open form keeps its focus and text.
  function place(box, node, index) {
    if (box.children[index] !== node) box.insertBefore(node, box.children[index] || null);
  }
  function prune(box, attr, seen) {
    Array.prototype.slice.call(box.querySelectorAll(":scope > [" + attr + "]")).forEach(function (n) {
      if (!seen[n.getAttribute(attr)]) n.remove();
    });
  }
  function emptyNote(name, empty) {
    var note = root.querySelector('[data-empty-for="' + name + '"]');
    if (note) note.hidden = !empty;
  }

  /* Polls */
  function newPollCard(p) {
    var card = clone("tpl-poll", p.id);
    card.setAttribute("data-poll-id", p.id);
    field(card, "projector").href = urlFor("data-projector-url", p.id);
    field(card, "public").href = urlFor("data-poll-url", p.id);
    field(card, "secret").hidden = !p.secret_ballot;
    var closes = field(card, "closes");
    if (p.closes_at) {
      var time = closes.querySelector("time");
      time.setAttribute("datetime", p.closes_at);
      time.textContent = dateTime(p.closes_at);
    }
    closes.hidden = !p.closes_at;
    return card;
  }

  function updateChoices(card, p) {
    var list = field(card, "choices");
    var total = p.total_votes || 0;
    var seen = {};
    p.choices.forEach(function (c, i) {
      var row = list.querySelector('[data-choice="' + c.id + '"]');
      if (!row) {
        row = clone("tpl-choice", c.id);
        row.setAttribute("data-choice", c.id);
      }
      place(list, row, i);
      seen[c.id] = true;
      var share = c.votes !== null && total ? (100 * c.votes / total) : 0;
      setText(field(row, "label"), c.label);
      setText(field(row, "votes"), group(c.votes));
      setText(field(row, "share"), percent(share));
      var bar = field(row, "bar");
      bar.className = "bar-fill c" + (i % 8);
      bar.style.width = share.toFixed(1) + "%";
    });
    prune(list, "data-choice", seen);
  }

  // The payload's timeline: the first minute and the votes of each minute from there.
  function updateTimeline(card, p) {
    var svg = field(card, "timeline");
    var votes = p.timeline.votes;
    var start = p.timeline.start ? new Date(p.timeline.start).getTime() : 0;
    var peak = 0, total = 0;
    votes.forEach(function (n) { peak = Math.max(peak, n); total += n; });
    Array.prototype.slice.call(svg.querySelectorAll("rect")).forEach(function (r) { r.remove(); });
    votes.forEach(function (n, i) {
      var height = peak ? Math.round(10 * BAR_MAX * n / peak) / 10 : 0;
      var rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", i * BAR_PITCH + 1);
      rect.setAttribute("y", BASELINE - height);
      rect.setAttribute("width", BAR_WIDTH);
      rect.setAttribute("height", height);
      var title = document.createElementNS(SVG, "title");
      var minute = new Date(start + i * 60000).toISOString();
      title.textContent = fill(T.minute_votes, { time: clock(minute, false), n: group(n) });
      rect.appendChild(title);
      svg.appendChild(rect);
    });
    svg.setAttribute("aria-label", fill(T.timeline, { total: group(total), peak: group(peak) }));
  }

  function updateDistricts(card, p) {
    var note = field(card, "secret-note");
    var table = field(card, "districts");
    if (p.districts === null) {
      // A secret ballot: no district figures, not even an empty table.
      if (table) table.remove();
      note.hidden = false;
      return;
    }
    note.hidden = true;
    if (!table) return;
    var body = table.tBodies[0];
    // [slug, votes]: "guests" and null (no district given) are named by the page too.
    var rows = p.districts.map(function (d) {
      var key = d[0] === null ? "" : d[0];
      return [T.districts[key] || key, group(d[1])];
    });
    var current = Array.prototype.map.call(body.rows, function (tr) {
      return [tr.cells[0].textContent, tr.cells[1].textContent];
    });
    if (JSON.stringify(current) === JSON.stringify(rows)) return;
    body.textContent = "";
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      var th = document.createElement("th");
      th.scope = "row";
      th.textContent = r[0];
      var td = document.createElement("td");
      td.className = "num";
      td.textContent = r[1];
      tr.appendChild(th);
      tr.appendChild(td);
      body.appendChild(tr);
    });
  }

  function updatePoll(card, p) {
    setText(field(card, "title"), p.title);
    setText(field(card, "total"), group(p.total_votes));
    setText(field(card, "turnout"), percent(p.turnout_pct));
    setText(field(card, "eligible"), group(p.eligible));
    setText(field(card, "registered"), group(p.registered_votes));
    setText(field(card, "guests"), group(p.guest_votes));
    field(card, "guests-box").hidden = !p.guest_votes;
    field(card, "hidden-note").hidden = !!p.results_visible;
    field(card, "choices").hidden = !p.results_visible;
    updateChoices(card, p);
    updateTimeline(card, p);
    updateDistricts(card, p);
  }

  function renderPolls(polls) {
    var box = root.querySelector("[data-polls]");
    var seen = {};
    polls.forEach(function (p, i) {
      var card = box.querySelector('[data-poll-id="' + p.id + '"]') || newPollCard(p);
      place(box, card, i);
      updatePoll(card, p);
      seen[p.id] = true;
    });
    prune(box, "data-poll-id", seen);
    emptyNote("polls", polls.length === 0);
  }

  /* People's Budget rounds: ballots cast and turnout */
  function renderRounds(rounds) {
    var box = root.querySelector("[data-rounds]");
    if (!box) return;
    var seen = {};
    rounds.forEach(function (r, i) {
      var card = box.querySelector('[data-round-id="' + r.id + '"]');
      if (!card) {
        card = clone("tpl-round", r.id);
        card.setAttribute("data-round-id", r.id);
        field(card, "public").href = urlFor("data-round-url", r.id);
        var closes = field(card, "closes");
        if (r.closes_at) {
          var time = closes.querySelector("time");
          time.setAttribute("datetime", r.closes_at);
          time.textContent = dateTime(r.closes_at);
        }
        closes.hidden = !r.closes_at;
      }
      place(box, card, i);
      setText(field(card, "title"), r.title);
      field(card, "secret").hidden = !r.secret_ballot;
      setText(field(card, "budget"), group(r.total_budget) + " ₸");
      setText(field(card, "ballots"), group(r.ballots));
      setText(field(card, "turnout"), percent(r.turnout_pct));
      setText(field(card, "eligible"), group(r.eligible));
      seen[r.id] = true;
    });
    prune(box, "data-round-id", seen);
    emptyNote("rounds", rounds.length === 0);
  }

  /* Initiatives */
  function setMoves(item, status) {
    var select = field(item, "moves");
    if (!select) return;
    var chosen = select.value;
    select.textContent = "";
    (T.moves[status] || []).forEach(function (to) {
      var option = document.createElement("option");
      option.value = to;
      option.textContent = T.statuses[to] || to;
      option.selected = to === chosen;
      select.appendChild(option);
    });
  }

  function updateItem(item, q) {
    setText(field(item, "title"), q.title);
    setText(field(item, "summary"), q.summary);
    setText(field(item, "community"), q.community);
    setText(field(item, "supports"), group(q.supports_count));
    setText(field(item, "threshold"), group(q.threshold));
    setText(field(item, "waiting"), waiting(q.waiting_minutes));
    item.classList.toggle("is-threshold", !!q.threshold_reached);
    if (item.getAttribute("data-status") !== q.status) {
      item.setAttribute("data-status", q.status);
      var badge = field(item, "status");
      badge.className = "badge badge-" + q.status;
      badge.textContent = T.statuses[q.status] || q.status;
      setMoves(item, q.status);
    }
  }

  function newItem(q) {
    var item = clone("tpl-item", q.id);
    item.setAttribute("data-initiative-id", q.id);
    item.setAttribute("data-status", "");
    field(item, "link").href = urlFor("data-initiative-url", q.id);
    var form = item.querySelector("[data-decide-form]");
    if (form) form.action = urlFor("data-decide-url", q.id);
    return item;
  }

  function renderPipeline(pipeline) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-count]"), function (el) {
      setText(el, group(pipeline.counts[el.getAttribute("data-count")] || 0));
    });
    setText(root.querySelector("[data-queue-total]"), group(pipeline.queue_total));
    setText(root.querySelector("[data-new-total]"), group(pipeline.new_total));
    renderItems(root.querySelector("[data-queue]"), pipeline.queue, "queue");
    renderItems(root.querySelector("[data-new]"), pipeline["new"], "new");
  }

  // One list of initiatives (the review queue, or the new submissions). An item moving from
  // one list to the other (its threshold reached) is moved with its open form.
  function renderItems(box, items, name) {
    if (!box) return;
    var seen = {};
    items.forEach(function (q, i) {
      var item = root.querySelector('[data-initiative-id="' + q.id + '"]') || newItem(q);
      place(box, item, i);
      updateItem(item, q);
      seen[q.id] = true;
    });
    prune(box, "data-initiative-id", seen);
    emptyNote(name, items.length === 0);
  }

  /* Q&A sessions */
  function renderSessions(sessions) {
    var box = root.querySelector("[data-sessions]");
    var seen = {};
    sessions.forEach(function (s, i) {
      var node = box.querySelector('[data-session-id="' + s.id + '"]');
      if (!node) {
        node = clone("tpl-session", s.id);
        node.setAttribute("data-session-id", s.id);
        field(node, "link").href = urlFor("data-session-url", s.id);
        field(node, "presenter").href = urlFor("data-presenter-url", s.id);
      }
      place(box, node, i);
      setText(field(node, "link"), s.title);
      setText(field(node, "waiting"), group(s.waiting));
      setText(field(node, "pending"), group(s.pending));
      seen[s.id] = true;
    });
    prune(box, "data-session-id", seen);
    emptyNote("sessions", sessions.length === 0);
  }

  function apply(msg) {
    var payload = msg.payload;
    renderPolls(payload.polls);
    renderRounds(payload.rounds || []);
    renderPipeline(payload.pipeline);
    renderSessions(payload.dialogue.sessions);
    ["threads_waiting", "open_flags"].forEach(function (name) {
      setText(root.querySelector('[data-dialogue="' + name + '"]'), group(payload.dialogue[name]));
    });
    var generated = root.querySelector("[data-generated]");
    generated.setAttribute("datetime", payload.generated_at);
    setText(generated, clock(payload.generated_at, true));
    root.setAttribute("data-seq", String(msg.seq));
    root.dispatchEvent(new CustomEvent("dashboard:applied", { detail: msg }));
  }

  // A snapshot (on every connect, and after a resync) always replaces everything; an update
  // only if its seq is newer. Live only once the snapshot is shown (live-socket.js).
  var live = BirgeLive.connect("/ws/dashboard/?lang=" + encodeURIComponent(lang), {
    stream: "dashboard",
    seq: parseInt(root.getAttribute("data-seq"), 10) || 0,
    onMessage: apply,
    onStatus: BirgeLive.indicator(root, {
      texts: { live: T.live, reconnecting: T.reconnecting, stopped: T.stopped },
      staleClass: "is-stale"
    }),
    liveOn: "snapshot",
    maxDelay: 15000,
    // The server re-sends the state every resync interval: silence for two means dead.
    staleAfter: BirgeLive.staleAfter(root),
    stopCodes: [4401, 4403] // signed out or not allowed: "reload", and no more retries
  });

  function resync() {
    live.send({ type: "resync" });
  }

  function flash(text) {
    flashBox.textContent = text;
    flashBox.hidden = false;
  }

  /* A decision without leaving the page: the JSON API, the same service as the form. */
  if (canDecide && window.fetch) {
    root.addEventListener("submit", function (event) {
      var form = event.target.closest("[data-decide-form]");
      if (!form) return;
      event.preventDefault();
      var item = form.closest("[data-initiative-id]");
      var id = item.getAttribute("data-initiative-id");
      var error = field(form, "error");
      var button = form.querySelector('button[type="submit"]');
      var label = button.textContent;
      button.disabled = true;
      button.textContent = T.sending;
      error.hidden = true;
      fetch(urlFor("data-transition-url", id), {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": form.elements.csrfmiddlewaretoken.value
        },
        body: JSON.stringify({ to: form.elements.to.value, response: form.elements.response.value })
      })
        .then(function (r) {
          return r.json().catch(function () { return {}; })
            .then(function (data) { return { ok: r.ok, data: data }; });
        })
        .then(function (result) {
          button.disabled = false;
          button.textContent = label;
          if (result.ok) {
            flash(fill(T.decided, {
              title: result.data.title || field(item, "title").textContent,
              status: T.statuses[result.data.status] || result.data.status
            }));
            form.elements.response.value = "";
            item.querySelector("details").open = false;
            resync();
          } else {
            error.textContent = fill(T.failed, { reason: result.data.detail || "" });
            error.hidden = false;
          }
        }, function () {
          button.disabled = false;
          button.textContent = label;
          error.textContent = T.network;
          error.hidden = false;
        });
    });
  }
})();
