"""The Slack renderer: ``chat.cards`` messages as Block Kit, within Slack's limits.

A card becomes a header (its title), sections (its description and fields), context
blocks (its author, ``-#`` small print and footer) and a divider before the next card;
buttons become one actions block at the end. Files are not blocks: the surface uploads
them into the thread. What one message cannot hold (50 blocks, 3,000 characters a
section...) is split over several messages rather than refused.
"""

from __future__ import annotations

from typing import Any

from chat.cards import Button, Card, Field, Message
from chat.render.base import clip, split_text

from .mrkdwn import mrkdwn, plain, split_small

# Slack's limits (Block Kit reference; slack_sdk.models.blocks enforces most of them).
MAX_BLOCKS = 50
SECTION_CHARS = 3000
FIELD_CHARS = 2000
SECTION_FIELDS = 10
HEADER_CHARS = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_LABEL_CHARS = 75
BUTTON_VALUE_CHARS = 2000
ACTION_ID_CHARS = 255
#: The notification text of a message with blocks (Slack shows it in notifications).
FALLBACK_CHARS = 300

_STYLES = {"primary": "primary", "success": "primary", "danger": "danger"}

Block = dict[str, Any]


def payloads(message: Message) -> list[dict[str, Any]]:
    """``message`` as one or more ``chat.postMessage`` payloads (``text`` and
    ``blocks``), each within Slack's limits; its buttons go on the last one. A message
    with no text at all gives none (its files are uploaded on their own)."""
    blocks = text_blocks(message.content or "")
    for number, card in enumerate(message.cards):
        if number and blocks:
            blocks.append({"type": "divider"})
        blocks += card_blocks(card)
    pages = [blocks[i : i + MAX_BLOCKS] for i in range(0, len(blocks), MAX_BLOCKS)]
    if message.buttons:
        if not pages or len(pages[-1]) == MAX_BLOCKS:
            pages.append([])
        pages[-1].append(actions_block(message.buttons))
    return [{"text": fallback(page), "blocks": page} for page in pages]


def fallback(blocks: list[Block]) -> str:
    """The notification text of a message: its first text, clipped."""
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict) and text.get("text"):
            return clip(text["text"], FALLBACK_CHARS)
        for element in block.get("elements", ()):
            if element.get("type") == "mrkdwn":
                return clip(element["text"], FALLBACK_CHARS)
    return "…"


def card_blocks(card: Card) -> list[Block]:
    blocks: list[Block] = []
    if card.author:
        blocks.append(context([card.author]))
    if card.title and card.url:  # a header cannot link: a bold section can
        link = f"**[{card.title}]({card.url})**"
        blocks += text_blocks(link)
    elif card.title:
        title = clip(plain(card.title), HEADER_CHARS)
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": title}})
    blocks += text_blocks(card.description or "")
    blocks += field_blocks(card.fields)
    if card.footer:
        blocks.append(context([card.footer]))
    return blocks


def text_blocks(text: str) -> list[Block]:
    """Markdown text as sections (at most SECTION_CHARS each, split at paragraphs,
    lines or spaces) and its ``-#`` lines as context blocks."""
    blocks: list[Block] = []
    for small, run in split_small(text):
        if small:
            lines = run.split("\n")
            for i in range(0, len(lines), CONTEXT_ELEMENTS):
                blocks.append(context(lines[i : i + CONTEXT_ELEMENTS]))
        else:
            blocks += [section(chunk) for chunk in fitted(run, SECTION_CHARS)]
    return blocks


def field_blocks(fields: list[Field]) -> list[Block]:
    """Inline fields side by side (SECTION_FIELDS to a section), the others one per
    section, in their order."""
    blocks: list[Block] = []
    inline: list[Block] = []
    for field in fields:
        text = f"**{field.name}**\n{field.value}" if field.name else field.value
        if field.inline and len(mrkdwn(text)) <= FIELD_CHARS:
            inline.append(_mrkdwn(mrkdwn(text)))
            if len(inline) == SECTION_FIELDS:
                blocks.append({"type": "section", "fields": inline})
                inline = []
            continue
        if inline:
            blocks.append({"type": "section", "fields": inline})
            inline = []
        blocks += text_blocks(text)
    if inline:
        blocks.append({"type": "section", "fields": inline})
    return blocks


def fitted(text: str, limit: int) -> list[str]:
    """``text`` as mrkdwn chunks of at most ``limit`` characters each (escaping makes a
    text longer, so a chunk that grows past the limit is split again, smaller)."""
    if not text.strip():
        return []
    converted = mrkdwn(text)
    if len(converted) <= limit:
        return [converted]
    # the same share of the markdown as of the converted text, a little less
    size = max(20, len(text) * limit // len(converted) - 20)
    parts = split_text(text, size) if size < len(text) else [text]
    if len(parts) < 2:  # (cannot happen with split_text; never loop)
        return [clip(converted, limit)]
    return [chunk for part in parts for chunk in fitted(part, limit)]


def section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def context(lines: list[str]) -> Block:
    """Small print: one mrkdwn element per line (at most CONTEXT_ELEMENTS)."""
    elements = [_mrkdwn(clip(mrkdwn(line), SECTION_CHARS)) for line in lines if line.strip()]
    return {"type": "context", "elements": elements[:CONTEXT_ELEMENTS] or [_mrkdwn("…")]}


def actions_block(buttons: list[Button]) -> Block:
    return {"type": "actions", "elements": [button(b) for b in buttons[:ACTIONS_ELEMENTS]]}


def button(spec: Button) -> Block:
    """A button; its value must already fit BUTTON_VALUE_CHARS (``buttons`` keeps it
    within): a clipped value would be a different request."""
    if len(spec.value) > BUTTON_VALUE_CHARS or len(spec.action) > ACTION_ID_CHARS:
        raise ValueError(f"button {spec.action!r}: its action or value is too long for Slack")
    label = clip(plain(f"{spec.emoji} {spec.label}".strip()), BUTTON_LABEL_CHARS)
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "action_id": spec.action,
    }
    if spec.value:
        element["value"] = spec.value
    if spec.style in _STYLES:
        element["style"] = _STYLES[spec.style]
    return element


def _mrkdwn(text: str) -> Block:
    # verbatim: Slack parses no mentions or channel names of its own in our text
    return {"type": "mrkdwn", "text": text, "verbatim": True}
