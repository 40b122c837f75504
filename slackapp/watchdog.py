"""A health watchdog for the Socket Mode connection.

slack-sdk's aiohttp client can end up connected in name only: a reconnect that failed
half-way leaves no task receiving messages (slackapi/python-slack-sdk#1446), and a
connection can go silent with nothing noticing (slackapi/bolt-python#1529). Slack then
delivers nothing and the app never says so. Every few seconds the watchdog checks that
the connection is open, that its receive and monitor tasks are alive, that pongs come
back, and that the connection has carried something (an envelope, Slack's hello or
disconnect notice) within ``quiet_s``: a zombie connection still answers pings. When
any check fails it logs why and connects again, with a new handler when the old client
will not reconnect. (A quiet workspace costs a reconnect every ``quiet_s``: cheap.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slack_sdk.socket_mode.aiohttp import SocketModeClient

    from .app import SlackBot

log = logging.getLogger(__name__)

#: The least time a reconnection is given before it counts as failed.
CONNECT_S = 30.0


class Watchdog:
    def __init__(self, bot: SlackBot, interval_s: float, quiet_s: float) -> None:
        self.bot = bot
        self.interval_s = interval_s
        self.quiet_s = quiet_s
        self.reconnects = 0
        self.last_heard = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    def listen(self, client: SocketModeClient) -> None:
        """Note the time of every message ``client`` receives."""
        client.on_message_listeners.append(self._heard)

    async def _heard(self, message: object) -> None:
        self.last_heard = time.monotonic()

    def start(self) -> None:
        self.last_heard = time.monotonic()
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name="slack-watchdog")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                problem = await self.problem()
                if problem is not None:
                    log.warning("Socket Mode connection unhealthy (%s): reconnecting", problem)
                    await self.reconnect()
            except asyncio.CancelledError:
                raise
            except Exception:  # the next round tries again
                log.exception("the Socket Mode watchdog failed to reconnect")

    async def problem(self) -> str | None:
        """What is wrong with the connection, or None when it is healthy."""
        client: SocketModeClient = self.bot.handler.client
        if client.closed:
            return "the client is closed"
        session = client.current_session
        if session is None or session.closed:
            return "no open session"
        for name in ("message_receiver", "current_session_monitor"):
            task = getattr(client, name, None)
            if task is None or task.done():
                return f"its {name.replace('_', ' ')} task has stopped"
        last_pong = client.last_ping_pong_time
        if last_pong is not None and time.time() - last_pong > 4 * client.ping_interval:
            return f"no pong for {time.time() - last_pong:.0f} s"
        if not await client.is_connected():
            return "the client says it is not connected"
        quiet = time.monotonic() - self.last_heard
        if quiet > self.quiet_s:
            return f"nothing received for {quiet:.0f} s"
        return None

    async def reconnect(self) -> None:
        """Connect again on a fresh endpoint; failing that, on a new handler."""
        self.reconnects += 1
        limit = max(4 * self.interval_s, CONNECT_S)
        try:
            client = self.bot.handler.client
            await asyncio.wait_for(client.connect_to_new_endpoint(force=True), limit)
        except Exception as exc:
            log.warning("reconnecting failed (%s): starting a new Socket Mode handler", exc)
        else:
            self.last_heard = time.monotonic()  # (the new connection's hello comes next)
            if await self.problem() is None:
                log.info("Socket Mode connection restored")
                return
        old = self.bot.handler
        self.bot.handler = self.bot.new_handler()  # (which the watchdog listens to)
        with contextlib.suppress(Exception):
            await old.close_async()
        await asyncio.wait_for(self.bot.handler.connect_async(), limit)
        self.last_heard = time.monotonic()
        log.info("Socket Mode connection restored with a new handler")
