"""``response_url`` (what bolt's ``respond()`` posts to) and the checks on ack payloads.

A response URL takes 5 posts within 30 minutes (on ``fake.clock``). Its JSON body is a
message: ``response_type`` ``"ephemeral"`` (the default: only the user sees it) or
``"in_channel"``; ``replace_original`` / ``delete_original`` act on the message the
interaction came from (block_actions / message_action on a message).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .models import Ephemeral, Message, SlackError, View, new_id
from .validation import check_blocks, check_text, check_view

if TYPE_CHECKING:
    from .server import FakeSlack

RESPONSE_URL_USES = 5
RESPONSE_URL_LIFETIME = 30 * 60.0


@dataclass
class ResponseUrl:
    channel: str
    user: str
    message_ts: str | None  # the message a click or shortcut came from
    issued: float
    uses: int = 0


class Responses:
    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.urls: dict[str, ResponseUrl] = {}

    def new_url(self, channel: str, user: str, message_ts: str | None = None) -> str:
        key = new_id("R").lower()
        self.urls[key] = ResponseUrl(channel, user, message_ts, self.fake.clock.now())
        return f"{self.fake.base_url}/response_url/{key}"

    async def handle(self, request: web.Request) -> web.Response:
        try:
            url = self.urls.get(request.match_info["key"])
            if url is None or self.fake.clock.now() - url.issued > RESPONSE_URL_LIFETIME:
                raise SlackError("expired_url", status=404)
            if url.uses >= RESPONSE_URL_USES:
                raise SlackError("used_url", f"more than {RESPONSE_URL_USES} posts", status=404)
            url.uses += 1
            try:
                body = json.loads(await request.text())
            except ValueError as e:
                raise SlackError("invalid_payload", str(e), status=400) from e
            self._apply(url, body if isinstance(body, dict) else {})
        except SlackError as e:
            self.fake.violations.append(f"response_url: {e}")
            return web.json_response({"ok": False, "error": e.error}, status=e.status or 400)
        self.fake.notifier.notify()
        return web.Response(text="ok")

    def _apply(self, url: ResponseUrl, body: dict[str, Any]) -> None:
        channel = self.fake.channels[url.channel]
        original = channel.message(url.message_ts) if url.message_ts else None
        if body.get("delete_original"):
            if original is None or original.bot_id != self.fake.bot_id:
                raise SlackError("cant_delete_message", status=400)
            original.deleted = True
            return
        text, blocks = self.check_message_payload(body)
        if body.get("replace_original") and original is not None:
            if original.bot_id != self.fake.bot_id:
                raise SlackError("cant_update_message", status=400)
            original.edits.append(self.fake.edit_of(original))
            original.text, original.blocks = text, blocks
        elif body.get("response_type") == "in_channel":
            message = Message(
                channel.id, self.fake.new_ts(), text, blocks, self.fake.bot_user.id,
                bot_id=self.fake.bot_id, thread_ts=body.get("thread_ts"),
            )  # fmt: skip
            channel.messages.append(message)
        else:
            ephemeral = Ephemeral(channel.id, url.user, self.fake.new_ts(), text, blocks)
            self.fake.ephemerals.append(ephemeral)

    def slash_ack(self, channel: str, user: str, ack: dict[str, Any]) -> None:
        """A slash command's ack with a message shows it, as a response_url post would."""
        if not ack:
            return
        try:
            text, blocks = self.check_message_payload(ack)
        except SlackError as e:
            self.fake.violations.append(f"slash command ack: {e}")
            return
        if ack.get("response_type") == "in_channel":
            message = Message(channel, self.fake.new_ts(), text, blocks, self.fake.bot_user.id,
                              bot_id=self.fake.bot_id)  # fmt: skip
            self.fake.channels[channel].messages.append(message)
        else:
            self.fake.ephemerals.append(Ephemeral(channel, user, self.fake.new_ts(), text, blocks))

    def view_ack(self, view: View, ack: dict[str, Any]) -> None:
        """A view_submission ack: ``errors`` must name input blocks (the view stays open);
        ``update`` replaces the view; none or ``clear`` closes it."""
        action = ack.get("response_action")
        try:
            if action == "errors":
                errors = ack.get("errors")
                blocks = view.view.get("blocks") or []
                inputs = {b.get("block_id") for b in blocks if b.get("type") == "input"}
                if not isinstance(errors, dict) or not errors or set(errors) - inputs:
                    raise SlackError("invalid_errors", f"errors must name input blocks: {errors}")
                return
            if action == "update":
                view.history.append(view.view)
                view.view, view.hash = check_view(ack.get("view")), new_id("h")
                return
            if action not in (None, "clear"):
                raise SlackError("invalid_response_action", str(action))
        except SlackError as e:  # Slack shows an error in the modal, which stays open
            self.fake.violations.append(f"view_submission ack: {e}")
            return
        view.closed = True

    def check_message_payload(self, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        """The text and blocks of a message body outside the Web API, checked like one."""
        if not body.get("text") and not body.get("blocks"):
            raise SlackError("no_text", "a message needs text or blocks", status=400)
        blocks = check_blocks(body["blocks"]) if body.get("blocks") else []
        text = check_text(body.get("text") or "")
        self.fake.api.record_pings(text, blocks, False)
        return text, blocks
