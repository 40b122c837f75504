"""The Socket Mode WebSocket: ``hello`` on connect, envelopes out, acks back within 3 s.

``apps.connections.open`` issues a single-use URL (``new_url``). Envelopes go to the newest
live connection. A test can send Slack's ``disconnect`` message, cut a connection silently
(it stops answering pings and carries nothing, as a dead link does), or drop the TCP
connection without a close frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .models import new_id

if TYPE_CHECKING:
    from .server import FakeSlack

ACK_DEADLINE = 3.0


class AckTimeout(AssertionError):
    """The app did not ack an envelope within 3 s."""


@dataclass
class Connection:
    id: int
    ws: web.WebSocketResponse
    request: web.Request
    cut: bool = False  # silently dead: nothing delivered or read
    answer_pings: bool = False  # ... yet still answering pings (a zombie)
    closed: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return not (self.cut or self.closed or self.ws.closed)


@dataclass
class Envelope:
    """One delivered envelope and its ack (``None`` until it came)."""

    id: str
    type: str
    payload: dict[str, Any]
    sent_at: float
    ack: dict[str, Any] | None = None
    acked_at: float | None = None


class SocketHub:
    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.ack_deadline = ACK_DEADLINE
        self.connections: list[Connection] = []
        self.envelopes: list[Envelope] = []
        self.opened_urls = 0  # apps.connections.open calls
        self._tickets: set[str] = set()
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def new_url(self) -> str:
        ticket = secrets.token_hex(8)
        self._tickets.add(ticket)
        self.opened_urls += 1
        return f"{self.fake.ws_base}/link/?ticket={ticket}&app_id={self.fake.app_id}"

    @property
    def live(self) -> list[Connection]:
        return [c for c in self.connections if c.live]

    @property
    def open(self) -> list[Connection]:
        """The connections not closed (silently cut ones included)."""
        return [c for c in self.connections if not (c.closed or c.ws.closed)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:  # each URL connects once, as Slack's
            self.fake.violations.append("socket connect with an unknown or used ticket")
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        conn = Connection(len(self.connections) + 1, ws, request)
        self.connections.append(conn)
        await ws.send_json(self._hello())
        self.fake.notifier.notify()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.PING and (conn.answer_pings or not conn.cut):
                    await ws.pong(msg.data)
                elif msg.type == WSMsgType.TEXT and not conn.cut:
                    self._on_text(conn, msg.data)
        finally:
            conn.closed = True
            self.fake.notifier.notify()
        return ws

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self.live),
            "debug_info": {
                "host": "applink-fake",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.fake.app_id},
        }

    def _on_text(self, conn: Connection, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            self.fake.violations.append(f"socket message is not JSON: {data[:100]!r}")
            return
        conn.received.append(message)
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        future = self._pending.get(str(envelope_id))
        if future is None:
            self.fake.violations.append(f"ack for an unknown or expired envelope: {data[:200]!r}")
        elif not future.done():
            future.set_result(message.get("payload") or {})

    async def deliver(
        self, type_: str, payload: dict[str, Any], accepts_response_payload: bool
    ) -> dict[str, Any]:
        """Send an envelope; return the ack's payload (``{}`` for a bare ack).

        It goes to the newest open connection (up to 5 s waiting for one): a silently cut
        one loses it, as a dead link does. A missing ack after 3 s is recorded in
        ``fake.violations`` and raises :class:`AckTimeout`."""
        try:
            conn = await self.fake.wait_for(lambda: (self.open or [None])[-1], timeout=5.0)
        except TimeoutError:
            raise AssertionError(
                "no Socket Mode connection to deliver to (is the app running?)"
            ) from None
        envelope = Envelope(new_id("E").lower(), type_, payload, asyncio.get_running_loop().time())
        body: dict[str, Any] = {"envelope_id": envelope.id, "payload": payload, "type": type_}
        body["accepts_response_payload"] = accepts_response_payload
        if type_ == "events_api":
            body |= {"retry_attempt": 0, "retry_reason": ""}
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[envelope.id] = future
        self.envelopes.append(envelope)
        try:
            if not conn.cut:
                await conn.ws.send_json(body)
            envelope.ack = await asyncio.wait_for(future, self.ack_deadline)
        except asyncio.TimeoutError:
            self.fake.violations.append(
                f"no ack within {self.ack_deadline} s for {type_} {envelope.id}"
            )
            raise AckTimeout(
                f"the app did not ack the {type_} envelope within {self.ack_deadline} s"
            ) from None
        finally:
            self._pending.pop(envelope.id, None)
        envelope.acked_at = asyncio.get_running_loop().time()
        self.fake.notifier.notify()
        return envelope.ack

    async def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's ``disconnect`` message on the newest live connection (the app reconnects)."""
        conn = self.live[-1]
        await conn.ws.send_json(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        )

    def cut(self, *, answer_pings: bool = False) -> None:
        """Make the newest live connection silently dead: envelopes and acks are lost.

        By default it stops answering pings too, which the client's heartbeat notices;
        with ``answer_pings=True`` it is a zombie that only an app-level watchdog catches."""
        conn = self.live[-1]
        conn.cut, conn.answer_pings = True, answer_pings

    def drop(self) -> None:
        """Abort the newest live connection's TCP connection, with no close frame."""
        conn = self.live[-1]
        conn.cut = True
        if conn.request.transport is not None:
            conn.request.transport.abort()

    async def close(self) -> None:
        for conn in self.connections:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(), 1.0)
