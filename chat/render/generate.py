"""Renderers of the text-generation commands: /generate and its Continue button.

A part of a story goes out as a grey "prompt" card (the prompt, and for a part that
follows another the end of the text before it, under "So far") and the text the model
wrote, with the seed, temperature, tokens and why it stopped in the footer.

The message is also the record its Continue button reads back (``story_from_cards``):
Continue goes on from exactly what the message shows (the prompt, then the text "so far"
and this part), so the button needs no state on the bot's side and keeps working after
a restart. Text is shown as the model wrote it (markdown renders, as chat models mean it
to) less control characters; a zero-width space keeps leading or trailing whitespace
from being trimmed away, and is taken off again when the message is read back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inference.naming import display_name
from inference.tasks.base import printable
from inference.tasks.generate import GenerateResult

from ..cards import COLOUR, NEUTRAL, Button, Card, Message, Reply
from .base import EMBED_DESCRIPTION, EMBED_TOTAL, render, split_text

PROMPT_TITLE = "✍️ Prompt"
SO_FAR = "⏪ So far"
#: Characters of the text before a part that its message repeats under "So far": for
#: its readers, and for the model when Continue is pressed on it.
SO_FAR_CHARS = 300

ZWSP = "\u200b"
_TEMPERATURE = re.compile(r"Temperature (\d+(?:\.\d+)?)")
_MAX_TOKENS = re.compile(r"\(max (\d+)\)")
_FINISH = {"stop": "the model ended the text", "length": "stopped at max_tokens"}
#: What a part shows when the model wrote nothing visible (it ended the text at once, or
#: wrote only control characters): a sampled Continue may well go on next time.
NOTHING_NEW = "*(nothing new this time: press Continue to try again)*"


@dataclass(frozen=True)
class Story:
    """What a Continue button needs, as read back from the message it sits on."""

    prompt: str
    #: The text after the prompt that the message shows ("so far" and its own part).
    text: str
    max_tokens: int
    temperature: float


@render.register
def _(result: GenerateResult, max_tokens: int, buttons: list[Button] | None = None) -> Reply:
    """The prompt, the new text and its settings (``max_tokens``: what the request asked
    for, which Continue asks for again); ``buttons`` (Continue) go on the last message,
    which holds everything Continue needs."""
    before = shown(result.full_text[: len(result.full_text) - len(result.text)])
    text = shown(result.text)
    footer = footer_line(result, max_tokens)
    # The last message holds the prompt card and as much of the end of the text as fits;
    # the rest (rarely any) goes in pages before it.
    room = EMBED_TOTAL - len(prompt_card(result.prompt, "x" * (SO_FAR_CHARS + 10)))
    room = min(EMBED_DESCRIPTION, room - len(footer)) - 2 * len(ZWSP) - 10
    messages: list[Message] = []
    if len(text) > room:
        cut = len(text) - room
        space = re.search(r"\s", text[cut : cut + 200])
        cut += space.end() if space else 0  # the last message starts at a word
        head, text = text[:cut], text[cut:]
        pages = [Card(description=page, colour=COLOUR) for page in split_text(head)]
        if pages:
            messages.append(Message(cards=[prompt_card(result.prompt, before), pages[0]]))
            messages += [Message(cards=[page]) for page in pages[1:]]
        before += head

    last = Card(description=guard(text) if text else NOTHING_NEW, colour=COLOUR, footer=footer)
    messages.append(Message(cards=[prompt_card(result.prompt, before), last], buttons=buttons))
    return Reply(messages)


def prompt_card(prompt: str, before: str = "") -> Card:
    """The grey card with the prompt and (for a later part) the end of the text so far."""
    card = Card(title=PROMPT_TITLE, description=guard(shown(prompt)), colour=NEUTRAL)
    if before:
        card.add_field(name=SO_FAR, value="…" + guard(tail(before)), inline=False)
    return card


def footer_line(result: GenerateResult, max_tokens: int) -> str:
    """``🎲 Seed 42 · 🌡️ Temperature 0.7 · 120 tokens (max 120) · stopped at max_tokens``."""
    parts = [f"🎲 Seed {result.seed}"] if result.seed is not None else []
    greedy = " (greedy: always the same text)" if result.temperature == 0 else ""
    own = " (the model's own)" if result.sampling == "model" else ""
    nucleus = f", top-p {result.top_p:g}" if result.temperature and result.top_p < 1 else ""
    parts.append(f"🌡️ Temperature {result.temperature:g}{own}{greedy}{nucleus}")
    parts.append(f"{result.tokens} tokens (max {max_tokens})")
    parts.append(_FINISH.get(result.finish_reason, result.finish_reason))
    if result.truncated:
        parts.append("the model read only the end of the text")
    parts.append(display_name(result.model))
    return " · ".join(parts)


def story_from_cards(cards: list[Card]) -> Story | None:
    """The story a message shows, for Continue; None when the message does not hold one
    any more (edited, or not a /generate message)."""
    prompt_part = next((c for c in cards if c.title == PROMPT_TITLE), None)
    if prompt_part is None or not prompt_part.description or len(cards) < 2:
        return None
    text_part = cards[-1]
    footer = text_part.footer or ""
    temperature = _TEMPERATURE.search(footer)
    max_tokens = _MAX_TOKENS.search(footer)
    if text_part is prompt_part or temperature is None or max_tokens is None:
        return None
    before = next((f.value or "" for f in prompt_part.fields if f.name == SO_FAR), "")
    return Story(
        prompt=unguard(prompt_part.description),
        text=unguard(before.removeprefix("…")) + part_text(text_part.description or ""),
        max_tokens=int(max_tokens[1]),
        temperature=float(temperature[1]),
    )


# -- text helpers ---------------------------------------------------------------------


def shown(text: str) -> str:
    """Model text as a message shows it: without control characters (tabs and line
    breaks stay)."""
    return printable(text)


def tail(text: str, limit: int = SO_FAR_CHARS) -> str:
    """The end of ``text``, at most ``limit`` characters, starting at a word."""
    if len(text) <= limit:
        return text
    end = text[-limit:]
    space = re.search(r"\s", end[: limit // 4])
    return end[space.end() :] if space else end


def guard(text: str) -> str:
    """``text`` with a zero-width space before leading / after trailing whitespace, so that
    Discord keeps that whitespace; never empty."""
    if text[:1].isspace():
        text = ZWSP + text
    if text[-1:].isspace():
        text += ZWSP
    return text or ZWSP


def unguard(text: str) -> str:
    """The inverse of ``guard``."""
    return text.removeprefix(ZWSP).removesuffix(ZWSP)


def part_text(description: str) -> str:
    """The text a part's card shows: its description, less the guard or the note that
    stands in for an empty part."""
    return "" if description == NOTHING_NEW else unguard(description)
