"""The shared real-time helper: message envelope, group names, and pushes after commit.

Every websocket message Birge sends has one envelope: {"type", "seq", "payload"} (poll
results flatten their payload into the envelope, as their protocol documents). Services
call `mark_dirty_on_commit`; nothing is marked for a transaction that rolls back, and a
failed mark or push is logged, never raised: the database is the truth and clients resync
from a snapshot when they reconnect.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import translation

logger = logging.getLogger(__name__)

# Channel-layer message type that consumers implement as `def realtime_event(self, event)`.
CONSUMER_HANDLER = "realtime.event"

# Every group name, topic and event type of the live protocol, in one place.
TOPIC_POLL_RESULTS = "poll.results"
GROUP_POLL_PUBLIC = "polls.{id}.public"
GROUP_POLL_OFFICIALS = "polls.{id}.officials"
EVENT_RESULTS_SNAPSHOT = "results.snapshot"
EVENT_RESULTS_UPDATE = "results.update"
EVENT_ERROR = "error"
TOPIC_INITIATIVE_STATE = "initiative.state"
GROUP_INITIATIVE = "initiatives.{id}"
EVENT_INITIATIVE_SNAPSHOT = "initiative.snapshot"
EVENT_INITIATIVE_UPDATE = "initiative.update"
TOPIC_SESSION_QUESTIONS = "session.questions"
GROUP_SESSION_PUBLIC = "sessions.{id}.public"
GROUP_SESSION_MODERATORS = "sessions.{id}.moderators"
EVENT_QUESTIONS_SNAPSHOT = "questions.snapshot"
EVENT_QUESTIONS_UPDATE = "questions.update"
# Comments, answers and reports: no socket watches this, summaries (the dashboard) depend on it.
TOPIC_DIALOGUE_ACTIVITY = "dialogue.activity"
TOPIC_DASHBOARD = "dashboard"
# A People's Budget round: ballots cast, turnout, per-project counts when visible.
TOPIC_BUDGET_ROUND = "budget.round"
GROUP_BUDGET_PUBLIC = "budgets.{id}.public"
GROUP_BUDGET_OFFICIALS = "budgets.{id}.officials"
EVENT_BUDGET_SNAPSHOT = "budget.snapshot"
EVENT_BUDGET_UPDATE = "budget.update"
GROUP_DASHBOARD = "dashboard.officials"
GROUP_DASHBOARD_MODERATORS = "dashboard.moderators"
EVENT_DASHBOARD_SNAPSHOT = "dashboard.snapshot"
EVENT_DASHBOARD_UPDATE = "dashboard.update"
# Every authenticated socket is in its user's group too; `rights.changed` there makes the
# socket check again who its user is and what they may see (consumers' `rights_changed`).
GROUP_USER = "users.{id}"
RIGHTS_HANDLER = "rights.changed"


def envelope(event_type: str, *, seq: int, payload: dict[str, Any]) -> dict[str, Any]:
    """The one shape of every message sent to a browser."""
    return {"type": event_type, "seq": seq, "payload": payload}


def user_group(user_id: int) -> str:
    return GROUP_USER.format(id=user_id)


def session_digest(session_key: str) -> str:
    """How a sign-out names its session on the channel layer (never the key itself)."""
    return hashlib.sha256(f"birge-session:{session_key}".encode()).hexdigest()


def rights_changed_on_commit(user_id: int, *, session_key: str | None = None) -> None:
    """After commit, tell the open sockets of `user_id` to check their user's rights again
    (a role, a ban, a password changed); with `session_key`, that this session has ended, so
    its sockets close at once. Never raises: sockets also re-check every few seconds."""

    def _push() -> None:
        message: dict[str, Any] = {"type": RIGHTS_HANDLER}
        if session_key:
            message["session"] = session_digest(session_key)
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(user_group(user_id), message)
        except Exception as exc:
            logger.warning("rights push for user %s failed (%r); sockets re-check", user_id, exc)

    transaction.on_commit(_push)


def channel_layer_status() -> str:
    """'ok' if the channel layer can carry a message now, else a short reason.

    The Redis layers are probed with a PING on their own server (a round trip through
    pub/sub would leave a subscription behind per probe); the in-memory layer with a real
    send and receive.
    """
    layer = get_channel_layer()
    if layer is None:
        return "not configured"
    hosts = settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts")
    if hosts:
        import redis

        host = hosts[0]
        url = host if isinstance(host, str) else host["address"]
        try:
            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            try:
                client.ping()
            finally:
                client.close()
        except Exception as exc:
            return f"error: {type(exc).__name__}"
        return "ok"

    async def _probe() -> str:
        channel = await layer.new_channel("healthz.")
        await layer.send(channel, {"type": "healthz.ping"})
        received = await asyncio.wait_for(layer.receive(channel), timeout=2)
        return "ok" if received.get("type") == "healthz.ping" else "unexpected reply"

    try:
        return async_to_sync(_probe)()
    except Exception as exc:
        return f"error: {type(exc).__name__}"


# --- Coalesced pushes ----------------------------------------------------------------------
#
# A state change marks its topic item dirty after commit (cheap: a Redis SADD, or a set in
# memory). A ticker in every server process that has live sockets wakes once per tick, claims
# dirty items (at most once per item per tick across all processes, with SET NX PX), computes
# each item's message once and fans it out through the channel layer. So the work per tick is
# one computation per changed item, whatever the number of sockets, never one push per vote,
# and a change after a computation re-marks the item so the last state is always sent.

Compute = Callable[[int, int], list[tuple[str, dict[str, Any]]]]
_topics: dict[str, Compute] = {}
# source topic -> [(topic, item)] that summarize it (the dashboard summarizes every poll).
_dependents: dict[str, list[tuple[str, int]]] = {}


def register_topic(topic: str, compute: Compute) -> None:
    """`compute(item_id, seq)` returns [(group, message), ...] built from committed state."""
    _topics[topic] = compute


# --- Server-rendered fragments ---------------------------------------------------------------
#
# A live page is kept current by swapping in HTML the server renders with the same templates
# as the page's first render (static/js/live-socket.js swaps every element by id). A topic
# with a renderer is sent to one group per audience and language: the tick renders each
# audience's message once per language, never once per socket, and every socket in a group
# receives the same text. The data fields stay beside the fragments for API clients.

Render = Callable[[int, str, dict[str, Any], dict[str, Any]], dict[str, str]]
# A fragment is shared by every reader of its group, so its forms cannot carry a reader's CSRF
# token: renderers pass this as the template's csrf_token and the page puts its own in.
CSRF_PLACEHOLDER = "live-csrf"
_renderers: dict[str, list[Render]] = {}


def register_fragments(topic: str, render: Render) -> None:
    """`render(item_id, group, message, memo)` returns {dom id: html} in the active language
    (the ticker and the snapshots call it under translation.override(lang)); the key
    "_announce" holds a sentence for screen readers. `memo` is shared by the renders of one
    push (every audience, language and renderer): load the item once there. A topic may
    have several renderers (the poll page's and the projector's fragments)."""
    if render not in _renderers.setdefault(topic, []):
        _renderers[topic].append(render)


def languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def page_language(lang: str | None) -> str:
    """A socket's language from its ?lang=: one of LANGUAGES, else the default."""
    lang = (lang or "")[:2]
    return lang if lang in languages() else settings.LANGUAGE_CODE


