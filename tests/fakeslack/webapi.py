"""The Web API methods (``POST /api/<method>``) as slack_sdk's AsyncWebClient calls them.

Arguments come as a query string, a form body or a JSON body (slack_sdk uses JSON for the
methods with blocks or views); the token as ``Authorization: Bearer``. Each method checks the
token, its scope, its required arguments and every payload, and answers ``{"ok": false,
"error": ...}`` as Slack does; the refusal is recorded in ``fake.violations`` too.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .models import Channel, Ephemeral, Message, SlackError, UploadedFile, View, new_id
from .validation import check_blocks, check_text, check_view, mass_mentions

if TYPE_CHECKING:
    from .server import FakeSlack

Args = dict[str, Any]
Method = Callable[[Args], Awaitable[dict[str, Any]]]
_JSON_ARGS = ("blocks", "attachments", "view", "files")


def _required(args: Args, *names: str) -> None:
    missing = [n for n in names if args.get(n) in (None, "")]
    if missing:
        raise SlackError("invalid_arguments", f"missing required argument(s): {missing}")


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


class WebApi:
    """The method table and its handlers; state lives on the :class:`FakeSlack`."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.calls: list[tuple[str, Args]] = []  # every call, refused ones too
        #: The client's TCP connections (their ports) that carried calls: one per call
        #: when a client opens a new connection (and, on slack.com, a TLS handshake) each time.
        self.connections: set[Any] = set()
        self._windows: dict[str, deque[float]] = {}
        # method -> (handler, scope, token kind)
        self.methods: dict[str, tuple[Method, str | None, str]] = {
            "auth.test": (self.auth_test, None, "bot"),
            "apps.connections.open": (self.connections_open, "connections:write", "app"),
            "chat.postMessage": (self.post_message, "chat:write", "bot"),
            "chat.update": (self.update, "chat:write", "bot"),
            "chat.postEphemeral": (self.post_ephemeral, "chat:write", "bot"),
            "chat.delete": (self.delete, "chat:write", "bot"),
            "views.open": (self.views_open, None, "bot"),
            "views.update": (self.views_update, None, "bot"),
            "files.getUploadURLExternal": (self.upload_url, "files:write", "bot"),
            "files.completeUploadExternal": (self.complete_upload, "files:write", "bot"),
            "conversations.info": (self.conversation_info, "channels:read", "bot"),
            "users.info": (self.user_info, "users:read", "bot"),
        }

    # -- HTTP ---------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        if request.transport is not None:
            self.connections.add(request.transport.get_extra_info("peername"))
        args: Args = {}
        try:
            args = await self._arguments(request)
            self.calls.append((name, args))
            if name not in self.methods:
                raise SlackError("unknown_method", name, status=404)
            handler, scope, kind = self.methods[name]
            self._authenticate(request, args, scope, kind)
            self._rate_limit(name)
            result = await handler(args)
        except SlackError as e:
            return self._refuse(name, args, e)
        except (AttributeError, KeyError, TypeError, ValueError) as e:  # malformed arguments
            return self._refuse(name, args, SlackError("invalid_arguments", repr(e)))
        self.fake.notifier.notify()
        return web.json_response({"ok": True, **result})

    def _refuse(self, name: str, args: Args, e: SlackError) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error": e.error}
        headers = {}
        if e.status == 429:
            headers["Retry-After"] = e.detail
        else:
            if e.detail:
                body["response_metadata"] = {"messages": [f"[ERROR] {e.detail}"]}
            shown = {k: v for k, v in args.items() if k != "token"}
            self.fake.violations.append(f"{name}: {e.error} ({e.detail}) args={shown!r:.300}")
        self.fake.notifier.notify()
        return web.json_response(body, status=e.status, headers=headers)

    async def _arguments(self, request: web.Request) -> Args:
        args: Args = dict(request.query)
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as e:
                raise SlackError("invalid_json", str(e)) from e
            if not isinstance(body, dict):
                raise SlackError("invalid_json", "the body must be a JSON object")
            args |= body
        elif request.can_read_body:
            args |= dict(await request.post())
        for key in _JSON_ARGS:  # form-encoded JSON arguments arrive as strings
            if isinstance(args.get(key), str):
                try:
                    args[key] = json.loads(args[key])
                except ValueError as e:
                    raise SlackError(f"invalid_{key}_format", str(e)) from e
        return args

    def _authenticate(self, request: web.Request, args: Args, scope: str | None, kind: str) -> None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        token = token or args.pop("token", None)
        if not token:
            raise SlackError("not_authed")
        expected = self.fake.app_token if kind == "app" else self.fake.bot_token
        if token != expected:
            known = token in (self.fake.app_token, self.fake.bot_token)
            raise SlackError("not_allowed_token_type" if known else "invalid_auth")
        if scope and kind == "bot" and scope not in self.fake.bot_scopes:
            raise SlackError("missing_scope", f"needed: {scope}")

    def _rate_limit(self, name: str) -> None:
        """A sliding window per method and workspace (``fake.rate_limits``)."""
        if name not in self.fake.rate_limits:
            return
        limit, period = self.fake.rate_limits[name]
        now = self.fake.clock.now()
        window = self._windows.setdefault(name, deque())
        while window and window[0] <= now - period:
            window.popleft()
        if len(window) >= limit:
            retry_after = max(1, math.ceil(window[0] + period - now))
            self.fake.record_rate_limited(name, retry_after)
            raise SlackError("ratelimited", str(retry_after), status=429)
        window.append(now)

    # -- message helpers ------------------------------------------------------------------

    def _content(self, args: Args, *, needed: bool = True) -> tuple[str, list[dict[str, Any]]]:
        """The text and blocks of a write, checked."""
        has_any = any(args.get(k) not in (None, "", []) for k in ("text", "blocks", "attachments"))
        if needed and not has_any:
            raise SlackError("no_text", "one of text, blocks or attachments is required")
        text = check_text(args.get("text") or "")
        blocks = check_blocks(args["blocks"]) if args.get("blocks") is not None else []
        self.record_pings(
            text, blocks, _flag(args.get("link_names")) or args.get("parse") == "full"
        )
        return text, blocks

    def record_pings(self, text: str, blocks: list[dict[str, Any]], link_names: bool) -> None:
        """Slack delivers @channel/@here/@everyone/group pings; we must never send one."""
        for ping in mass_mentions(text, blocks, link_names):
            self.fake.violations.append(f"a message pings {ping!r}")

    def _channel_for_write(self, args: Args) -> Channel:
        channel = self.fake.find_channel(str(args["channel"]))
        if channel is None:
            raise SlackError("channel_not_found")
        # chat:write.public lets an app post in any public channel, joined or not
        if not channel.is_member and not (
            channel.is_public and "chat:write.public" in self.fake.bot_scopes
        ):
            raise SlackError("not_in_channel")
        return channel

    def _own_message(self, args: Args, not_ours: str) -> tuple[Channel, Message]:
        """The app's message ``args`` name (channel, ts) to change; Slack's errors for a
        missing message and, as ``not_ours``, for someone else's."""
        _required(args, "channel", "ts")
        channel = self._channel_for_write(args)
        message = channel.message(str(args["ts"]))
        if message is None:
            raise SlackError("message_not_found")
        if message.bot_id != self.fake.bot_id:
            raise SlackError(not_ours)
        return channel, message

    @staticmethod
    def _thread(channel: Channel, thread_ts: Any) -> str | None:
        """The parent ts a reply goes under (a reply's ts names its parent's thread)."""
        if not thread_ts:
            return None
        parent = channel.message(str(thread_ts))
        if parent is None:
            raise SlackError("thread_not_found", f"no message {thread_ts} in {channel.id}")
        return parent.thread_ts or parent.ts

    # -- methods --------------------------------------------------------------------------

    async def auth_test(self, args: Args) -> dict[str, Any]:
        f = self.fake
        return {
            "url": "https://fake.slack.com/",
            "team": f.team_name,
            "user": f.bot_user.name,
            "team_id": f.team_id,
            "user_id": f.bot_user.id,
            "bot_id": f.bot_id,
            "is_enterprise_install": False,
        }

    async def connections_open(self, args: Args) -> dict[str, Any]:
        return {"url": self.fake.socket.new_url()}

    async def post_message(self, args: Args) -> dict[str, Any]:
        _required(args, "channel")
        channel = self._channel_for_write(args)
        text, blocks = self._content(args)
        thread_ts = self._thread(channel, args.get("thread_ts"))
        message = Message(
            channel.id, self.fake.new_ts(), text, blocks, self.fake.bot_user.id,
            bot_id=self.fake.bot_id, thread_ts=thread_ts,
        )  # fmt: skip
        channel.messages.append(message)
        return {"channel": channel.id, "ts": message.ts, "message": message.payload()}

    async def update(self, args: Args) -> dict[str, Any]:
        channel, message = self._own_message(args, "cant_update_message")
        text, blocks = self._content(args)
        message.edits.append(self.fake.edit_of(message))
        message.text = text
        if args.get("blocks") is not None:  # Slack keeps the blocks when only text is sent
            message.blocks = blocks
        return {"channel": channel.id, "ts": message.ts, "text": text, "message": message.payload()}

    async def post_ephemeral(self, args: Args) -> dict[str, Any]:
        _required(args, "channel", "user")
        channel = self._channel_for_write(args)
        if str(args["user"]) not in self.fake.users:
            raise SlackError("user_not_found")
        text, blocks = self._content(args)
        ts = self.fake.new_ts()
        thread_ts = self._thread(channel, args.get("thread_ts"))
        self.fake.ephemerals.append(
            Ephemeral(channel.id, str(args["user"]), ts, text, blocks, thread_ts)
        )
        return {"message_ts": ts}

    async def delete(self, args: Args) -> dict[str, Any]:
        channel, message = self._own_message(args, "cant_delete_message")
        message.deleted = True
        return {"channel": channel.id, "ts": message.ts}

    async def views_open(self, args: Args) -> dict[str, Any]:
        _required(args, "trigger_id", "view")
        user = self.fake.use_trigger(str(args["trigger_id"]))
        view = View(new_id("V"), user, check_view(args["view"]), new_id("h"))
        self.fake.views[view.id] = view
        return {"view": self.fake.view_payload(view)}

    async def views_update(self, args: Args) -> dict[str, Any]:
        _required(args, "view")
        if not args.get("view_id") and not args.get("external_id"):
            raise SlackError("invalid_arguments", "view_id or external_id is required")
        view = self.fake.views.get(str(args.get("view_id"))) or next(
            (v for v in self.fake.views.values()
             if args.get("external_id") and v.view.get("external_id") == args["external_id"]),
            None,
        )  # fmt: skip
        if view is None or view.closed:
            raise SlackError("not_found")
        if args.get("hash") and args["hash"] != view.hash:
            raise SlackError("hash_conflict")
        view.history.append(view.view)
        view.view, view.hash = check_view(args["view"]), new_id("h")
        return {"view": self.fake.view_payload(view)}

    async def upload_url(self, args: Args) -> dict[str, Any]:
        _required(args, "filename", "length")
        try:
            length = int(args["length"])
        except ValueError as e:
            raise SlackError("invalid_arguments", "length must be an integer") from e
        if length <= 0 or length > self.fake.max_file_size:
            raise SlackError("invalid_arguments", f"length {length} is out of range")
        f = UploadedFile(new_id("F"), str(args["filename"]), length, alt_txt=args.get("alt_txt"))
        self.fake.pending_files[f.id] = f
        return {"upload_url": f"{self.fake.base_url}/upload/{f.id}", "file_id": f.id}

    async def complete_upload(self, args: Args) -> dict[str, Any]:
        _required(args, "files")
        items = args["files"]
        if not isinstance(items, list) or not items:
            raise SlackError("invalid_arguments", "files must be a non-empty JSON array")
        # one channel: channel_id, or the first of "channels" (a comma-separated list)
        target = args.get("channel_id") or str(args.get("channels") or "").split(",")[0]
        channel = self._channel_for_write({"channel": target}) if target else None
        if args.get("thread_ts") and channel is None:
            raise SlackError("invalid_arguments", "thread_ts needs channel_id")
        thread_ts = self._thread(channel, args.get("thread_ts")) if channel else None
        done = []
        for item in items:
            f = self.fake.pending_files.get(str(item.get("id")))
            if f is None or not f.uploaded:
                raise SlackError("file_not_found", f"file {item.get('id')} was not uploaded")
            done.append((f, item))
        comment = args.get("initial_comment") or None
        if comment:
            check_text(comment)
        for f, item in done:
            del self.fake.pending_files[f.id]
            f.title = item.get("title") or f.name
            f.channel, f.thread_ts, f.initial_comment = (
                (channel.id if channel else None),
                thread_ts,
                comment,
            )
            self.fake.files.append(f)
        if channel is not None:
            message = Message(
                channel.id, self.fake.new_ts(), comment or "", [], self.fake.bot_user.id,
                bot_id=self.fake.bot_id, thread_ts=thread_ts, files=[f for f, _ in done],
            )  # fmt: skip
            channel.messages.append(message)
        return {"files": [f.info() for f, _ in done]}

    async def conversation_info(self, args: Args) -> dict[str, Any]:
        _required(args, "channel")
        channel = self.fake.channels.get(str(args["channel"]))
        if channel is None:
            raise SlackError("channel_not_found")
        return {"channel": channel.info()}

    async def user_info(self, args: Args) -> dict[str, Any]:
        _required(args, "user")
        user = self.fake.users.get(str(args["user"]))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user.info(self.fake.team_id)}

    async def upload(self, request: web.Request) -> web.Response:
        """The upload URL: the file's bytes, POSTed raw (as slack_sdk sends them)."""
        f = self.fake.pending_files.get(request.match_info["file_id"])
        data = await request.read()
        if f is None or f.uploaded:
            self.fake.violations.append("upload to an unknown or used upload URL")
            return web.Response(status=404, text="file not found")
        if len(data) != f.length:
            self.fake.violations.append(f"upload of {len(data)} bytes, announced {f.length}")
            return web.Response(status=400, text="length mismatch")
        f.data, f.uploaded = data, True
        self.fake.notifier.notify()
        return web.Response(text=f"OK - {len(data)}")
