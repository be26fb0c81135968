"""The base websocket consumer: authorize, join groups, send a snapshot, forward events, and
keep asking whether the socket's user may still see what it carries.

Subclasses say which groups a socket joins, who may connect, and what the snapshot is;
they carry messages and hold no business logic. Incoming frames are validated here.

A socket follows its user's rights. Services that change them (a role, a ban) and the
sign-out and password signals push `rights.changed` to the user's group after commit; the
socket then loads its user afresh from its session and authorizes again: 4401 when the
session is gone, expired or no longer valid (a password change), the refusal's own code
(4403, 4404) when authorize() refuses. Every few seconds (REALTIME_RECHECK_SECONDS) one task
per process checks the sessions and roles of all its sockets in one batch and checks in full
those whose answer changed (an expired session, a push lost in a Redis outage); every
snapshot is checked the same way first. A closed socket sends nothing more.

The channel layer (Redis) is never needed for the handshake: a socket that cannot join its
groups still gets its snapshot from the database, and joins them on a later re-check.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.conf import settings
from django.utils import timezone

from accounts.selectors import session_fingerprints, session_user

from . import realtime
from .errors import DomainError, NotAuthenticated
from .realtime import EVENT_ERROR, envelope, session_digest

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 4096
CLOSE_TOO_BIG = 1009
# A snapshot costs queries; a client asking for more than one a second gets the last one only.
RESYNC_MIN_SECONDS = 1.0
# A channel-layer call that takes longer than this is treated as failed (Redis unreachable).
LAYER_TIMEOUT = 1.0
# One warning per outage and process, not one per socket.
WARN_EVERY_SECONDS = 60.0
_last_warning: dict[str, float] = {}


def _warn_now_and_then(key: str, message: str, *args) -> None:
    now = time.monotonic()
    if now - _last_warning.get(key, float("-inf")) >= WARN_EVERY_SECONDS:
        _last_warning[key] = now
        logger.warning(message, *args)


class EnvelopeConsumer(AsyncWebsocketConsumer):
    """Listen-only by default: the only frame a client may send is {"type": "resync"}."""

    async def authorize(self) -> None:
        """Raise a DomainError to refuse the socket (its close_code is sent). Runs again on
        every re-check, with scope["user"] loaded afresh."""

    async def groups_for(self) -> list[str]:
        """The groups of what this socket shows, for its user as authorize() last saw them."""
        return []

    def watched(self) -> list[tuple[str, int]]:
        """The (topic, item) pairs this socket keeps the realtime ticker pushing."""
        return []

    async def snapshot(self) -> dict[str, Any] | None:
        return None

    def render_target(self) -> tuple[str, int, str] | None:
        """(topic, item, group) whose fragments a snapshot carries, rendered in the socket's
        language as the ticker renders that group's updates; None for data only."""
        return None

    # --- Lifecycle --------------------------------------------------------------------------

    async def __call__(self, scope, receive, send):
        # As channels' own, except that the channel layer is joined in connect() and may
        # fail there without failing the handshake (channels subscribes before anything).
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = None
        self.base_send = send
        self._channel_ready = asyncio.Event()
        self._closing = False
        self._recheck_lock = asyncio.Lock()
        self._fingerprint: str | None = None  # what session_fingerprints said last
        self.joined: set[str] = set()  # the groups this socket should be in
        self._added: set[str] = set()  # the groups it is in
        self._watching: list[tuple[str, int]] = []
        self.user_id: int | None = None
        self.session_key: str | None = None
        self._pushing: asyncio.Task | None = None  # a pushed text going out
        self._next_push: dict[str, dict] = {}  # group -> the newest push waiting behind it
        self._pushes_held = True  # until the first snapshot has gone out
        try:
            await await_many_dispatch([receive, self._receive_from_layer], self.dispatch)
        except StopConsumer:
            pass
        finally:
            _open_sockets.discard(self)
            self._unwatch()  # also when the consumer ended without a disconnect
            if self.channel_layer is not None:
                _local_groups(self.channel_layer).forget(self)

    async def _receive_from_layer(self):
        await self._channel_ready.wait()
        while True:
            try:
                return await self.channel_layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the core Redis layer polls Redis for every message
                _warn_now_and_then("layer", "channel layer unavailable (%r); retrying", exc)
                await asyncio.sleep(recheck_seconds())

    async def connect(self):
        # Accept first, then close with a code, so the browser sees why it was refused.
        await self.accept()
        # The reader's language (?lang=xx from the page): fragments and texts come in it.
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.lang = realtime.page_language((query.get("lang") or [""])[0])
        try:
            await self.authorize()
        except DomainError as exc:
            await self.send_error(exc.code, str(exc.message))
            await self.close(code=exc.close_code)
            return
        user = self.scope.get("user")
        if getattr(user, "is_authenticated", False):
            self.user_id = user.pk
            self.session_key = getattr(self.scope.get("session"), "session_key", None)
        self._watching = list(self.watched())
        for item in self._watching:
            realtime.watch(*item)
        self.joined = await self._wanted_groups()
        await self._join_layer()  # before the snapshot, so no update falls in between
        await self.send_snapshot(recheck=False)  # authorize() has just run
        self._release_pushes()  # the pushes that came meanwhile, after the snapshot
        if self.user_id is not None:
            prints = await database_sync_to_async(session_fingerprints)(
                {self.session_key: self.user_id}
            )
            self._fingerprint = prints.get(self.session_key)
        _open_sockets.add(self)
        realtime.ensure_process_task("birge-socket-rechecks", _recheck_sockets)

    async def disconnect(self, code):
        self._closing = True
        _open_sockets.discard(self)
        await self._leave_groups()
        self._unwatch()

    def _unwatch(self) -> None:
        for item in self._watching:
            realtime.unwatch(*item)
        self._watching = []

    # --- The channel layer ------------------------------------------------------------------

    async def _wanted_groups(self) -> set[str]:
        # One group per audience and language: every socket in it gets the same rendered text.
        groups = {realtime.lang_group(group, self.lang) for group in await self.groups_for()}
        if self.user_id is not None:
            groups.add(realtime.user_group(self.user_id))
        return groups

    async def _join_layer(self) -> bool:
        """Be in every wanted group. False if the layer cannot be reached now (logged once in a
        while per process); the periodic re-check tries again."""
        if self.channel_layer is None:
            return True
        try:
            if self.channel_name is None:
                self.channel_name = await asyncio.wait_for(
                    self.channel_layer.new_channel(), LAYER_TIMEOUT
                )
                self._channel_ready.set()
            for group in sorted(self.joined - self._added):
                if _is_pushed_group(group):
                    await _local_groups(self.channel_layer).add(group, self)
                else:
                    await asyncio.wait_for(
                        self.channel_layer.group_add(group, self.channel_name), LAYER_TIMEOUT
                    )
                self._added.add(group)
        except Exception as exc:  # TimeoutError, ConnectionError, OSError...
            _warn_now_and_then(
                "layer",
                "channel layer unavailable (%r): sockets get their snapshot from the database "
                "and join their groups when it is back",
                exc,
            )
            return False
        return True

    async def _leave_groups(self, groups: set[str] | None = None) -> None:
        for group in list(self._added if groups is None else groups & self._added):
            self._added.discard(group)
            if _is_pushed_group(group):
                await _local_groups(self.channel_layer).discard(group, self)
                continue
            try:
                await asyncio.wait_for(
                    self.channel_layer.group_discard(group, self.channel_name), LAYER_TIMEOUT
                )
            except Exception as exc:  # the subscription lapses with the connection anyway
                logger.debug("leaving %s failed: %r", group, exc)

    # --- Rights -----------------------------------------------------------------------------

    async def recheck_rights(self, *, snapshot_follows: bool = False) -> bool:
        """Authorize again with the user as the session says now. False if the socket was
        closed for it. If what the user may see changed (an official who is now a citizen),
        the socket moves to the other groups and, unless one follows, gets a new snapshot."""
        async with self._recheck_lock:
            if self._closing:
                return False
            if self.user_id is not None:
                user = await database_sync_to_async(session_user)(self.session_key)
                if user is None or user.pk != self.user_id:
                    await self._close_for(NotAuthenticated())
                    return False
                self.scope["user"] = user
            try:
                await self.authorize()
            except DomainError as exc:
                await self._close_for(exc)
                return False
            wanted = await self._wanted_groups()
            if wanted == self.joined:
                return True
            self.joined = wanted
            await self._leave_groups(self._added - wanted)
            await self._join_layer()
        if not snapshot_follows:
            await self.send_snapshot(recheck=False)
        return True

    async def _close_for(self, exc: DomainError) -> None:
        # The flag first: nothing queued behind this (a group event, a snapshot) goes out.
        self._closing = True
        await self.close(code=exc.close_code, reason=exc.code[:100])
        _open_sockets.discard(self)
        await self._leave_groups()
        self._unwatch()

    async def rights_changed(self, event):
        """rights.changed: the user's roles, bans, password or sessions changed."""
        if self._closing:
            return
        signed_out = event.get("session")
        if signed_out and self.session_key and signed_out == session_digest(self.session_key):
            await self._close_for(NotAuthenticated())
            return
        try:
            await self.recheck_rights()
        except Exception as exc:  # the database down: the periodic re-check tries again
            self._fingerprint = None
            _warn_now_and_then("recheck", "socket re-check failed (%r); retrying", exc)

    async def _rejoin(self, *, checked: bool = False) -> None:
        """Join the groups an outage kept this socket out of, and send what it missed (to a
        user who may still see it: checked first unless the caller just did)."""
        missing = self.channel_name is None or self._added != self.joined
        if self.channel_layer is not None and missing and await self._join_layer():
            await self.send_snapshot(recheck=not checked)

    # --- Messages ---------------------------------------------------------------------------

    async def send_snapshot(self, *, recheck: bool = True) -> None:
        """The current state, for a user who may still see it (checked first unless the
        caller has just done so)."""
        if recheck and not await self.recheck_rights(snapshot_follows=True):
            return
        message = await self.snapshot()
        if message is None:
            return
        target = self.render_target()
        if target is not None:
            topic, item_id, group = target
            message = await database_sync_to_async(realtime.render_message)(
                topic, item_id, group, message, self.lang
            )
        await self.send_json(message)

    async def send(self, text_data=None, bytes_data=None, close=False):
        if self._closing and not close:
            return
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def receive(self, text_data=None, bytes_data=None):
        raw = text_data if text_data is not None else bytes_data
        if raw is not None and len(raw.encode() if isinstance(raw, str) else raw) > MAX_FRAME_BYTES:
            await self.close(code=CLOSE_TOO_BIG)
            return
        if bytes_data is not None:
            await self.send_error("binary_not_supported", "Send JSON text frames.")
            return
        try:
            frame = json.loads(text_data)
        except (TypeError, ValueError, RecursionError):  # deep nesting fits in 4 KB too
            await self.send_error("malformed", "The frame is not valid JSON.")
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send_error("malformed", 'A frame is a JSON object with a "type".')
            return
        await self.handle_frame(frame)

    async def handle_frame(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "resync":
            now = time.monotonic()
            if now - getattr(self, "_last_resync", float("-inf")) < RESYNC_MIN_SECONDS:
                await self.send_error("too_many_resyncs", "One resync a second at most.")
                return
            self._last_resync = now
            await self.send_snapshot()
            return
        await self.send_error("read_only", "This socket only sends; it takes no commands.")

    def offer_push(self, event: dict) -> None:
        """A push of one of this socket's groups, from the process's fan-out (_LocalGroups).
        Sent at once; while a send still waits on a slow reader, or until the socket's first
        snapshot has gone out, only the newest push of each group waits (every push is a whole
        state: nothing is lost by skipping)."""
        if self._closing or event.get("group") not in self.joined:
            return
        if self._pushing is not None or self._pushes_held:
            self._next_push[event.get("group")] = event
            return
        self._pushing = asyncio.ensure_future(self._send_pushes(event))

    def _release_pushes(self) -> None:
        self._pushes_held = False
        if self._next_push and self._pushing is None:
            event = self._next_push.pop(next(iter(self._next_push)))
            self._pushing = asyncio.ensure_future(self._send_pushes(event))

    async def _send_pushes(self, event: dict) -> None:
        try:
            while True:
                await self.realtime_event(event)
                if not self._next_push:
                    return
                event = self._next_push.pop(next(iter(self._next_push)))
        except Exception as exc:  # the socket went away meanwhile
            logger.debug("push to a socket failed: %r", exc)
        finally:
            self._pushing = None

    async def realtime_event(self, event):
        if self._closing:
            return
        group = event.get("group")
        if group is not None and group not in self.joined:
            return  # queued before this socket left that group (its user lost the right)
        text = event.get("text")
        if text is not None:
            await self.send(text_data=text)
        else:
            await self.send_json(event["message"])

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(message, separators=(",", ":"), default=str))

    async def send_error(self, code: str, detail: str) -> None:
        await self.send_json(envelope(EVENT_ERROR, seq=0, payload={"code": code, "detail": detail}))