def lang_group(group: str, lang: str) -> str:
    """The channel group of `group`'s sockets that read `lang`."""
    return f"{group}.{lang}"


def with_fragments(message: dict[str, Any], html: dict[str, str], *, announce: str = "") -> dict:
    """`message` with its fragments (and the sentence a screen reader may announce) added: in
    the payload, or beside the fields of a flat message (poll results)."""
    extra = {"html": html}
    if announce:
        extra["announce"] = announce
    if isinstance(message.get("payload"), dict):
        return {**message, "payload": {**message["payload"], **extra}}
    return {**message, **extra}


def render_message(
    topic: str, item_id: int, group: str, message: dict, lang: str, memo: dict | None = None
) -> dict:
    """`message` with its fragments rendered in `lang` (unchanged if `topic` has none)."""
    renders = _renderers.get(topic)
    if not renders or message is None:
        return message
    memo = {} if memo is None else memo
    html: dict[str, str] = {}
    with translation.override(lang):
        for render in renders:
            html.update(render(item_id, group, message, memo))
    announce = html.pop("_announce", "")
    return with_fragments(message, html, announce=announce)


def _dumps(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"), default=str)


def compute_texts(topic: str, item_id: int, seq: int) -> list[tuple[str, str]]:
    """[(group, text)] of one push: computed once, rendered once per audience and language,
    serialized once per group (never per socket)."""
    messages = _topics[topic](item_id, seq)
    if topic not in _renderers:
        # Data only: one text for every language's group.
        texts = []
        for group, message in messages:
            text = _dumps(message)
            if group.rpartition(".")[2] in languages():
                texts.append((group, text))
            else:
                texts.extend((lang_group(group, lang), text) for lang in languages())
        return texts
    memo: dict[str, Any] = {}
    texts = []
    for group, message in messages:
        base, _dot, suffix = group.rpartition(".")
        if suffix in languages():
            # A compute that localizes itself (the dashboard) names each language's group.
            text = _dumps(render_message(topic, item_id, base, message, suffix, memo))
            texts.append((group, text))
            continue
        for lang in languages():
            text = _dumps(render_message(topic, item_id, group, message, lang, memo))
            texts.append((lang_group(group, lang), text))
    return texts


def register_dependent(source_topic: str, topic: str, item_id: int) -> None:
    """Whenever an item of `source_topic` is pushed, mark (`topic`, `item_id`) too.

    A summary (the officials' dashboard) is then recomputed at most once per tick when any
    of its sources changed, without its sources' writers knowing about it, and only while a
    socket somewhere watches it (its process says so every tick).
    """
    _dependents.setdefault(source_topic, []).append((topic, item_id))


def now_seq() -> int:
    """Sequence numbers are milliseconds: rising across processes and restarts, no state."""
    return time.time_ns() // 1_000_000


def tick_seconds() -> float:
    return settings.REALTIME_TICK_MS / 1000


class _LocalStore:
    """One process, no Redis: the embedded mode."""

    def __init__(self):
        self._lock = threading.Lock()
        self._dirty: dict[str, set[int]] = {}
        self._last: dict[tuple[str, int], float] = {}

    def mark(self, topic: str, item_id: int) -> None:
        with self._lock:
            self._dirty.setdefault(topic, set()).add(item_id)

    async def claim(self, topic: str) -> list[int]:
        now = time.monotonic()
        claimed = []
        with self._lock:
            for item_id in list(self._dirty.get(topic, ())):
                if now - self._last.get((topic, item_id), 0) >= tick_seconds() * 0.95:
                    self._dirty[topic].discard(item_id)
                    self._last[(topic, item_id)] = now
                    claimed.append(item_id)
        return claimed

    async def heartbeat(self, items) -> None:
        """One process: `_watched` itself says what is watched."""

    async def is_watched(self, topic: str, item_id: int) -> bool:
        return (topic, item_id) in _watched


class _RedisStore:
    def __init__(self, url: str, prefix: str):
        import redis
        import redis.asyncio

        self.prefix = prefix
        # Short timeouts: a Redis outage must not hold up a vote that already committed.
        self._sync = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._url = url
        self._async: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._start_batching()
        atexit.register(self.flush)

    def _key(self, *parts) -> str:
        return ":".join((self.prefix, *map(str, parts)))

    # Marks of this process are sent to Redis together, this long after the first of them: at
    # 500 votes a second a process sends one SADD for about 12 votes' marks. Each send cost
    # about 0.2M instructions (callgrind), 3 % of a vote's server CPU when it carried 2-3 votes
    # (5 ms). A tenth of a tick, and a tick in this process sends its own marks first (claim).
    MARK_BATCH_SECONDS = 0.025

    def mark(self, topic: str, item_id: int) -> None:
        if self._pid != os.getpid():  # a forked child starts with nothing pending
            self._start_batching()
        with self._pending_lock:
            self._pending.setdefault(topic, set()).add(item_id)
            if self._flusher is None:
                self._flusher = threading.Thread(
                    target=self._flush_loop, name="birge-marks", daemon=True
                )
                self._flusher.start()
        self._wake.set()

    def _start_batching(self) -> None:
        self._pid = os.getpid()
        self._pending: dict[str, set[int]] = {}
        self._pending_lock = threading.Lock()
        self._wake = threading.Event()
        self._flusher: threading.Thread | None = None

    def _take_pending(self) -> dict[str, set[int]]:
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        return pending

    def _put_back(self, pending: dict[str, set[int]]) -> None:
        with self._pending_lock:
            for topic, ids in pending.items():
                self._pending.setdefault(topic, set()).update(ids)

    def _flush_loop(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self.MARK_BATCH_SECONDS)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        """Send this process's pending marks now (one round trip). Kept for the next try if
        Redis does not answer: the ticker also resends everything watched after an outage."""
        pending = self._take_pending()
        if not pending:
            return
        try:
            pipe = self._sync.pipeline(transaction=False)
            for topic, ids in pending.items():
                pipe.sadd(self._key("dirty", topic), *ids)
            pipe.execute()
        except Exception:
            self._put_back(pending)
            logger.warning("could not mark %d topics for a push", len(pending), exc_info=True)

    async def _flush_async(self, client) -> None:
        pending = self._take_pending()
        if not pending:
            return
        try:
            pipe = client.pipeline(transaction=False)
            for topic, ids in pending.items():
                pipe.sadd(self._key("dirty", topic), *ids)
            await pipe.execute()
        except BaseException:
            self._put_back(pending)
            raise

    def _client(self):
        import redis.asyncio

        loop = asyncio.get_running_loop()
        if loop not in self._async:
            self._async[loop] = redis.asyncio.Redis.from_url(
                self._url, socket_timeout=2, socket_connect_timeout=2
            )
        return self._async[loop]

    async def claim(self, topic: str) -> list[int]:
        client = self._client()
        await self._flush_async(client)  # this process's own marks first
        members = await client.smembers(self._key("dirty", topic))
        claimed = []
        tick_ms = max(1, int(settings.REALTIME_TICK_MS * 0.95))
        for raw in members:
            item_id = int(raw)
            if await client.set(self._key("tick", topic, item_id), 1, nx=True, px=tick_ms):
                # Removed before the computation reads the database: a change committed
                # after this re-marks the item and is sent next tick.
                await client.srem(self._key("dirty", topic), raw)
                claimed.append(item_id)
        return claimed

    async def heartbeat(self, items) -> None:
        """Say that this process watches `items`, for a few ticks (it says so every tick)."""
        client = self._client()
        ttl_ms = max(2000, 10 * settings.REALTIME_TICK_MS)
        for topic, item_id in items:
            await client.set(self._key("watched", topic, item_id), 1, px=ttl_ms)

    async def is_watched(self, topic: str, item_id: int) -> bool:
        return bool(await self._client().exists(self._key("watched", topic, item_id)))


_store: _LocalStore | _RedisStore | None = None
_store_lock = threading.Lock()


def _get_store():
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                _store = (
                    _RedisStore(settings.REDIS_URL, f"{settings.CACHE_KEY_PREFIX}:rt")
                    if settings.REDIS_URL
                    else _LocalStore()
                )
    return _store


def reset_store() -> None:
    """Forget the store (tests that change REDIS_URL or the tick)."""
    global _store
    _store = None


def mark_dirty(topic: str, item_id: int) -> None:
    """Say that `item_id` of `topic` changed. Never raises: a push is never worth a failure."""
    try:
        _get_store().mark(topic, item_id)
    except Exception:
        logger.warning("could not mark %s %s for a push", topic, item_id, exc_info=True)


def mark_dirty_on_commit(topic: str, item_id: int) -> None:
    transaction.on_commit(lambda: mark_dirty(topic, item_id))


# Items this process has sockets for, so it can resend them after an outage.
_watched: dict[tuple[str, int], int] = {}
_tickers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop -> ticker task
_stopping: weakref.WeakSet = weakref.WeakSet()  # tasks asked to stop (stop_tickers)


def watch(topic: str, item_id: int) -> None:
    _watched[(topic, item_id)] = _watched.get((topic, item_id), 0) + 1
    _ensure_ticker()


def unwatch(topic: str, item_id: int) -> None:
    count = _watched.get((topic, item_id), 0) - 1
    if count <= 0:
        _watched.pop((topic, item_id), None)
    else:
        _watched[(topic, item_id)] = count


def _ensure_ticker() -> None:
    loop = asyncio.get_running_loop()
    task = _tickers.get(loop)
    if task is None or task.done():
        _tickers[loop] = loop.create_task(_ticker(), name="birge-realtime-ticker")


# Other background tasks of a process's event loop (the sockets' re-check), stopped with
# the tickers: loop -> {name: task}.
_process_tasks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# How many times the ticker found Redis unreachable: a push sent meanwhile may be lost, so
# whoever depends on pushes (the sockets' rights) checks everything again after one.
_outages = 0


def outages() -> int:
    return _outages


def ensure_process_task(name: str, factory: Callable[[], Any]) -> None:
    """Run `factory()` as the one task called `name` on this event loop."""
    loop = asyncio.get_running_loop()
    tasks = _process_tasks.setdefault(loop, {})
    task = tasks.get(name)
    if task is None or task.done():
        tasks[name] = loop.create_task(factory(), name=name)


def stopping() -> bool:
    """Whether stop_tickers asked the current task to end (loops check it as well as cancel)."""
    return asyncio.current_task() in _stopping


async def stop_tickers(timeout: float = 10) -> None:
    """Stop this process's ticker and background tasks, and wait until they have ended.

    A cancellation can be lost inside a library call that turns it into a timeout (Redis
    clients on Python 3.11 do, now and then), so each task is asked again until it ends, and
    the ticker also checks a flag of its own."""
    loop = asyncio.get_running_loop()
    tasks = [_tickers.pop(loop, None), *_process_tasks.pop(loop, {}).values()]
    tasks = [task for task in tasks if task is not None and not task.done()]
    for task in tasks:
        _stopping.add(task)
    tasks = await cancel_until_done(tasks, timeout=timeout)
    if tasks:
        logger.warning("%d realtime tasks did not stop: %s", len(tasks), tasks)


async def cancel_until_done(tasks, *, timeout: float) -> list:
    """Cancel `tasks`, again every half second, until each has ended or `timeout` seconds
    have passed (a cancel a library turned into a timeout is lost). Returns those still
    running."""
    tasks = [task for task in tasks if not task.done()]
    deadline = time.monotonic() + timeout
    while tasks and time.monotonic() < deadline:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=0.5)
        tasks = [task for task in tasks if not task.done()]
    return tasks


