"""A fake Slack (Web API + Socket Mode) on 127.0.0.1 for the real slack-bolt / slack-sdk.

Typical use (the ``fake_slack`` fixture in ``fixtures.py`` does the first two lines)::

    async with FakeSlack() as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        app = AsyncApp(client=client)
        handler = AsyncSocketModeHandler(app, fake.app_token, web_client=client)
        await handler.connect_async()
        await fake.wait_for(lambda: fake.socket.live)
        ack = await fake.slash_command("/ping", "hello")

Refusals (bad token, missing argument, invalid blocks, a missing ack...) are answered as
Slack answers them and recorded in ``fake.violations``; 429s in ``fake.rate_limited``.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from tests.changes import ChangeNotifier

from .driver import Driver
from .models import (
    Channel,
    Edit,
    Ephemeral,
    FakeClock,
    Message,
    RateLimited,
    SlackError,
    UploadedFile,
    User,
    View,
    new_id,
)
from .responses import Responses
from .socketmode import SocketHub
from .webapi import WebApi

T = TypeVar("T")

ALL_SCOPES = frozenset(
    {
        "commands",
        "chat:write",
        "chat:write.public",
        "files:write",
        "channels:read",
        "groups:read",
        "users:read",
    }
)
TRIGGER_LIFETIME = 3.0


class FakeSlack(Driver):
    """One workspace (``team_id``), one app, its bot user, preset users and channels.

    ``rate_limits`` maps a method to ``(calls, seconds)``: a sliding window per workspace,
    measured on ``clock``. ``bot_scopes`` are the scopes the bot token was granted.
    """

    def __init__(
        self,
        *,
        users: dict[str, str] | None = None,
        channels: dict[str, str] | None = None,
        rate_limits: dict[str, tuple[int, float]] | None = None,
        bot_scopes: frozenset[str] = ALL_SCOPES,
    ) -> None:
        self.team_id, self.team_name, self.team_domain = "T0FAKE0001", "Fake Team", "fake-team"
        self.app_id, self.bot_id = "A0FAKE0001", "B0FAKE0001"
        self.bot_user = User("U0FAKEBOT1", "pipelinebot", is_bot=True)
        self.bot_token = "xoxb-fake-bot-token"
        self.app_token = "xapp-1-fake-app-token"
        self.bot_scopes = set(bot_scopes)
        self.rate_limits: dict[str, tuple[int, float]] = {"chat.update": (50, 60.0)}
        self.rate_limits |= rate_limits or {}
        self.max_file_size = 1024 * 1024 * 1024
        self.clock = FakeClock()
        self.notifier = ChangeNotifier()
        self.users: dict[str, User] = {self.bot_user.id: self.bot_user}
        for uid, name in (users or {"U0USER0001": "alice", "U0USER0002": "bob"}).items():
            self.users[uid] = User(uid, name)
        self.channels: dict[str, Channel] = {}
        for cid, name in (channels or {"C0CHAN0001": "general", "C0CHAN0002": "random"}).items():
            self.channels[cid] = Channel(cid, name)
        self.ephemerals: list[Ephemeral] = []
        self.views: dict[str, View] = {}
        self.files: list[UploadedFile] = []  # completed uploads
        self.pending_files: dict[str, UploadedFile] = {}
        self.violations: list[str] = []
        self.rate_limited: list[RateLimited] = []
        self.triggers: dict[str, tuple[str, float]] = {}  # trigger_id -> (user, issued at)
        self._used_triggers: set[str] = set()
        self._ts = itertools.count(1)
        self.api = WebApi(self)
        self.socket = SocketHub(self)
        self.responses = Responses(self)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=self.max_file_size + 1024)
        app.router.add_post("/api/{method}", self.api.handle)
        app.router.add_get("/api/{method}", self.api.handle)
        app.router.add_post("/upload/{file_id}", self.api.upload)
        app.router.add_get("/link/", self.socket.handle)
        app.router.add_post("/response_url/{key}", self.responses.handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        await self.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """What ``AsyncWebClient(base_url=...)`` takes (the trailing slash matters)."""
        return f"{self.base_url}/api/"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    # -- state helpers --------------------------------------------------------------------

    def new_ts(self) -> str:
        """A message ts: unique, increasing, ``"<seconds>.<micro>"`` like Slack's."""
        return f"{int(time.time())}.{next(self._ts):06d}"

    def edit_of(self, message: Message) -> Edit:
        return Edit(message.text, message.blocks, self.clock.now())

    def new_trigger(self, user: str) -> str:
        trigger = f"{next(self._ts)}.{new_id('')}.{secrets.token_hex(16)}"
        self.triggers[trigger] = (user, self.clock.now())
        return trigger

    def use_trigger(self, trigger_id: str) -> str:
        """The user of a trigger, used up; Slack's errors for an unknown/used/expired one."""
        if trigger_id in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        if trigger_id not in self.triggers:
            raise SlackError("invalid_trigger_id")
        user, issued = self.triggers.pop(trigger_id)
        self._used_triggers.add(trigger_id)
        if self.clock.now() - issued > TRIGGER_LIFETIME:
            raise SlackError("expired_trigger_id")
        return user

    def view_payload(self, view: View) -> dict[str, Any]:
        return view.payload(self.team_id, self.app_id, self.bot_id)

    def record_rate_limited(self, method: str, retry_after: int) -> None:
        self.rate_limited.append(RateLimited(method, self.clock.now(), retry_after))

    # -- set-up and queries for tests -----------------------------------------------------

    def add_user(self, user_id: str, name: str) -> User:
        self.users[user_id] = User(user_id, name)
        return self.users[user_id]

    def add_channel(
        self, channel_id: str, name: str, *, is_private: bool = False, is_member: bool = True
    ) -> Channel:
        """A channel (``D...`` ids are direct messages); ``is_member``: the bot is in it."""
        self.channels[channel_id] = Channel(channel_id, name, is_private, is_member)
        return self.channels[channel_id]

    def messages(self, channel: str) -> list[Message]:
        """The channel's live messages (thread replies included), oldest first."""
        return [m for m in self.channels[channel].messages if not m.deleted]

    def message(self, channel: str, ts: str) -> Message:
        found = self.channels[channel].message(ts)
        if found is None:
            raise KeyError(f"no message {ts} in {channel}")
        return found

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        return self.channels[channel].thread(thread_ts)

    def find_channel(self, ref: str) -> Channel | None:
        """A channel by id, or by name (``#general`` or ``general``), as Slack accepts."""
        name = ref.removeprefix("#")
        return self.channels.get(ref) or next(
            (c for c in self.channels.values() if c.name == name), None
        )

    def ephemerals_for(self, user: str) -> list[Ephemeral]:
        return [e for e in self.ephemerals if e.user == user]

    def take_violations(self) -> list[str]:
        taken, self.violations = self.violations, []
        return taken

    def take_rate_limited(self) -> list[RateLimited]:
        taken, self.rate_limited = self.rate_limited, []
        return taken

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Wait until ``predicate()`` is truthy (checked on every change and every 50 ms)."""
        return await self.notifier.wait_for(predicate, timeout)

    async def settle(self, seconds: float = 0.2) -> None:
        """Let the app run a moment (for asserting that nothing more happens)."""
        await asyncio.sleep(seconds)