def _is_pushed_group(group: str) -> bool:
    """Groups that carry pushed texts (results, questions, the dashboard), fanned out per
    process; the user's own group carries rights.changed to the socket's own channel."""
    return not group.startswith(realtime.GROUP_USER.partition("{")[0])


class _LocalGroups:
    """This process's sockets by pushed group. The channel layer delivers each push once to
    the process (one channel of its own in every group a socket of the process is in), and
    this hands the text to each socket. A push to 1,000 sockets was 1,000 layer deliveries,
    each waking its consumer's dispatch loop: about 80 µs of CPU a socket, the most of a
    server's work with 1,000 sockets watching a poll under load.

    One per event loop. Joining a group that the process is not in yet joins the layer first
    (a failure is raised: the socket retries on its re-check, as before); the last socket
    leaving a group leaves the layer too."""

    # Group memberships expire on the core and in-memory layers (a day): joins renew them.
    RENEW_SECONDS = 3600

    def __init__(self, layer):
        self.layer = layer
        self.channel: str | None = None
        self.members: dict[str, set[EnvelopeConsumer]] = {}
        self.joined_at: dict[str, float] = {}  # groups the channel is in, since when
        self.lock = asyncio.Lock()

    async def add(self, group: str, consumer: EnvelopeConsumer) -> None:
        async with self.lock:
            if self.channel is None:
                self.channel = await asyncio.wait_for(self.layer.new_channel(), LAYER_TIMEOUT)
            if time.monotonic() - self.joined_at.get(group, float("-inf")) > self.RENEW_SECONDS:
                await asyncio.wait_for(self.layer.group_add(group, self.channel), LAYER_TIMEOUT)
                self.joined_at[group] = time.monotonic()
        self.members.setdefault(group, set()).add(consumer)
        realtime.ensure_process_task(f"birge-fanout-{id(self)}", self._pump)

    async def discard(self, group: str, consumer: EnvelopeConsumer) -> None:
        members = self.members.get(group)
        if members is not None:
            members.discard(consumer)
        await self._leave_if_empty(group)

    def forget(self, consumer: EnvelopeConsumer) -> None:
        """A consumer that ended: out of every group (the layer is left on the next join or
        leave of the process, or when the process ends)."""
        for members in self.members.values():
            members.discard(consumer)

    async def _leave_if_empty(self, group: str) -> None:
        async with self.lock:
            if self.members.get(group) or group not in self.joined_at:
                return
            self.members.pop(group, None)
            del self.joined_at[group]
            try:
                await asyncio.wait_for(self.layer.group_discard(group, self.channel), LAYER_TIMEOUT)
            except Exception as exc:  # the subscription lapses with the connection anyway
                logger.debug("leaving %s failed: %r", group, exc)

    async def _pump(self) -> None:
        while not realtime.stopping():
            try:
                event = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis unreachable: the sockets resync when it is back
                _warn_now_and_then("layer", "channel layer unavailable (%r); retrying", exc)
                await asyncio.sleep(recheck_seconds())
                continue
            group = event.get("group")
            members = self.members.get(group)
            if not members:
                await self._leave_if_empty(group)
                continue
            for consumer in list(members):
                consumer.offer_push(event)


