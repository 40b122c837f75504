"""Slack's checks on message and view payloads.

Every block goes through ``slack_sdk.models.blocks.Block.parse(...).validate_json()`` (the
element limits slack_sdk knows), then through the limits of Slack's Block Kit reference that
slack_sdk does not enforce. Errors are :class:`SlackError` with Slack's error codes.
"""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from .models import SlackError

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000
MAX_SECTION_TEXT = 3_000
MAX_FIELD_TEXT = 2_000
MAX_BUTTON_VALUE = 2_000
MAX_BUTTON_TEXT = 75
MAX_ID = 255  # action_id, block_id, callback_id
MAX_PRIVATE_METADATA = 3_000
MAX_VIEW_TITLE = 24  # title, submit, close

#: Mentions that notify a whole channel, workspace or user group.
_MASS_MENTION = re.compile(r"<!(channel|here|everyone|subteam\^[^>]*)(\|[^>]*)?>")
_LITERAL_MASS_MENTION = re.compile(r"(?<![\w@])@(channel|here|everyone)\b")


def _invalid(detail: str) -> SlackError:
    return SlackError("invalid_blocks", detail)


def _text_of(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else ""


def unknown_keys(raw: Any, parsed: Any, path: str) -> list[str]:
    """Keys of ``raw`` that slack_sdk's model dropped: fields Slack does not know."""
    if isinstance(raw, dict) and isinstance(parsed, dict):
        found = [f"{path}.{k}" for k in raw if k not in parsed]
        for k in raw.keys() & parsed.keys():
            found += unknown_keys(raw[k], parsed[k], f"{path}.{k}")
        return found
    if isinstance(raw, list) and isinstance(parsed, list):
        if len(raw) != len(parsed):
            return [f"{path} (an item slack_sdk does not know)"]
        return [
            k
            for i, (a, b) in enumerate(zip(raw, parsed, strict=True))
            for k in unknown_keys(a, b, f"{path}[{i}]")
        ]
    return []


def _check_element(element: dict[str, Any], where: str) -> None:
    action_id = element.get("action_id")
    if isinstance(action_id, str) and len(action_id) > MAX_ID:
        raise _invalid(f"{where}.action_id is longer than {MAX_ID} characters")
    if element.get("type") == "button":
        if len(str(element.get("value", ""))) > MAX_BUTTON_VALUE:
            raise _invalid(f"{where}.value is longer than {MAX_BUTTON_VALUE} characters")
        if len(_text_of(element.get("text"))) > MAX_BUTTON_TEXT:
            raise _invalid(f"{where}.text is longer than {MAX_BUTTON_TEXT} characters")


def _check_extra_limits(block: dict[str, Any], where: str) -> None:
    """The Block Kit limits slack_sdk leaves out."""
    block_id = block.get("block_id")
    if isinstance(block_id, str) and len(block_id) > MAX_ID:
        raise _invalid(f"{where}.block_id is longer than {MAX_ID} characters")
    if len(_text_of(block.get("text"))) > MAX_SECTION_TEXT:
        raise _invalid(f"{where}.text is longer than {MAX_SECTION_TEXT} characters")
    for i, f in enumerate(block.get("fields") or []):
        if len(_text_of(f)) > MAX_FIELD_TEXT:
            raise _invalid(f"{where}.fields[{i}] is longer than {MAX_FIELD_TEXT} characters")
    elements = list(block.get("elements") or [])
    for key in ("accessory", "element"):
        if isinstance(block.get(key), dict):
            elements.append(block[key])
    for i, element in enumerate(elements):
        if isinstance(element, dict):
            _check_element(element, f"{where}.elements[{i}]")


def check_blocks(blocks: Any, limit: int = MAX_MESSAGE_BLOCKS) -> list[dict[str, Any]]:
    """Return ``blocks`` if Slack would accept them, else raise ``invalid_blocks``."""
    if not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format", "blocks must be a JSON array")
    if len(blocks) > limit:
        raise _invalid(f"no more than {limit} items allowed [json-pointer:/blocks]")
    seen_ids: set[str] = set()
    for i, raw in enumerate(blocks):
        where = f"blocks[{i}]"
        if not isinstance(raw, dict):
            raise _invalid(f"{where} must be an object")
        try:
            block = Block.parse(raw)
            if block is None:
                raise _invalid(f"{where}: unknown block type {raw.get('type')!r}")
            block.validate_json()
            unknown = unknown_keys(raw, block.to_dict(), where)
        except (SlackObjectFormationError, KeyError, TypeError, ValueError) as e:
            raise _invalid(f"{where}: {e}") from e
        if unknown:
            raise _invalid(f"unsupported properties: {', '.join(unknown)}")
        _check_extra_limits(raw, where)
        block_id = raw.get("block_id")
        if block_id in seen_ids:
            raise _invalid(f"{where}: duplicate block_id {block_id!r}")
        if block_id:
            seen_ids.add(block_id)
    return blocks


def check_text(text: Any) -> str:
    if not isinstance(text, str):
        raise SlackError("invalid_arguments", "text must be a string")
    if len(text) > MAX_TEXT:
        raise SlackError("msg_too_long", f"text is longer than {MAX_TEXT} characters")
    return text


def check_view(view: Any) -> dict[str, Any]:
    """Return ``view`` if Slack would open it, else raise ``invalid_arguments``."""
    if not isinstance(view, dict):
        raise SlackError("invalid_arguments", "view must be a JSON object")
    if view.get("type") != "modal":
        raise SlackError("invalid_arguments", "view.type must be 'modal'")
    try:
        parsed = View(**view)
        parsed.validate_json()
    except (SlackObjectFormationError, TypeError, ValueError) as e:
        raise SlackError("invalid_arguments", f"view: {e}") from e
    unknown = [k for k in view if k not in parsed.to_dict() and k != "blocks"]
    if unknown:
        raise SlackError("invalid_arguments", f"view: unsupported properties {unknown}")
    for key in ("title", "submit", "close"):
        if len(_text_of(view.get(key))) > MAX_VIEW_TITLE:
            raise SlackError("invalid_arguments", f"view.{key} is over {MAX_VIEW_TITLE} characters")
    has_input = any(b.get("type") == "input" for b in view.get("blocks") or [])
    if has_input and not view.get("submit"):
        raise SlackError("invalid_arguments", "a view with input blocks needs a submit button")
    if len(view.get("private_metadata") or "") > MAX_PRIVATE_METADATA:
        raise SlackError("invalid_arguments", "view.private_metadata is too long")
    if len(view.get("callback_id") or "") > MAX_ID:
        raise SlackError("invalid_arguments", "view.callback_id is too long")
    try:
        check_blocks(view.get("blocks") or [], MAX_VIEW_BLOCKS)
    except SlackError as e:
        raise SlackError("invalid_arguments", f"view.{e.detail}") from e
    return view


def mass_mentions(text: str, blocks: list[dict[str, Any]], link_names: bool) -> list[str]:
    """The channel/workspace/group pings in a message (Slack sends them; we never should)."""
    found = [m.group(0) for m in _MASS_MENTION.finditer(text + repr(blocks))]
    if link_names:
        found += [m.group(0) for m in _LITERAL_MASS_MENTION.finditer(text)]
    return found
