"""What a result message shows, read back for the showcase: its kind, prompt, settings,
text excerpt and attachment. The message is the record (as for Regenerate and
Continue), so a Share button needs no state and works after a restart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath

import discord

from chat.cards import Card
from chat.render.base import clip
from chat.render.generate import story_from_cards
from chat.render.imagine import SEED, SIZE, STEPS, unescape_prompt

from ..render import cards_of

#: How much of a text result the showcase keeps (the jump link leads to the rest).
EXCERPT_CHARS = 1500
PROMPT_CHARS = 1000
_FILE_KINDS = {".png": "image", ".wav": "audio", ".txt": "text", ".md": "text"}
_VOICE = re.compile(r"voice \*\*(.+?)\*\*")
_SEED = re.compile(r"Seed (\d+)")


@dataclass
class SharedResult:
    kind: str  # image | audio | text
    prompt: str
    details: dict[str, str] = field(default_factory=dict)
    excerpt: str = ""
    attachment: discord.Attachment | None = None


def read_result(message: discord.Message) -> SharedResult | None:
    """The result ``message`` shows; None when it shows none (any more)."""
    attachment = next(
        (a for a in message.attachments if PurePath(a.filename).suffix.lower() in _FILE_KINDS),
        None,
    )
    if attachment is not None:
        kind = _FILE_KINDS[PurePath(attachment.filename).suffix.lower()]
        reader = {"image": _image, "audio": _speech, "text": _text_file}[kind]
        found = reader(cards_of(message))
        if found is None:
            return None
        found.attachment = attachment
        return found
    return _story(message)


def _image(cards: list[Card]) -> SharedResult | None:
    if not cards or not cards[0].description:
        return None
    card = cards[0]
    fields = {f.name: (f.value or "").strip("`") for f in card.fields}
    details = {name: fields[name] for name in (SEED, STEPS, SIZE) if fields.get(name)}
    model = (card.footer or "").split(" · ")[0]
    if model:
        details["Model"] = model
    return SharedResult("image", clip(unescape_prompt(card.description), PROMPT_CHARS), details)


def _speech(cards: list[Card]) -> SharedResult | None:
    if not cards or not cards[0].description:
        return None
    lines = cards[0].description.splitlines()
    quoted = "\n".join(line[2:] for line in lines if line.startswith("> "))
    voice = _VOICE.search(lines[0])
    details = {"Voice": discord.utils.remove_markdown(voice[1])} if voice else {}
    return SharedResult("audio", clip(quoted or "(speech)", PROMPT_CHARS), details)


def _text_file(cards: list[Card]) -> SharedResult:
    """A text file (a story's export): its excerpt is read from the file when shared."""
    title = next((c.title or c.description for c in cards if c.title or c.description), None)
    return SharedResult("text", clip(title or "Story", PROMPT_CHARS))


def text_excerpt(data: bytes) -> str:
    """The start of a shared text file, for the post and the gallery."""
    return clip(data[: EXCERPT_CHARS * 4].decode("utf-8", "replace").strip(), EXCERPT_CHARS)


def _story(message: discord.Message) -> SharedResult | None:
    cards = cards_of(message)
    story = story_from_cards(cards)
    if story is not None:  # a /generate part
        footer = (cards[-1].footer or "").split(" · ")
        details = {}
        seed = _SEED.search(footer[0])
        if seed:
            details["Seed"] = seed[1]
        if len(footer) > 1:
            details["Model"] = footer[-1]
        return SharedResult(
            "text", clip(story.prompt, PROMPT_CHARS), details, clip(story.text, EXCERPT_CHARS)
        )
    if cards and cards[0].description:  # another text result (a story)
        text = "\n\n".join(c.description or "" for c in cards)
        return SharedResult("text", clip(cards[0].title or "Story", PROMPT_CHARS), {},
                            clip(text, EXCERPT_CHARS))  # fmt: skip
    return None
