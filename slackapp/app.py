"""The Slack app: a Bolt ``AsyncApp`` over Socket Mode, with the inference service, the
job journal, cooldowns, the edit throttle and the health watchdog it shares its loop
with.

``SlackBot.start`` opens the journal, starts the service, connects and resumes the
jobs an earlier run left unfinished; ``close`` marks waiting jobs for resumption, tells
their users, and stops everything (``python -m slackapp`` calls it on SIGTERM).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from chat.cooldowns import Cooldowns
from chat.jobs import JobRunner
from chat.journal import JobJournal
from chat.settings import create_backend
from inference import Backend
from store import Store

from .listeners import register
from .replies import render_reply
from .settings import SlackSettings
from .surface import SlackSurface
from .throttle import EditThrottle
from .watchdog import Watchdog

log = logging.getLogger(__name__)

#: Seconds between the Socket Mode client's pings (its heartbeat notices a dead link).
PING_INTERVAL_S = 10.0
#: How long stopping waits for "restarting" notes to reach their placeholders.
DRAIN_S = 5.0


class SlackBot:
    def __init__(self, settings: SlackSettings, *, service: Backend | None = None) -> None:
        if settings.slack_bot_token is None or settings.slack_app_token is None:
            raise ValueError("SLACK_BOT_TOKEN and SLACK_APP_TOKEN are both needed")
        self.settings = settings
        self.service = service if service is not None else create_backend(settings)
        self.client = AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
        )
        # a 429 (an edit past Slack's allowance despite the throttle) waits and retries
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
        self.app = AsyncApp(client=self.client, request_verification_enabled=False)
        self.throttle = EditThrottle(settings.slack_edits_per_minute)
        self.cooldowns = Cooldowns(settings)
        self.journal = JobJournal("slack", settings.journal_keep_hours)
        self.runner = JobRunner(self.service, self.journal, self.surface_for)
        self.watchdog = Watchdog(self, settings.slack_watchdog_s, settings.slack_quiet_s)
        self.handler = self.new_handler()
        self.resumed: list[asyncio.Task[None]] = []
        register(self)

    def new_handler(self) -> AsyncSocketModeHandler:
        assert self.settings.slack_app_token is not None
        handler = AsyncSocketModeHandler(
            self.app,
            self.settings.slack_app_token.get_secret_value(),
            web_client=self.client,
            ping_interval=PING_INTERVAL_S,
        )
        self.watchdog.listen(handler.client)
        return handler

    # -- surfaces ------------------------------------------------------------------------

    def surface(self, **where: Any) -> SlackSurface:
        """A surface for a new request: team, channel, user, title (thread_ts, ts)."""
        return SlackSurface(
            self.client,
            self.throttle,
            render_reply,
            max_bytes=int(self.settings.slack_max_upload_mb * 1_000_000),
            **where,
        )

    def surface_for(self, reply_to: dict[str, Any]) -> SlackSurface:
        """The surface of a journaled request (after a restart)."""
        return self.surface(
            team=reply_to["team"],
            channel=reply_to["channel"],
            user=reply_to["user"],
            title=reply_to.get("title", ""),
            thread_ts=reply_to.get("thread_ts"),
            ts=reply_to.get("ts"),
        )

    # -- life cycle ----------------------------------------------------------------------

    async def start(self, store: Store) -> None:
        """Open the journal, start the models, connect, resume unfinished jobs."""
        self.journal.open(store)
        # One HTTP session for every Web API call (Bolt's per-request clients take it
        # too): kept-alive connections, where slack_sdk's default opens a new one, with
        # its TLS handshake on the event loop, for each call.
        self.client.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.client.timeout)
        )
        await self.service.start()
        await self.handler.connect_async()
        self.resumed = await self.runner.resume_all()
        self.watchdog.start()
        log.info("connected to Slack over Socket Mode")

    async def close(self) -> None:
        """Stop: waiting jobs are kept for the next start and their users told."""
        await self.watchdog.stop()
        await self.journal.suspend()
        await self.throttle.drain(DRAIN_S)
        await self.service.close()
        with contextlib.suppress(Exception):  # a connection that is gone already
            await self.handler.close_async()
        waiting = list(self.runner.waiting)
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        if self.client.session is not None:
            await self.client.session.close()
            self.client.session = None
