"""The base websocket consumer: authorize, join groups, send a snapshot, forward events.

Subclasses say which groups a socket joins, who may connect, and what the snapshot is;
they carry messages and hold no business logic. Incoming frames are validated here.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone

from .errors import DomainError
from .realtime import EVENT_ERROR, envelope

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 4096
CLOSE_TOO_BIG = 1009
# A snapshot costs queries; a client asking for more than one a second gets the last one only.
RESYNC_MIN_SECONDS = 1.0


class EnvelopeConsumer(AsyncWebsocketConsumer):
    """Listen-only by default: the only frame a client may send is {"type": "resync"}."""

    async def authorize(self) -> None:
        """Raise a DomainError to refuse the socket (its close_code is sent)."""

    async def groups_for(self) -> list[str]:
        return []

    async def snapshot(self) -> dict[str, Any] | None:
        return None

    async def connect(self):
        # Accept first, then close with a code, so the browser sees why it was refused.
        await self.accept()
        try:
            await self.authorize()
        except DomainError as exc:
            await self.send_error(exc.code, str(exc.message))
            await self.close(code=exc.close_code)
            return
        self.joined: list[str] = await self.groups_for()
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.send_snapshot()

    async def disconnect(self, code):
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def send_snapshot(self) -> None:
        message = await self.snapshot()
        if message is not None:
            await self.send_json(message)

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

    async def realtime_event(self, event):
        text = event.get("text")
        if text is not None:
            await self.send(text_data=text)
        else:
            await self.send_json(event["message"])

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(message, separators=(",", ":"), default=str))

    async def send_error(self, code: str, detail: str) -> None:
        await self.send_json(envelope(EVENT_ERROR, seq=0, payload={"code": code, "detail": detail}))


class NotFoundConsumer(EnvelopeConsumer):
    """Any /ws/ address no route knows: accepted, then closed with 4404 (not a 500)."""

    async def authorize(self) -> None:
        from .errors import NotFound

        raise NotFound()


class HealthConsumer(EnvelopeConsumer):
    """/ws/health/: proves the websocket path works through every proxy in front of Birge."""

    async def snapshot(self):
        return envelope("health.ok", seq=0, payload={"server_time": timezone.now().isoformat()})
