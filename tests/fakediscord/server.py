"""A fake Discord (REST API + gateway) on 127.0.0.1 that the real discord.py client talks to.

Typical use (see ``fixtures.py`` for the pytest fixture that does the patching)::

    fake = FakeDiscord()
    await fake.start()
    fake.patch_discord()                      # Route.BASE and DEFAULT_GATEWAY -> the fake
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.default(),
                       guild_ready_timeout=0.05)   # keep startup fast
    await fake.connect(bot, sync=True)        # bot.start() in the background, tree synced
    inter = await fake.invoke_slash("ping")
    message = await inter.wait_for_message()
    assert message.content == "pong"
    await fake.close()                        # closes the bot too

Requests are checked against Discord's OpenAPI spec (schema failures land in
``fake.violations``) and against Discord's limits and deadlines (refusals land in
``fake.rejections``); both are answered with 4xx like Discord would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import discord
import yarl
from aiohttp import web

from tests.changes import ChangeNotifier

from . import commands as cmd
from .limits import DEFAULT_ATTACHMENT_SIZE_LIMIT, check_message_write, form_error
from .models import (
    BOT_PERMISSIONS,
    MODERATOR_PERMISSIONS,
    FakeChannel,
    FakeClock,
    FakeGuild,
    FakeUser,
    iso_now,
    snowflake,
)
from .records import (
    EPHEMERAL,
    LOADING,
    Callback,
    DiscordError,
    InteractionRecord,
    Mentions,
    MessageRecord,
    MessageWrite,
    RequestRecord,
    UploadedFile,
)
from .spec import OpenAPISpec, load_spec

log = logging.getLogger(__name__)
T = TypeVar("T")

API_PREFIX = "/api/v10"
Handler = Callable[[RequestRecord, dict[str, str]], Awaitable[Any]]

# Interaction types
APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
# Callback types
MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9
# Who gets pinged when a write has no allowed_mentions
WEBHOOK_DEFAULT_PARSE = ("users",)
CHANNEL_DEFAULT_PARSE = ("users", "roles", "everyone")

_UNKNOWN_INTERACTION = (404, 10062, "Unknown interaction")
_INVALID_WEBHOOK_TOKEN = (401, 50027, "Invalid Webhook Token")
_UNKNOWN_WEBHOOK = (404, 10015, "Unknown Webhook")
_UNKNOWN_MESSAGE = (404, 10008, "Unknown Message")
_UNKNOWN_CHANNEL = (404, 10003, "Unknown Channel")


def _json_response(data: Any, status: int = 200) -> web.Response:
    # discord.py only parses JSON when Content-Type is exactly "application/json"
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


def _route_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{([^}]+)\}", template)
    pattern = "".join(f"(?P<{p}>[^/]+)" if i % 2 else re.escape(p) for i, p in enumerate(parts))
    return re.compile(f"^{pattern}$")


class FakeDiscord:
    """A local Discord for end-to-end tests of a discord.py bot.

    The default world is one guild (``fake.guild``) with a text channel ``#general``
    (``fake.channel``) and an age-restricted one ``#nsfw`` (``fake.nsfw_channel``), an
    ordinary member ``fake.user`` and a moderator ``fake.moderator`` (Manage Messages).

    ``response_deadline`` (3 s) and ``token_lifetime`` (15 min) are measured on ``fake.clock``;
    both may be changed on the instance at any time.
    """

    def __init__(
        self,
        *,
        response_deadline: float = 3.0,
        token_lifetime: float = 15 * 60,
        attachment_size_limit: int = DEFAULT_ATTACHMENT_SIZE_LIMIT,
        spec: OpenAPISpec | None = None,
    ) -> None:
        self.response_deadline = response_deadline
        self.token_lifetime = token_lifetime
        self.attachment_size_limit = attachment_size_limit
        self.spec = spec if spec is not None else load_spec()
        self.clock = FakeClock()

        self.application_id = snowflake()
        self.bot_user = FakeUser(
            "pipeline-bot", id=self.application_id, bot=True, permissions=BOT_PERMISSIONS
        )
        self.user = FakeUser("alice", global_name="Alice")
        self.moderator = FakeUser("mod", global_name="Moderator", permissions=MODERATOR_PERMISSIONS)
        self.guild = FakeGuild("Test Guild", members=[self.user, self.moderator])
        self.guild.owner_id = self.moderator.id
        self.channel = self.guild.add_channel("general")
        self.nsfw_channel = self.guild.add_channel("nsfw", nsfw=True)
        self.guilds: list[FakeGuild] = [self.guild]

        # What the bot did
        self.requests: list[RequestRecord] = []
        self.violations: list[str] = []  # request bodies that do not match the OpenAPI spec
        self.rejections: list[
            RequestRecord
        ] = []  # requests answered 4xx (limits, deadlines, unknown routes)
        self.interactions: list[InteractionRecord] = []
        self.messages: dict[int, MessageRecord] = {}
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.hosted_files: dict[int, UploadedFile] = {}
        self.threads_created: list[FakeChannel] = []

        self.notifier = ChangeNotifier()
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._register_routes()
        self._sockets: list[web.WebSocketResponse] = []
        self._sequence = 0
        self._runner: web.AppRunner | None = None
        self._clients: list[tuple[discord.Client, asyncio.Task[None]]] = []
        self._patches: list[tuple[Any, str, Any]] = []
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """What ``discord.http.Route.BASE`` must be."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """What ``DiscordWebSocket.DEFAULT_GATEWAY`` must be."""
        return f"ws://127.0.0.1:{self.port}/gateway/"

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_get("/gateway/", self._gateway)
        app.router.add_get("/attachments/{attachment_id}/{filename}", self._serve_attachment)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._handle_api)
        app.router.add_route("*", "/{tail:.*}", self._handle_other)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]

    def patch_discord(self) -> None:
        """Point ``Route.BASE`` and ``DEFAULT_GATEWAY`` at this fake; :meth:`close` undoes it."""
        self._patch(discord.http.Route, "BASE", self.api_base)
        self._patch(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(self.gateway_url))

    def _patch(self, owner: Any, name: str, value: Any) -> None:
        self._patches.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)

    def unpatch_discord(self) -> None:
        """Restore what :meth:`patch_discord` changed."""
        while self._patches:
            owner, name, old = self._patches.pop()
            setattr(owner, name, old)

    async def close(self) -> None:
        """Close connected clients, the gateway sockets and the server; undo the patches."""
        for client, task in self._clients:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 5)
            if not task.done():
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 5)
        self._clients.clear()
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.unpatch_discord()

    async def connect(
        self,
        client: discord.Client,
        token: str = "fake-token",
        *,
        sync: bool = False,
        timeout: float = 10.0,
    ) -> discord.Client:
        """Run ``client.start(token)`` in the background and wait until it is ready.

        Create the client with a low ``guild_ready_timeout`` (e.g. 0.05), or this waits 2 s
        for guilds. With ``sync=True``, ``client.tree.sync()`` is called once it is ready
        (skip it when the bot syncs in its own ``setup_hook``). :meth:`close` closes the client.
        """
        task = asyncio.create_task(client.start(token), name="fakediscord-client")
        self._clients.append((client, task))

        def ready_or_failed() -> bool:
            if task.done():
                task.result()  # raise what made start() fail
                raise RuntimeError("client.start() returned before the client was ready")
            return client.is_ready()

        await self.notifier.wait_for(ready_or_failed, timeout, "the client to become ready")
        if sync:
            await client.tree.sync()  # type: ignore[attr-defined]
        return client

    # ------------------------------------------------------------------ test-side helpers

    def add_guild(self, name: str, *, channels: tuple[str, ...] = ("general",)) -> FakeGuild:
        """Another guild with text channels; add it before :meth:`connect`."""
        guild = FakeGuild(name, members=[self.user, self.moderator])
        for channel in channels:
            guild.add_channel(channel)
        self.guilds.append(guild)
        return guild

    def add_user(
        self, username: str, *, permissions: int | None = None, guild: FakeGuild | None = None
    ) -> FakeUser:
        """A new member of ``guild`` (default: ``fake.guild``) with this permission bitfield."""
        user = FakeUser(username)
        if permissions is not None:
            user.permissions = permissions
        (guild or self.guild).members.append(user)
        return user

    def attachment(
        self, filename: str, data: bytes, content_type: str | None = None
    ) -> UploadedFile:
        """Host a file as if a user had uploaded it; pass it as an attachment option value."""
        return self._host(UploadedFile(filename, data, content_type))

    def channel_messages(self, channel: FakeChannel | int) -> list[MessageRecord]:
        """Messages in a channel, oldest first (deleted ones included)."""
        channel_id = channel.id if isinstance(channel, FakeChannel) else channel
        return [m for m in self.messages.values() if m.channel_id == channel_id]

    def find_channel(self, channel_id: int) -> FakeChannel | None:
        """The fake channel with this id."""
        for guild in self.guilds:
            for channel in guild.channels:
                if channel.id == channel_id:
                    return channel
        return None

    def take_rejections(self) -> list[RequestRecord]:
        """Return and forget the rejections (for tests that provoke them on purpose)."""
        taken, self.rejections = self.rejections, []
        return taken

    def take_violations(self) -> list[str]:
        """Return and forget the schema violations (for tests that provoke them on purpose)."""
        taken, self.violations = self.violations, []
        return taken

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Wait until ``predicate()`` is truthy (checked on every change and every 50 ms)."""
        return await self.notifier.wait_for(predicate, timeout)

    async def post_message(
        self,
        content: str,
        *,
        author: FakeUser | None = None,
        channel: FakeChannel | None = None,
        files: list[UploadedFile | tuple[str, bytes]] | None = None,
    ) -> MessageRecord:
        """A message posted by a user (default ``fake.user``), dispatched as MESSAGE_CREATE."""
        author = author or self.user
        uploads = []
        for index, f in enumerate(files or []):
            name, data, ctype = (
                (f.filename, f.data, f.content_type) if isinstance(f, UploadedFile) else (*f, None)
            )
            uploads.append(UploadedFile(name, data, ctype, index=index))
        message = self._new_message(
            channel or self.channel,
            {"content": content},
            uploads,
            author=author,
            kind="user",
            default_parse=CHANNEL_DEFAULT_PARSE,
        )
        event = dict(message.data, member=author.member_payload(with_user=False))
        await self.dispatch("MESSAGE_CREATE", event)
        return message

    # ------------------------------------------------------------------ invoking interactions

    async def invoke_slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: FakeUser | None = None,
        guild: FakeGuild | None = None,
        channel: FakeChannel | None = None,
        dm: bool = False,
        attachments: dict[str, UploadedFile | tuple[str, bytes]] | None = None,
        attachment_size_limit: int | None = None,
        app_permissions: int | None = None,
        locale: str = "en-US",
    ) -> InteractionRecord:
        """Dispatch ``/name`` (``"group sub"`` for subcommands) as a CHAT_INPUT interaction.

        Option values are plain Python values: ``str``/``int``/``float``/``bool``, a
        :class:`FakeUser`, a :class:`FakeChannel`, or for attachment options an
        :class:`UploadedFile` (see :meth:`attachment`) or ``(filename, bytes)`` (also accepted
        through ``attachments=``). Types come from the command schema the bot synced.
        """
        values = dict(options or {})
        values.update(attachments or {})
        command_name, *path = name.split()
        resolved: dict[str, Any] = {}
        guild = None if dm else (guild or self.guild)
        schema = self._synced_command(command_name, 1, guild)
        data: dict[str, Any] = {
            "id": schema["id"],
            "name": command_name,
            "type": 1,
            "options": cmd.build_options(schema, path, values, self._resolver(resolved, guild)),
        }
        return await self._dispatch_command(
            schema,
            data,
            resolved,
            user,
            guild,
            channel,
            attachment_size_limit,
            app_permissions,
            locale,
        )

    async def invoke_autocomplete(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        focused: str,
        user: FakeUser | None = None,
        guild: FakeGuild | None = None,
        channel: FakeChannel | None = None,
        timeout: float | None = None,
    ) -> list[dict[str, Any]]:
        """Send an autocomplete interaction for the ``focused`` option; return the bot's choices.

        ``options[focused]`` is the text typed so far. Waits at most ``timeout`` (default: the
        response deadline plus one second) for the answer.
        """
        values = dict(options or {})
        command_name, *path = name.split()
        resolved: dict[str, Any] = {}
        guild = guild or self.guild
        schema = self._synced_command(command_name, 1, guild)
        data = {
            "id": schema["id"],
            "name": command_name,
            "type": 1,
            "options": cmd.build_options(
                schema, path, values, self._resolver(resolved, guild), focused=focused
            ),
        }
        inter = await self._dispatch_interaction(
            AUTOCOMPLETE,
            self._command_data(schema, data, resolved),
            user=user,
            guild=guild,
            channel=channel,
        )
        if timeout is None:
            timeout = self.response_deadline + 1
        await inter.wait_until(lambda i: i.choices is not None, timeout)
        return inter.choices or []

    async def invoke_user_command(
        self,
        name: str,
        target: FakeUser,
        *,
        user: FakeUser | None = None,
        guild: FakeGuild | None = None,
        channel: FakeChannel | None = None,
        attachment_size_limit: int | None = None,
        app_permissions: int | None = None,
    ) -> InteractionRecord:
        """Dispatch the user context-menu command ``name`` on ``target``."""
        guild = guild or self.guild
        resolved: dict[str, Any] = {}
        self._resolver(resolved, guild)(cmd.USER, target)
        return await self._invoke_menu(
            name,
            2,
            target.id,
            resolved,
            user,
            guild,
            channel,
            attachment_size_limit,
            app_permissions,
        )

    async def invoke_message_command(
        self,
        name: str,
        message: MessageRecord,
        *,
        user: FakeUser | None = None,
        guild: FakeGuild | None = None,
        attachment_size_limit: int | None = None,
        app_permissions: int | None = None,
    ) -> InteractionRecord:
        """Dispatch the message context-menu command ``name`` on ``message``."""
        resolved = {"messages": {str(message.id): message.data}}
        return await self._invoke_menu(
            name,
            3,
            message.id,
            resolved,
            user,
            guild or self.guild,
            self.find_channel(message.channel_id),
            attachment_size_limit,
            app_permissions,
        )

    async def _invoke_menu(
        self,
        name: str,
        command_type: int,
        target_id: int,
        resolved: dict[str, Any],
        user: FakeUser | None,
        guild: FakeGuild,
        channel: FakeChannel | None,
        attachment_size_limit: int | None,
        app_permissions: int | None,
    ) -> InteractionRecord:
        """Dispatch the context-menu command ``name`` (type 2: user, 3: message)."""
        schema = self._synced_command(name, command_type, guild)
        data = {
            "id": schema["id"],
            "name": name,
            "type": command_type,
            "target_id": str(target_id),
        }
        return await self._dispatch_command(
            schema,
            data,
            resolved,
            user,
            guild,
            channel,
            attachment_size_limit,
            app_permissions,
            "en-US",
        )

    async def click(
        self,
        message: MessageRecord,
        custom_id: str,
        *,
        user: FakeUser | None = None,
        values: list[str] | None = None,
    ) -> InteractionRecord:
        """Press the button (or pick ``values`` in the select menu) ``custom_id`` on ``message``."""
        component = message.component(custom_id)
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = values
        channel = self.find_channel(message.channel_id)
        guild = self._guild_of(channel) if channel else None
        return await self._dispatch_interaction(
            MESSAGE_COMPONENT, data, user=user, guild=guild, channel=channel, message=message
        )

    async def submit_modal(
        self,
        opened: InteractionRecord,
        values: dict[str, str],
        *,
        user: FakeUser | None = None,
    ) -> InteractionRecord:
        """Fill in and submit the modal the bot answered ``opened`` with (callback type 9):
        ``values`` maps each text input's ``custom_id`` to its text. Like Discord's client,
        refuses values outside the input's lengths and a missing required one."""
        modal = next((cb.data for cb in opened.callbacks if cb.type == MODAL), None)
        if modal is None:
            raise ValueError(f"{opened!r} was not answered with a modal")
        rows = []
        for component in modal["components"]:
            # an action row (type 1) or a label (type 18) around one text input
            inner = component["components"][0] if component["type"] == 1 else component["component"]
            if inner["type"] != 4:
                raise ValueError(f"the fake only fills text inputs, not type {inner['type']}")
            value = values.get(inner["custom_id"], "")
            if inner.get("required", True) and not value:
                raise ValueError(f"{inner['custom_id']!r} is required")
            if not inner.get("min_length", 0) <= len(value) <= inner.get("max_length", 4000):
                raise ValueError(f"{inner['custom_id']!r}: {len(value)} characters is out of range")
            filled = {"type": 4, "custom_id": inner["custom_id"], "value": value}
            rows.append(
                {"type": 1, "components": [filled]}
                if component["type"] == 1
                else {"type": 18, "component": filled}
            )
        channel = self.find_channel(int(opened.payload["channel_id"]))
        guild = self._guild_of(channel) if channel else None
        return await self._dispatch_interaction(
            MODAL_SUBMIT,
            {"custom_id": modal["custom_id"], "components": rows},
            user=user or self._user_of(opened),
            guild=guild,
            channel=channel,
            message=opened.original if opened.type == MESSAGE_COMPONENT else None,
        )

    def _user_of(self, inter: InteractionRecord) -> FakeUser:
        user_id = int((inter.payload.get("member") or inter.payload)["user"]["id"])
        members = [m for g in self.guilds for m in g.members] + [self.user, self.moderator]
        return next(m for m in members if m.id == user_id)

    # ------------------------------------------------------------------ interaction internals

    def _synced_command(
        self, name: str, command_type: int, guild: FakeGuild | None
    ) -> dict[str, Any]:
        found = None
        if guild is not None:
            found = cmd.find_command(self.guild_commands.get(guild.id, []), name, command_type)
        found = found or cmd.find_command(self.global_commands, name, command_type)
        if found is None:
            synced = [c["name"] for c in self.global_commands] + [
                c["name"] for cs in self.guild_commands.values() for c in cs
            ]
            raise LookupError(
                f"no synced command {name!r} (type {command_type}); synced: {synced}. "
                "Has the bot called tree.sync()? (fake.connect(bot, sync=True) does)"
            )
        return found

    @staticmethod
    def _command_data(
        schema: dict[str, Any], data: dict[str, Any], resolved: dict[str, Any]
    ) -> dict[str, Any]:
        if resolved:
            data["resolved"] = resolved
        if schema.get("guild_id"):
            data["guild_id"] = schema["guild_id"]
        return data

    async def _dispatch_command(
        self,
        schema: dict[str, Any],
        data: dict[str, Any],
        resolved: dict[str, Any],
        user: FakeUser | None,
        guild: FakeGuild | None,
        channel: FakeChannel | None,
        attachment_size_limit: int | None,
        app_permissions: int | None,
        locale: str,
    ) -> InteractionRecord:
        return await self._dispatch_interaction(
            APPLICATION_COMMAND,
            self._command_data(schema, data, resolved),
            user=user,
            guild=guild,
            channel=channel,
            attachment_size_limit=attachment_size_limit,
            app_permissions=app_permissions,
            locale=locale,
        )

    def _resolver(self, resolved: dict[str, Any], guild: FakeGuild | None) -> cmd.Resolve:
        """A function turning option values into wire values, filling ``resolved`` on the way."""

        def resolve(option_type: int, value: Any) -> Any:
            if option_type == cmd.STRING:
                return str(value)
            if option_type == cmd.INTEGER:
                return int(value)
            if option_type == cmd.NUMBER:
                return float(value)
            if option_type == cmd.BOOLEAN:
                return bool(value)
            if option_type in (cmd.USER, cmd.MENTIONABLE) and isinstance(value, FakeUser):
                resolved.setdefault("users", {})[str(value.id)] = value.payload()
                if guild is not None:
                    member = value.member_payload(with_user=False, with_permissions=True)
                    resolved.setdefault("members", {})[str(value.id)] = member
                return str(value.id)
            if option_type == cmd.CHANNEL and isinstance(value, FakeChannel):
                channel = value.payload()
                channel["permissions"] = str(BOT_PERMISSIONS)
                resolved.setdefault("channels", {})[str(value.id)] = channel
                return str(value.id)
            if option_type == cmd.ATTACHMENT:
                if isinstance(value, tuple):
                    value = self.attachment(*value)
                if not isinstance(value, UploadedFile):
                    raise TypeError(
                        "attachment options take fake.attachment(...) or (filename, bytes), "
                        f"not {value!r}"
                    )
                if value.attachment_id is None:
                    self._host(value)
                resolved.setdefault("attachments", {})[str(value.attachment_id)] = (
                    self._attachment_payload(value)
                )
                return str(value.attachment_id)
            return str(value)

        return resolve

    def _guild_of(self, channel: FakeChannel) -> FakeGuild | None:
        for guild in self.guilds:
            if guild.id == channel.guild_id:
                return guild
        return None

    async def _dispatch_interaction(
        self,
        interaction_type: int,
        data: dict[str, Any],
        *,
        user: FakeUser | None = None,
        guild: FakeGuild | None = None,
        channel: FakeChannel | None = None,
        message: MessageRecord | None = None,
        attachment_size_limit: int | None = None,
        app_permissions: int | None = None,
        locale: str = "en-US",
    ) -> InteractionRecord:
        user = user or self.user
        size_limit = attachment_size_limit or self.attachment_size_limit
        interaction_id = snowflake()
        token = "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48)
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": interaction_type,
            "token": token,
            "version": 1,
            "data": data,
            "app_permissions": str(BOT_PERMISSIONS if app_permissions is None else app_permissions),
            "entitlements": [],
            "locale": locale,
            "attachment_size_limit": size_limit,
        }
        if guild is not None:
            channel = channel or guild.channels[0]
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": guild.locale, "features": []},
                guild_locale=guild.locale,
                channel_id=str(channel.id),
                channel=dict(channel.payload(), permissions=payload["app_permissions"]),
                member=user.member_payload(with_permissions=True),
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        else:  # a DM with the bot
            dm_channel_id = channel.id if channel is not None else user.id + 1
            payload.update(
                channel_id=str(dm_channel_id),
                channel={
                    "id": str(dm_channel_id),
                    "type": 1,
                    "recipients": [user.payload()],
                    "flags": 0,
                },
                user=user.payload(),
                authorizing_integration_owners={"0": str(user.id)},
                context=1,
            )
        if message is not None:
            payload["message"] = message.data

        inter = InteractionRecord(
            id=interaction_id,
            token=token,
            type=interaction_type,
            payload=payload,
            dispatched_at=self.clock.now(),
            response_deadline=self.response_deadline,
            attachment_size_limit=size_limit,
            notifier=self.notifier,
            clock=self.clock,
        )
        if message is not None:
            inter.original = message  # a component interaction's "@original" is the clicked message
        self.interactions.append(inter)
        await self.dispatch("INTERACTION_CREATE", payload)
        return inter

    # ------------------------------------------------------------------ gateway

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH event to every identified gateway connection."""
        if not self._sockets:
            raise RuntimeError(
                f"cannot dispatch {event}: no client is connected (use fake.connect(bot))"
            )
        for ws in list(self._sockets):
            await self._send_dispatch(ws, event, data)

    async def _send_dispatch(
        self, ws: web.WebSocketResponse, event: str, data: dict[str, Any]
    ) -> None:
        self._sequence += 1
        await ws.send_str(json.dumps({"op": 0, "t": event, "s": self._sequence, "d": data}))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                await self._on_gateway_op(ws, frame["op"], frame.get("d"))
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
        return ws

    async def _on_gateway_op(self, ws: web.WebSocketResponse, op: int, data: Any) -> None:
        if op == 1:  # HEARTBEAT
            await ws.send_str(json.dumps({"op": 11}))
        elif op == 2:  # IDENTIFY
            await self._send_dispatch(ws, "READY", self._ready_payload(data))
            for guild in self.guilds:
                await self._send_dispatch(ws, "GUILD_CREATE", guild.payload(self.bot_user))
            self._sockets.append(ws)
            self.notifier.notify()
        elif op == 6:  # RESUME: not supported, make the client identify again
            await ws.send_str(json.dumps({"op": 9, "d": False}))
        elif op == 8:  # REQUEST_GUILD_MEMBERS
            guild = next(g for g in self.guilds if str(g.id) == str(data["guild_id"]))
            members = guild.payload(self.bot_user)["members"]
            chunk = {
                "guild_id": str(guild.id),
                "members": members,
                "chunk_index": 0,
                "chunk_count": 1,
            }
            if data.get("nonce"):
                chunk["nonce"] = data["nonce"]
            await self._send_dispatch(ws, "GUILD_MEMBERS_CHUNK", chunk)
        # presence (3) and voice (4) updates are ignored

    def _ready_payload(self, identify: dict[str, Any]) -> dict[str, Any]:
        user = dict(self.bot_user.payload(), verified=True, mfa_enabled=False, flags=0)
        return {
            "v": 10,
            "user": user,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in self.guilds],
            "session_id": secrets.token_hex(16),
            "resume_gateway_url": self.gateway_url,
            "shard": identify.get("shard", [0, 1]),
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "geo_ordered_rtc_regions": [],
            "guild_join_requests": [],
            "user_settings": {},
        }

    # ------------------------------------------------------------------ HTTP plumbing

    async def _handle_other(self, request: web.Request) -> web.Response:
        return _json_response({"code": 0, "message": "404: Not Found"}, 404)

    async def _serve_attachment(self, request: web.Request) -> web.Response:
        hosted = self.hosted_files.get(int(request.match_info["attachment_id"]))
        if hosted is None:
            return web.Response(status=404)
        return web.Response(
            body=hosted.data, content_type=hosted.content_type or "application/octet-stream"
        )

    async def _read_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        if not request.can_read_body:
            return None, []
        content_type = request.content_type
        if content_type == "multipart/form-data":
            body: Any = None
            files: list[UploadedFile] = []
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, aiohttp.BodyPartReader):
                    continue
                raw = await part.read()
                if part.name == "payload_json":
                    body = json.loads(raw)
                elif part.name and (m := re.fullmatch(r"files\[(\d+)\]|file(\d*)", part.name)):
                    index = int(m.group(1) or m.group(2) or 0)
                    ctype = part.headers.get(aiohttp.hdrs.CONTENT_TYPE)
                    files.append(
                        UploadedFile(
                            part.filename or f"file{index}", bytes(raw), ctype, index=index
                        )
                    )
            return body, files
        raw = await request.read()
        if not raw:
            return None, []
        if content_type == "application/json":
            return json.loads(raw), []
        return raw.decode(errors="replace"), []

    async def _handle_api(self, request: web.Request) -> web.Response:
        path = request.path[len(API_PREFIX) :]
        body, files = await self._read_body(request)
        record = RequestRecord(
            request.method, path, dict(request.query), body, files, route=self.spec.match(path)
        )
        self.requests.append(record)
        try:
            handler, params = self._find_handler(request.method, path)
            self._check_tokens(record, params)
            self._check_limits(record, params)
            self._check_schema(record)
            result = await handler(record, params)
        except DiscordError as error:
            record.status, record.error = error.status, error.payload()
            self.rejections.append(record)
            log.info(
                "fakediscord: %s %s -> %s %s", record.method, path, error.status, error.payload()
            )
            response = _json_response(error.payload(), error.status)
        else:
            if result is None:
                record.status = 204
                response = web.Response(status=204)
            else:
                record.status = 200
                response = _json_response(result)
        self.notifier.notify()
        return response

    def _find_handler(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        for route_method, regex, handler in self._routes:
            if route_method == method and (m := regex.match(path)):
                return handler, m.groupdict()
        raise DiscordError(404, 0, f"404: Not Found (the fake does not serve {method} {path})")

    def _check_schema(self, record: RequestRecord) -> None:
        if record.route is None or record.json is None:
            return
        problems = self.spec.validate(record.route, record.method, record.json)
        if problems:
            self.violations.extend(problems)
            raise DiscordError(
                400, 50035, "Invalid Form Body (fakediscord schema check): " + "; ".join(problems)
            )

    # ------------------------------------------------------------------ rules Discord enforces

    def _interaction_by_token(self, token: str) -> InteractionRecord | None:
        for inter in reversed(self.interactions):
            if inter.token == token:
                return inter
        return None

    def _check_tokens(self, record: RequestRecord, params: dict[str, str]) -> None:
        """3 s for the first response, 15 min for webhook calls; token must exist."""
        if "interaction_token" in params:
            inter = self._interaction_by_token(params["interaction_token"])
            if inter is None or str(inter.id) != params["interaction_id"]:
                raise DiscordError(*_UNKNOWN_INTERACTION)
            if inter.responded:
                raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
            if inter.age > inter.response_deadline:
                body = record.json or {}
                inter.late_callbacks.append(
                    Callback(body.get("type", 0), body.get("data"), inter.age, record.files)
                )
                raise DiscordError(*_UNKNOWN_INTERACTION)
        elif "webhook_token" in params:
            inter = self._interaction_by_token(params["webhook_token"])
            if inter is None or params["webhook_id"] != str(self.application_id):
                raise DiscordError(*_UNKNOWN_WEBHOOK)
            if inter.age > self.token_lifetime:
                raise DiscordError(*_INVALID_WEBHOOK_TOKEN)
            if not inter.responded:
                if inter.age > inter.response_deadline:
                    raise DiscordError(*_INVALID_WEBHOOK_TOKEN)  # never acknowledged: token is dead
                raise DiscordError(*_UNKNOWN_WEBHOOK)  # not acknowledged yet

    def _check_limits(self, record: RequestRecord, params: dict[str, str]) -> None:
        """Content, embed and file limits on anything that writes a message."""
        if record.method not in ("POST", "PATCH") or (
            not isinstance(record.json, dict) and not record.files
        ):
            return
        body = record.json if isinstance(record.json, dict) else {}
        size_limit = self.attachment_size_limit
        if "interaction_token" in params:
            if body.get("type") not in (MESSAGE, UPDATE_MESSAGE):
                return
            body = body.get("data") or {}
            inter = self._interaction_by_token(params["interaction_token"])
            size_limit = inter.attachment_size_limit if inter else size_limit
        elif "webhook_token" in params:
            inter = self._interaction_by_token(params["webhook_token"])
            size_limit = inter.attachment_size_limit if inter else size_limit
        elif not re.fullmatch(r"/channels/[^/]+/messages(/[^/]+)?", record.path):
            return
        check_message_write(body, record.files, size_limit)

    # ------------------------------------------------------------------ messages

    def _host(self, f: UploadedFile) -> UploadedFile:
        f.attachment_id = snowflake()
        f.url = f"{self.base_url}/attachments/{f.attachment_id}/{f.filename}"
        self.hosted_files[f.attachment_id] = f
        return f

    @staticmethod
    def _attachment_payload(f: UploadedFile, description: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(f.attachment_id),
            "filename": f.filename,
            "size": f.size,
            "url": f.url,
            "proxy_url": f.url,
        }
        if f.content_type:
            data["content_type"] = f.content_type
        if description:
            data["description"] = description
        return data

    def _apply_attachments(
        self, message: MessageRecord, body: dict[str, Any], files: list[UploadedFile]
    ) -> None:
        """Set attachments from ``body["attachments"]``: kept ids, indexes of new ``files[n]``."""
        items = body.get("attachments")
        if items is None:
            if not files:
                return
            items = [{"id": a["id"]} for a in message.attachments] + [
                {"id": f.index} for f in files
            ]
        kept = {str(f.attachment_id): f for f in message.files}
        new_files = {str(f.index): f for f in files}
        attached: list[tuple[UploadedFile, str | None]] = []
        for i, item in enumerate(items):
            key = str(item["id"])
            if key in kept:
                attached.append((kept[key], item.get("description")))
            elif key in new_files:
                f = new_files.pop(key)
                if item.get("filename"):
                    f.filename = item["filename"]
                attached.append((self._host(f), item.get("description")))
            else:
                raise form_error(
                    ["attachments", i], "ATTACHMENT_NOT_FOUND", f"Unknown attachment {key}"
                )
        for f in new_files.values():  # uploaded without an attachments entry: still attached
            attached.append((self._host(f), None))
        message.files = [f for f, _ in attached]
        message.data["attachments"] = [self._attachment_payload(f, d) for f, d in attached]

    def _new_message(
        self,
        channel: FakeChannel | int,
        body: dict[str, Any],
        files: list[UploadedFile],
        *,
        author: FakeUser,
        kind: str,
        default_parse: tuple[str, ...],
        interaction: InteractionRecord | None = None,
        flags: int = 0,
        message_type: int = 0,
    ) -> MessageRecord:
        channel_id = channel.id if isinstance(channel, FakeChannel) else channel
        fake_channel = self.find_channel(channel_id)
        message_id = snowflake()
        data: dict[str, Any] = {
            "id": str(message_id),
            "type": message_type,
            "channel_id": str(channel_id),
            "author": author.payload(),
            "content": "",
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "flags": flags,
        }
        if fake_channel is not None and fake_channel.guild_id is not None:
            data["guild_id"] = str(fake_channel.guild_id)
        if kind in ("original", "followup"):
            data["webhook_id"] = str(self.application_id)
            data["application_id"] = str(self.application_id)
        if interaction is not None:  # who and what made an interaction's message
            payload = interaction.payload
            user = payload["member"]["user"] if "member" in payload else payload["user"]
            data["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": user,
                "authorizing_integration_owners": payload["authorizing_integration_owners"],
            }
        message = MessageRecord(message_id, channel_id, data, kind, interaction=interaction)
        self._write(message, body, files, "create", default_parse)
        self.messages[message_id] = message
        return message

    def _write(
        self,
        message: MessageRecord,
        body: dict[str, Any],
        files: list[UploadedFile],
        kind: str,
        default_parse: tuple[str, ...],
    ) -> None:
        """Apply a create/edit body to the message's state and record the write."""
        data = message.data
        self._apply_attachments(message, body, files)  # first: it may refuse the write
        # Edits notify nobody, except the one that fills a deferred "thinking" message.
        notifies = kind == "create" or bool(data["flags"] & LOADING)
        for key in ("content", "embeds", "components"):
            if key in body:
                data[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
        data["embeds"] = [dict({"type": "rich"}, **e) for e in data["embeds"]]
        if "flags" in body and body["flags"] is not None:
            # only some flags can be changed by a write; ephemeral is fixed at creation
            keep = data["flags"] & EPHEMERAL
            data["flags"] = (body["flags"] & ~EPHEMERAL) | keep
        if kind == "edit":
            data["flags"] &= ~LOADING
            data["edited_timestamp"] = iso_now()
        mentions = Mentions()
        if notifies:
            mentions = Mentions.compute(
                body.get("content"), body.get("allowed_mentions"), default_parse
            )
        data["mention_everyone"] = data["mention_everyone"] or mentions.everyone
        message.writes.append(MessageWrite(kind, body, files, mentions, self.clock.now()))

    # ------------------------------------------------------------------ REST routes

    def _register_routes(self) -> None:
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway),
            ("GET", "/users/@me", self._get_me),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/applications/@me", self._get_application),
            ("GET", "/applications/{application_id}/commands", self._get_commands),
            ("PUT", "/applications/{application_id}/commands", self._put_commands),
            ("POST", "/applications/{application_id}/commands", self._post_command),
            (
                "GET",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self._get_commands,
            ),
            (
                "PUT",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self._put_commands,
            ),
            (
                "POST",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self._post_command,
            ),
            (
                "POST",
                "/interactions/{interaction_id}/{interaction_token}/callback",
                self._post_callback,
            ),
            ("POST", "/webhooks/{webhook_id}/{webhook_token}", self._post_followup),
            (
                "GET",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                self._get_webhook_message,
            ),
            (
                "PATCH",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                self._patch_webhook_message,
            ),
            (
                "DELETE",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                self._delete_webhook_message,
            ),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("GET", "/channels/{channel_id}/messages", self._get_channel_messages),
            ("POST", "/channels/{channel_id}/messages", self._post_channel_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_channel_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._patch_channel_message),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}",
                self._delete_channel_message,
            ),
            (
                "PUT",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self._put_reaction,
            ),
            ("POST", "/channels/{channel_id}/typing", self._no_content),
            (
                "POST",
                "/channels/{channel_id}/messages/{message_id}/threads",
                self._post_message_thread,
            ),
            ("POST", "/channels/{channel_id}/threads", self._post_thread),
            ("GET", "/channels/{channel_id}/messages/pins", self._get_pins),
            ("PUT", "/channels/{channel_id}/messages/pins/{message_id}", self._put_pin),
            ("DELETE", "/channels/{channel_id}/messages/pins/{message_id}", self._delete_pin),
            ("PUT", "/channels/{channel_id}/pins/{message_id}", self._put_pin),
            ("DELETE", "/channels/{channel_id}/pins/{message_id}", self._delete_pin),
        ]
        self._routes = [
            (method, _route_regex(template), handler) for method, template, handler in routes
        ]

    async def _no_content(self, record: RequestRecord, params: dict[str, str]) -> None:
        return None

    async def _get_gateway(self, record: RequestRecord, params: dict[str, str]) -> dict[str, Any]:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return {"url": self.gateway_url, "shards": 1, "session_start_limit": limit}

    async def _get_me(self, record: RequestRecord, params: dict[str, str]) -> dict[str, Any]:
        return dict(self.bot_user.payload(), verified=True, mfa_enabled=False, flags=0)

    async def _get_application(
        self, record: RequestRecord, params: dict[str, str]
    ) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": self.bot_user.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": self.moderator.payload(),
            "team": None,
            "bot": self.bot_user.payload(),
            "rpc_origins": [],
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
        }

    def _command_list(self, params: dict[str, str]) -> list[dict[str, Any]]:
        if params["application_id"] != str(self.application_id):
            raise DiscordError(
                403, 20012, "You are not authorized to perform this action on this application"
            )
        if "guild_id" in params:
            return self.guild_commands.setdefault(int(params["guild_id"]), [])
        return self.global_commands

    def _stored_command(
        self, body: dict[str, Any], params: dict[str, str], old: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """A command as Discord returns it (an existing command keeps its id)."""
        previous = cmd.find_command(old, body["name"], body.get("type", 1))
        command = dict(
            body,
            id=previous["id"] if previous else str(snowflake()),
            application_id=str(self.application_id),
            version=str(snowflake()),
            type=body.get("type", 1),
            description=body.get("description", ""),
        )
        command.setdefault("default_member_permissions", None)
        command.setdefault("nsfw", False)
        if "guild_id" in params:
            command["guild_id"] = params["guild_id"]
        return command

    async def _get_commands(
        self, record: RequestRecord, params: dict[str, str]
    ) -> list[dict[str, Any]]:
        return self._command_list(params)

    async def _put_commands(
        self, record: RequestRecord, params: dict[str, str]
    ) -> list[dict[str, Any]]:
        old = self._command_list(params)
        new = [self._stored_command(body, params, old) for body in record.json or []]
        old[:] = new
        return new

    async def _post_command(self, record: RequestRecord, params: dict[str, str]) -> dict[str, Any]:
        commands = self._command_list(params)
        command = self._stored_command(record.json, params, commands)
        commands[:] = [c for c in commands if c["id"] != command["id"]] + [command]
        return command

    async def _post_callback(
        self, record: RequestRecord, params: dict[str, str]
    ) -> dict[str, Any] | None:
        inter = self._interaction_by_token(params["interaction_token"])
        assert inter is not None  # _check_tokens made sure
        body = record.json or {}
        callback_type = body.get("type")
        data = body.get("data")
        allowed = {
            APPLICATION_COMMAND: (MESSAGE, DEFERRED_MESSAGE, MODAL),
            MESSAGE_COMPONENT: (MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL),
            AUTOCOMPLETE: (AUTOCOMPLETE_RESULT,),
        }.get(inter.type, (MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE))
        if callback_type not in allowed:
            message = (
                f"Callback type {callback_type} is not valid for interaction type {inter.type}"
            )
            raise form_error(["type"], "INTERACTION_CALLBACK_TYPE_INVALID", message)
        callback = Callback(callback_type, data, inter.age, record.files)

        message: MessageRecord | None = None
        data = data or {}
        if callback_type in (MESSAGE, DEFERRED_MESSAGE):
            flags = (data.get("flags") or 0) & EPHEMERAL
            if callback_type == DEFERRED_MESSAGE:
                flags |= LOADING
                data, files = {}, []
            else:
                files = record.files
            message = self._new_message(
                int(inter.payload["channel_id"]),
                data,
                files,
                author=self.bot_user,
                kind="original",
                default_parse=WEBHOOK_DEFAULT_PARSE,
                interaction=inter,
                flags=flags,
                message_type=20 if inter.type == APPLICATION_COMMAND else 19,
            )
            inter.original = message
        elif callback_type == UPDATE_MESSAGE and inter.original is not None:
            message = inter.original
            self._write(message, data, record.files, "edit", WEBHOOK_DEFAULT_PARSE)
        inter.callbacks.append(callback)  # only now: the message write above may be refused

        if "with_response" not in record.query:
            return None
        result: dict[str, Any] = {
            "interaction": {
                "id": str(inter.id),
                "type": inter.type,
                "response_message_loading": callback_type == DEFERRED_MESSAGE,
                "response_message_ephemeral": bool(message and message.ephemeral),
            },
            "resource": {"type": callback_type},
        }
        if message is not None:
            result["interaction"]["response_message_id"] = str(message.id)
            result["resource"]["message"] = message.data
        return result

    def _webhook_interaction(self, params: dict[str, str]) -> InteractionRecord:
        inter = self._interaction_by_token(params["webhook_token"])
        assert inter is not None  # _check_tokens made sure
        return inter

    def _webhook_message(self, params: dict[str, str]) -> MessageRecord:
        inter = self._webhook_interaction(params)
        if params["message_id"] == "@original":
            message = inter.original
        else:
            message = next((m for m in inter.messages if str(m.id) == params["message_id"]), None)
        if message is None or message.deleted:
            raise DiscordError(*_UNKNOWN_MESSAGE)
        return message

    async def _post_followup(
        self, record: RequestRecord, params: dict[str, str]
    ) -> dict[str, Any] | None:
        inter = self._webhook_interaction(params)
        body = record.json or {}
        message = self._new_message(
            int(inter.payload["channel_id"]),
            body,
            record.files,
            author=self.bot_user,
            kind="followup",
            default_parse=WEBHOOK_DEFAULT_PARSE,
            interaction=inter,
            flags=(body.get("flags") or 0) & EPHEMERAL,
        )
        inter.followups.append(message)
        return message.data if record.query.get("wait") in ("true", "True", "1") else None

    async def _get_webhook_message(
        self, record: RequestRecord, params: dict[str, str]
    ) -> dict[str, Any]:
        return self._webhook_message(params).data

    async def _patch_webhook_message(
        self, record: RequestRecord, params: dict[str, str]
    ) -> dict[str, Any]:
        message = self._webhook_message(params)
        self._write(message, record.json or {}, record.files, "edit", WEBHOOK_DEFAULT_PARSE)
        return message.data

    async def _delete_webhook_message(self, record: RequestRecord, params: dict[str, str]) -> None:
        self._webhook_message(params).deleted = True

    def _channel(self, params: dict[str, str]) -> FakeChannel:
        channel = self.find_channel(int(params["channel_id"]))
        if channel is None:
            raise DiscordError(*_UNKNOWN_CHANNEL)
        return channel

    def _channel_message(self, params: dict[str, str]) -> MessageRecord:
        channel = self._channel(params)
        message = self.messages.get(int(params["message_id"]))
        if message is None or message.deleted or message.channel_id != channel.id:
            raise DiscordError(*_UNKNOWN_MESSAGE)
        if message.ephemeral:  # ephemeral messages only exist for their interaction's webhook
            raise DiscordError(*_UNKNOWN_MESSAGE)
        return message

    async def _get_channel(self, record: RequestRecord, params: dict[str, str]) -> dict[str, Any]:
        return self._channel(params).payload()

    async def _get_channel_messages(
        self, record: RequestRecord, params: dict[str, str]
    ) -> list[dict[str, Any]]:
        channel = self._channel(params)
        limit = int(record.query.get("limit", 50))
        live = [m.data for m in self.channel_messages(channel) if not m.deleted and not m.ephemeral]
        return list(reversed(live))[:limit]

    async def _post_channel_message(
        self, record: RequestRecord, params: dict[str, str]
    ) -> dict[str, Any]:
        channel = self._channel(params)
        allowed = discord.Permissions(
            BOT_PERMISSIONS if channel.bot_permissions is None else channel.bot_permissions
        )
        if not (allowed.view_channel and allowed.send_messages):
            raise DiscordError(403, 50013, "Missing Permissions")
        message = self._new_message(
            channel,
            record.json or {},
            record.files,
            author=self.bot_user,
            kind="channel",
            default_parse=CHANNEL_DEFAULT_PARSE,
        )
        return message.data

    async def _get_channel_message(
        self, record: RequestRecord, params: dict[str, str]
    ) -> dict[str, Any]:
        return self._channel_message(params).data

    async def _patch_channel_message(
        self, record: RequestRecord, params: dict[str, str]
    ) -> dict[str, Any]:
        message = self._channel_message(params)
        if message.data["author"]["id"] != str(self.bot_user.id):
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        self._write(message, record.json or {}, record.files, "edit", CHANNEL_DEFAULT_PARSE)
        return message.data

    async def _delete_channel_message(self, record: RequestRecord, params: dict[str, str]) -> None:
        self._channel_message(params).deleted = True

    async def _put_reaction(self, record: RequestRecord, params: dict[str, str]) -> None:
        self._channel_message(params).reactions.append(params["emoji"])

    # -- threads and pins

    async def _post_message_thread(
        self, record: RequestRecord, params: dict[str, str]
    ) -> dict[str, Any]:
        """A public thread on a message: its id is the message's id, as on Discord."""
        message = self._channel_message(params)
        if message.data.get("thread"):
            raise DiscordError(400, 160004, "A thread has already been created for this message")
        thread = self._open_thread(params, record.json or {}, 11, thread_id=message.id)
        message.data["thread"] = thread.payload()
        return thread.payload()

    async def _post_thread(self, record: RequestRecord, params: dict[str, str]) -> dict[str, Any]:
        body = record.json or {}
        return self._open_thread(params, body, int(body.get("type") or 12)).payload()

    def _open_thread(
        self,
        params: dict[str, str],
        body: dict[str, Any],
        kind: int,
        thread_id: int | None = None,
    ) -> FakeChannel:
        parent = self._channel(params)
        if parent.is_thread:
            raise DiscordError(400, 50024, "Cannot execute action on this channel type")
        allowed = discord.Permissions(
            BOT_PERMISSIONS if parent.bot_permissions is None else parent.bot_permissions
        )
        if not (allowed.view_channel and allowed.create_public_threads):
            raise DiscordError(403, 50013, "Missing Permissions")
        guild = self._guild_of(parent)
        assert guild is not None
        thread = FakeChannel(
            str(body["name"]),
            guild_id=guild.id,
            nsfw=parent.nsfw,
            type=kind,
            parent_id=parent.id,
            owner_id=self.bot_user.id,
            bot_permissions=parent.bot_permissions,
            **({"id": thread_id} if thread_id else {}),
        )
        guild.channels.append(thread)
        self.threads_created.append(thread)
        return thread

    def _pinned(self, params: dict[str, str]) -> MessageRecord:
        message = self._channel_message(params)
        channel = self._channel(params)
        allowed = discord.Permissions(
            BOT_PERMISSIONS if channel.bot_permissions is None else channel.bot_permissions
        )
        if not (allowed.pin_messages or allowed.manage_messages):
            raise DiscordError(403, 50013, "Missing Permissions")
        return message

    async def _put_pin(self, record: RequestRecord, params: dict[str, str]) -> None:
        self._pinned(params).data["pinned"] = True

    async def _delete_pin(self, record: RequestRecord, params: dict[str, str]) -> None:
        self._pinned(params).data["pinned"] = False

    async def _get_pins(self, record: RequestRecord, params: dict[str, str]) -> dict[str, Any]:
        pinned = [m for m in self.channel_messages(self._channel(params)) if m.data["pinned"]]
        items = [{"pinned_at": iso_now(), "message": m.data} for m in reversed(pinned)]
        return {"items": [i for i in items if not i["message"].get("deleted")], "has_more": False}
