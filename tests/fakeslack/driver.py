"""What a test does as a Slack user: slash commands, shortcuts, clicks, modal submits.

Each call builds the payload Slack sends, delivers it over Socket Mode and returns the ack's
payload (``{}`` for a bare ``ack()``) once it came; no ack within 3 s raises ``AckTimeout``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import FakeSlack

DEFAULT_USER, DEFAULT_CHANNEL = "U0USER0001", "C0CHAN0001"

# the state value shape of each input element type, from the value a test gives
_STATE_VALUE = {
    "plain_text_input": lambda v: {"value": v},
    "number_input": lambda v: {"value": None if v is None else str(v)},
    "static_select": lambda v: {"selected_option": v},
    "radio_buttons": lambda v: {"selected_option": v},
    "checkboxes": lambda v: {"selected_options": v},
}


class Driver:
    """Mixed into :class:`FakeSlack`."""

    def _user(self: FakeSlack, user: str) -> dict[str, Any]:
        u = self.users[user]
        return {"id": u.id, "username": u.name, "name": u.name, "team_id": self.team_id}

    def _common(self: FakeSlack, user: str) -> dict[str, Any]:
        return {
            "token": "fake-verification-token",
            "team": {"id": self.team_id, "domain": self.team_domain},
            "user": self._user(user),
            "api_app_id": self.app_id,
            "is_enterprise_install": False,
            "enterprise": None,
            "trigger_id": self.new_trigger(user),
        }

    def _channel_ref(self: FakeSlack, channel: str) -> dict[str, Any]:
        return {"id": channel, "name": self.channels[channel].name}

    async def slash_command(
        self: FakeSlack, command: str, text: str = "", *, user: str = DEFAULT_USER,
        channel: str = DEFAULT_CHANNEL,
    ) -> dict[str, Any]:  # fmt: skip
        """``/command text`` typed by ``user`` in ``channel``."""
        payload = {
            "token": "fake-verification-token",
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel,
            "channel_name": self.channels[channel].name,
            "user_id": user,
            "user_name": self.users[user].name,
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": self.responses.new_url(channel, user),
            "trigger_id": self.new_trigger(user),
        }
        ack = await self.socket.deliver("slash_commands", payload, True)
        self.responses.slash_ack(channel, user, ack)
        return ack

    async def message_shortcut(
        self: FakeSlack, callback_id: str, message_ts: str, *, user: str = DEFAULT_USER,
        channel: str = DEFAULT_CHANNEL,
    ) -> dict[str, Any]:  # fmt: skip
        """The message shortcut ``callback_id`` run on a message of ``channel``."""
        message = self.message(channel, message_ts)
        payload = self._common(user) | {
            "type": "message_action",
            "callback_id": callback_id,
            "action_ts": f"{time.time():.6f}",
            "channel": self._channel_ref(channel),
            "message_ts": message.ts,
            "message": message.payload(),
            "response_url": self.responses.new_url(channel, user, message.ts),
        }
        return await self.socket.deliver("interactive", payload, False)

    async def click(
        self: FakeSlack, channel: str, ts: str, action_id: str, *, value: str | None = None,
        user: str = DEFAULT_USER,
    ) -> dict[str, Any]:  # fmt: skip
        """``user`` clicks the button ``action_id`` of a message the fake holds (its
        ``value`` unless ``value`` is given). Raises ``LookupError`` if it has no such button."""
        message = self.message(channel, ts)
        block, element = _find_element(message.blocks, action_id)
        action = {
            "action_id": action_id,
            "block_id": block.get("block_id", ""),
            "type": element.get("type", "button"),
            "action_ts": f"{time.time():.6f}",
        }
        if "text" in element:
            action["text"] = element["text"]
        if value is not None or "value" in element:
            action["value"] = value if value is not None else element["value"]
        container = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": False,
        }
        if message.thread_ts:
            container["thread_ts"] = message.thread_ts
        payload = self._common(user) | {
            "type": "block_actions",
            "container": container,
            "channel": self._channel_ref(channel),
            "message": message.payload(),
            "state": {"values": {}},
            "response_url": self.responses.new_url(channel, user, ts),
            "actions": [action],
        }
        return await self.socket.deliver("interactive", payload, False)

    async def submit_view(
        self: FakeSlack, view_id: str, values: dict[str, Any], *, user: str | None = None
    ) -> dict[str, Any]:
        """Submit an open modal; ``values`` maps each input's ``action_id`` to its value (a
        string for text/number inputs, an option dict for selects). Inputs left out submit
        their initial value or none; a required one without a value raises ``ValueError``
        (Slack's client would not submit). The view closes unless the ack answers
        ``response_action`` errors (stays) or update (replaced)."""
        view = self.views[view_id]
        if view.closed:
            raise ValueError(f"view {view_id} is closed")
        state: dict[str, dict[str, Any]] = {}
        unknown = set(values)
        for block in view.view.get("blocks") or []:
            if block.get("type") != "input":
                continue
            element = block["element"]
            action_id, kind = element.get("action_id", ""), element.get("type", "")
            unknown.discard(action_id)
            # what the user left untouched submits the element's initial value, as in Slack
            value = values.get(action_id, _initial(element))
            if value in (None, "") and not block.get("optional"):
                raise ValueError(f"the required input {action_id!r} has no value")
            shape = _STATE_VALUE.get(kind, lambda v: {"value": v})(value)
            state.setdefault(block.get("block_id", ""), {})[action_id] = {"type": kind} | shape
        if unknown:
            raise ValueError(f"the view has no inputs {sorted(unknown)}")
        payload = self._common(user or view.user) | {
            "type": "view_submission",
            "view": self.view_payload(view) | {"state": {"values": state}},
            "response_urls": [],
        }
        ack = await self.socket.deliver("interactive", payload, True)
        self.responses.view_ack(view, ack)
        return ack

    async def event(self: FakeSlack, event: dict[str, Any]) -> dict[str, Any]:
        """An Events API event (e.g. ``{"type": "app_mention", ...}``) for the app."""
        payload = {
            "token": "fake-verification-token",
            "team_id": self.team_id,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{int(time.time() * 1000)}",
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": self.team_id, "user_id": self.bot_user.id, "is_bot": True}
            ],
        }
        return await self.socket.deliver("events_api", payload, False)

    def post_as_user(self: FakeSlack, channel: str, text: str, *, user: str = DEFAULT_USER,
                     thread_ts: str | None = None) -> str:  # fmt: skip
        """A message a person wrote (to run a shortcut on); returns its ts."""
        from .models import Message

        message = Message(channel, self.new_ts(), text, [], user, thread_ts=thread_ts)
        self.channels[channel].messages.append(message)
        self.notifier.notify()
        return message.ts


def _initial(element: dict[str, Any]) -> Any:
    for key in ("initial_value", "initial_option", "initial_options"):
        if key in element:
            return element[key]
    return None


def _find_element(
    blocks: list[dict[str, Any]], action_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    for block in blocks:
        candidates = [*(block.get("elements") or []), block.get("accessory") or {}]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block, element
    raise LookupError(f"no element with action_id {action_id!r} in the message")
