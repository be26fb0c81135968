/* City Dialogue: the live question list of a Q&A session and of its presenter screen.
   The server renders the list; this keeps it current from /ws/dialogue/sessions/{id}/ (a
   snapshot on connect, then coalesced updates with a rising seq), reconnecting with backoff
   and resyncing from the new snapshot (live-socket.js). Rows are cloned from <template>s
   and filled with textContent only: user text never goes through innerHTML. Without
   JavaScript the page works as rendered, with plain forms. */
(function () {
  "use strict";
  var root = document.querySelector("[data-dialogue-live]");
  if (!root || !("WebSocket" in window)) return;
  var sessionId = root.getAttribute("data-session");
  var presenter = root.getAttribute("data-mode") === "presenter";
  var moderator = root.getAttribute("data-moderator") === "1";
  var limit = parseInt(root.getAttribute("data-limit"), 10) || 0;
  var anonymousLabel = root.getAttribute("data-text-anonymous") || "";
  var votedNode = document.getElementById("dialogue-voted");
  var voted = {};
  try {
    (votedNode ? JSON.parse(votedNode.textContent) : []).forEach(function (id) { voted[id] = true; });
  } catch (e) { /* keep an empty set */ }
  // The reader's own questions: no upvote buttons on those (the server refuses them anyway).
  var ownNode = document.getElementById("dialogue-own");
  var own = {};
  try {
    (ownNode ? JSON.parse(ownNode.textContent) : []).forEach(function (id) { own[id] = true; });
  } catch (e) { /* keep an empty set */ }
  var pinnedId = null;

  function authorOf(q) {
    // The projector never names who asked anonymously; moderators see it in brackets.
    if (!q.anonymous) return q.author;
    return moderator && !presenter ? anonymousLabel + " (" + q.author + ")" : anonymousLabel;
  }

  function holds(condition, q) {
    var negate = condition.charAt(0) === "!";
    var name = negate ? condition.slice(1) : condition;
    var value = {
      answered: !!q.answered,
      voted: !!voted[q.id],
      own: !!own[q.id],
      pinned: q.id === pinnedId,
      anonymous: !!q.anonymous
    }[name];
    return negate ? !value : !!value;
  }

  function fill(node, q) {
    if (node.hasAttribute("data-question-id") || node.tagName === "LI") {
      node.setAttribute("data-question-id", String(q.id));
      if (!presenter) node.id = "question-" + q.id;
    }
    node.querySelectorAll("[data-field]").forEach(function (el) {
      var field = el.getAttribute("data-field");
      var text = field === "author" ? authorOf(q) : q[field];
      el.textContent = text === undefined || text === null ? "" : String(text);
    });
    node.querySelectorAll("[data-show-if]").forEach(function (el) {
      el.hidden = !holds(el.getAttribute("data-show-if"), q);
    });
    node.querySelectorAll("form[data-action]").forEach(function (form) {
      form.setAttribute("action", form.getAttribute("data-action").replace("/0/", "/" + q.id + "/"));
      if (form.hasAttribute("hx-post")) form.setAttribute("hx-post", form.getAttribute("action"));
    });
    node.querySelectorAll("input[data-value]").forEach(function (input) {
      var value = q[input.getAttribute("data-value")];
      input.value = value === undefined || value === null ? "" : String(value);
    });
  }

  function setEmpty(key, empty) {
    document.querySelectorAll('[data-empty-for="' + key + '"]').forEach(function (el) { el.hidden = !empty; });
  }

  // Rows are kept by question id and only moved when their place changes, so a moderator
  // typing a reason in one row is not interrupted by a vote on another.
  function renderList(list, items) {
    var template = document.getElementById(list.getAttribute("data-template"));
    var existing = {};
    Array.prototype.slice.call(list.children).forEach(function (row) {
      existing[row.getAttribute("data-question-id")] = row;
    });
    items.forEach(function (q, i) {
      var row = existing[String(q.id)];
      if (row) {
        delete existing[String(q.id)];
      } else {
        row = template.content.firstElementChild.cloneNode(true);
      }
      fill(row, q);
      var here = list.children[i] || null;
      if (here !== row) list.insertBefore(row, here);
      // A new row's upvote acts in place (hx-post) once htmx has seen it.
      if (window.htmx && !row.hasAttribute("data-hx-ready")) {
        row.setAttribute("data-hx-ready", "");
        window.htmx.process(row);
      }
    });
    Object.keys(existing).forEach(function (key) { existing[key].remove(); });
    setEmpty(list.id, items.length === 0);
    document.querySelectorAll('[data-count-for="' + list.id + '"]').forEach(function (el) {
      el.textContent = String(items.length);
    });
  }

  function published(questions) {
    var approved = questions.filter(function (q) { return q.state === "approved"; });
    return approved.filter(function (q) { return !q.answered; })
      .concat(approved.filter(function (q) { return q.answered; }));
  }

  function itemsFor(name, questions) {
    if (name === "presenter") {
      var next = questions.filter(function (q) {
        return q.state === "approved" && !q.answered && q.id !== pinnedId;
      });
      return limit ? next.slice(0, limit) : next;
    }
    if (name === "published") return published(questions);
    return questions.filter(function (q) { return q.state === name; });
  }

  function apply(msg) {
    var payload = msg.payload;
    var questions = Array.isArray(payload.questions) ? payload.questions : [];
    var pinned = payload.pinned && payload.pinned.state === "approved" ? payload.pinned : null;
    pinnedId = pinned ? pinned.id : null;
    var box = root.querySelector("[data-pinned]");
    if (box) {
      box.hidden = !pinned;
      if (pinned) fill(box, pinned);
      setEmpty("pinned", !pinned);
    }
    root.querySelectorAll("[data-list]").forEach(function (list) {
      renderList(list, itemsFor(list.getAttribute("data-list"), questions));
    });
    var badge = root.querySelector("[data-state-badge]") || document.querySelector("[data-state-badge]");
    if (badge && payload.state && badge.getAttribute("data-text-" + payload.state)) {
      badge.textContent = badge.getAttribute("data-text-" + payload.state);
      badge.className = "badge badge-session-" + payload.state;
    }
    root.setAttribute("data-seq", String(msg.seq));
    root.dispatchEvent(new CustomEvent("questions:applied", { detail: msg }));
  }

  // An upvote answered in place (htmx swaps the server-rendered row): remember its state, so
  // the next live update draws the row the same way.
  document.addEventListener("htmx:load", function (event) {
    var row = event.detail && event.detail.elt;
    if (!row || !row.getAttribute || !row.getAttribute("data-question-id")) return;
    var id = parseInt(row.getAttribute("data-question-id"), 10);
    var pressed = row.querySelector('form[data-show-if="voted"]');
    if (pressed) voted[id] = !pressed.hidden;
  });

  BirgeLive.connect("/ws/dialogue/sessions/" + sessionId + "/", {
    stream: "questions",
    seq: parseInt(root.getAttribute("data-seq"), 10) || 0,
    accept: function (msg) { return String((msg.payload || {}).session) === sessionId; },
    onMessage: apply,
    onStatus: BirgeLive.indicator(root)
  });
})();