async def _push(topic: str, item_id: int) -> None:
    from channels.db import database_sync_to_async

    texts = await database_sync_to_async(compute_texts)(topic, item_id, now_seq())
    layer = get_channel_layer()
    for group, text in texts:
        # Serialized once, not once per socket: a push to 5,000 sockets is one dumps a group.
        await layer.group_send(group, {"type": CONSUMER_HANDLER, "text": text, "group": group})


async def tick_once() -> int:
    """Claim and push every dirty item once. Returns how many items were pushed."""
    pushed = 0
    store = _get_store()
    summaries = {item for items in _dependents.values() for item in items}
    await store.heartbeat([item for item in _watched if item in summaries])
    for topic in list(_topics):
        claimed = await store.claim(topic)
        for item_id in claimed:
            try:
                await _push(topic, item_id)
                pushed += 1
            except Exception:
                logger.warning("push of %s %s failed; it is retried", topic, item_id, exc_info=True)
                mark_dirty(topic, item_id)
        if claimed:
            for dependent in _dependents.get(topic, ()):
                # A summary no socket watches (in any process) is not worth computing.
                if await store.is_watched(*dependent):
                    mark_dirty(*dependent)
    return pushed


async def _ticker() -> None:
    global _outages
    healthy = True
    last_resync = time.monotonic()
    next_tick = time.monotonic()
    while not stopping():
        # Fixed rate: the work of a tick comes out of the wait for the next, so a slow
        # computation does not stretch the tick.
        next_tick = max(next_tick + tick_seconds(), time.monotonic() + tick_seconds() * 0.2)
        await asyncio.sleep(next_tick - time.monotonic())
        # Every few seconds the current state of everything watched here is pushed even if
        # nothing changed: a message lost in a Redis outage (or while the layer was still
        # re-subscribing) is made good within that time. Clients drop what they have seen.
        if time.monotonic() - last_resync >= settings.REALTIME_RESYNC_SECONDS:
            last_resync = time.monotonic()
            for topic, item_id in list(_watched):
                mark_dirty(topic, item_id)
        try:
            await tick_once()
        except asyncio.CancelledError:
            raise
        except Exception:
            if healthy:
                _outages += 1
                logger.warning("realtime ticker failed; retrying every tick", exc_info=True)
            healthy = False
            continue
        if not healthy:
            logger.info("realtime ticker recovered; resending %d watched items", len(_watched))
            for topic, item_id in list(_watched):
                mark_dirty(topic, item_id)
            healthy = True