_fanouts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop -> _LocalGroups


def _local_groups(layer) -> _LocalGroups:
    loop = asyncio.get_running_loop()
    hub = _fanouts.get(loop)
    if hub is None or hub.layer is not layer:
        hub = _fanouts[loop] = _LocalGroups(layer)
    return hub


def recheck_seconds() -> float:
    return max(0.05, float(settings.REALTIME_RECHECK_SECONDS))


# The open sockets of this process, checked together by one task (started with the first).
_open_sockets: weakref.WeakSet[EnvelopeConsumer] = weakref.WeakSet()


async def _recheck_sockets() -> None:
    """Every REALTIME_RECHECK_SECONDS: the sessions and roles of every signed-in socket of the
    process in one batch of queries (a session expired, a push lost); a socket whose digest
    changed is checked in full, as after a push. After an outage the ticker saw (pushes may be
    lost: a ban, say) every socket is. Sockets an outage kept out of their groups rejoin."""
    seen_outages = realtime.outages()
    while _open_sockets and not realtime.stopping():
        await asyncio.sleep(recheck_seconds())
        sockets = [s for s in list(_open_sockets) if not s._closing]
        everything = realtime.outages() != seen_outages
        seen_outages = realtime.outages()
        try:
            signed_in = {s.session_key: s.user_id for s in sockets if s.user_id is not None}
            prints = (
                await database_sync_to_async(session_fingerprints)(signed_in) if signed_in else {}
            )
        except Exception as exc:  # the database down: the sockets stay, checked next time
            _warn_now_and_then("recheck", "socket re-check failed (%r); retrying", exc)
            continue
        checks = []
        for socket in sockets:
            if socket.user_id is not None:
                now = prints.get(socket.session_key)
                if everything or now is None or now != socket._fingerprint:
                    checks.append(_recheck_one(socket, now))
                    continue
            checks.append(socket._rejoin())
        for result in await asyncio.gather(*checks, return_exceptions=True):
            if isinstance(result, Exception):
                _warn_now_and_then("recheck", "socket re-check failed (%r); retrying", result)


async def _recheck_one(socket: EnvelopeConsumer, fingerprint: str | None) -> None:
    if await socket.recheck_rights():
        socket._fingerprint = fingerprint
        await socket._rejoin(checked=True)


class NotFoundConsumer(EnvelopeConsumer):
    """Any /ws/ address no route knows: accepted, then closed with 4404 (not a 500)."""

    async def authorize(self) -> None:
        from .errors import NotFound

        raise NotFound()


class HealthConsumer(EnvelopeConsumer):
    """/ws/health/: proves the websocket path works through every proxy in front of Birge."""

    async def snapshot(self):
        return envelope("health.ok", seq=0, payload={"server_time": timezone.now().isoformat()})
