"""Modals for commands with several options, built from the catalogue.

A command marked ``form`` that comes with no text (``/imagine`` alone) opens a modal
with one input per option: text fields (the free text multi-line), number inputs
within the catalogue's bounds, a select for choices and yes/no. Its submission is read
back into the same option texts a typed line gives and checked by the same code
(``parse.check``); what is wrong is shown under the input concerned.
"""

from __future__ import annotations

import json
from typing import Any

from chat.catalogue import Command, Option
from chat.errors import OnCooldown, cooldown_message
from chat.render.base import clip

from .parse import UsageError, check, convert

#: The modal's callback id: ``form:<command>``.
CALLBACK_PREFIX = "form:"
#: Slack's limits on a modal's title and an input's label, placeholder and hint.
TITLE_CHARS = 24
LABEL_CHARS = 2000
PLACEHOLDER_CHARS = 150
HINT_CHARS = 2000
#: A plain-text input takes at most this many characters.
INPUT_CHARS = 3000
#: Slack's limit on the message under an input.
ERROR_CHARS = 150


def modal(command: Command, channel: str) -> dict[str, Any]:
    """The modal of ``command``; ``channel`` (where the answer goes) rides along in
    ``private_metadata``."""
    blocks = [_input(command, option) for option in command.options if option.kind != "file"]
    return {
        "type": "modal",
        "callback_id": CALLBACK_PREFIX + command.name,
        "title": {"type": "plain_text", "text": clip(f"/{command.name}", TITLE_CHARS)},
        "submit": {"type": "plain_text", "text": "Run"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"channel": channel}),
        "blocks": blocks,
    }


def channel_of(view: dict[str, Any]) -> str:
    """The channel a submitted modal's answer goes to (slash commands, which open the
    modals, cannot be used in threads)."""
    return str(json.loads(view.get("private_metadata") or "{}")["channel"])


def read(command: Command, view: dict[str, Any]) -> dict[str, Any]:
    """The submitted options, checked as a typed line is; raises ``FormErrors``."""
    state = view.get("state", {}).get("values", {})
    given: dict[str, str] = {}
    errors: dict[str, str] = {}
    for option in command.options:
        if option.kind == "file":
            continue
        raw = _value(state.get(option.name, {}).get(option.name, {}))
        if raw is None or not raw.strip():
            continue
        try:
            convert(command, option, raw)
        except UsageError as exc:
            errors[option.name] = exc.problem
        given[option.name] = raw
    if not errors:
        try:
            return check(command, given)
        except UsageError as exc:  # a required input left empty (Slack's client stops that)
            errors[command.text] = exc.problem
    raise FormErrors(errors)


def errors_for(command: Command, error: Exception) -> dict[str, str]:
    """A refusal of the whole request (the task's own checks) as a form error: under
    the input it names, else under the free text."""
    if isinstance(error, OnCooldown):
        message = cooldown_message(error.retry_after)
    else:
        message = getattr(error, "problem", None) or str(error)
    named = [o.name for o in command.options if o.kind != "file" and o.name in message.lower()]
    return {(named or [command.text])[0]: clip(message, ERROR_CHARS)}


class FormErrors(Exception):
    """What is wrong with a submitted modal: input block id -> message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = {name: clip(message, ERROR_CHARS) for name, message in errors.items()}


def _input(command: Command, option: Option) -> dict[str, Any]:
    label = option.name.replace("_", " ").capitalize()
    element: dict[str, Any] = {"action_id": option.name}
    if option.kind in ("integer", "number"):
        element |= {"type": "number_input", "is_decimal_allowed": option.kind == "number"}
        if option.min is not None:
            element["min_value"] = f"{option.min:g}"
        if option.max is not None:
            element["max_value"] = f"{option.max:g}"
    elif option.kind == "boolean" or option.choices:
        choices = option.choices or ("yes", "no")
        element |= {
            "type": "static_select",
            "options": [{"text": {"type": "plain_text", "text": c}, "value": c} for c in choices],
        }
    else:
        element |= {"type": "plain_text_input", "multiline": option.name == command.text}
        if option.max is not None:
            element["max_length"] = int(min(option.max, INPUT_CHARS))
        if option.min is not None:
            element["min_length"] = int(option.min)
    block: dict[str, Any] = {
        "type": "input",
        "block_id": option.name,
        "label": {"type": "plain_text", "text": clip(label, LABEL_CHARS)},
        "hint": {"type": "plain_text", "text": clip(option.description, HINT_CHARS)},
        "optional": not (option.required or option.name == command.text),
        "element": element,
    }
    return block


def _value(state: dict[str, Any]) -> str | None:
    """An input's value as the text a typed line would give."""
    if "selected_option" in state:
        selected = state["selected_option"]
        return selected.get("value") if selected else None
    value = state.get("value")
    return None if value is None else str(value)
