"""The rendering primitives: messages, replies, text splitting and escaping, embeds,
bars, sizes and durations, autocomplete choices, wait lines."""

from __future__ import annotations

import contextlib
import functools
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import discord
from discord import app_commands

from inference import InvalidInput
from inference.jobs import JobState, JobUpdate
from inference.results import Result
from inference.tasks.base import clean_text

# Discord's limits (developer docs, "Message" and "Embed limits").
MESSAGE_CHARS = 2000
EMBED_DESCRIPTION = 4096
EMBED_TITLE = 256
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FIELDS = 25
EMBED_TOTAL = 6000
#: Discord's limits on an autocomplete answer: choices, and characters of a name or value.
MAX_CHOICES = 25
CHOICE_CHARS = 100

COLOUR = discord.Colour.blurple()
POSITIVE = discord.Colour.green()
NEGATIVE = discord.Colour.red()
NEUTRAL = discord.Colour.light_grey()


@dataclass
class Message:
    """One Discord message to send or edit."""

    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)
    files: list[tuple[str, bytes]] = field(default_factory=list)
    view: discord.ui.View | None = None

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``edit_original_response`` / ``followup.send``."""
        kwargs: dict[str, Any] = {"content": self.content, "embeds": self.embeds}
        if self.view is not None:
            kwargs["view"] = self.view
        return kwargs

    def discord_files(self) -> list[discord.File]:
        return [discord.File(io.BytesIO(data), filename=name) for name, data in self.files]


@dataclass
class Reply:
    """What the bot answers to one command: one message or several."""

    messages: list[Message]

    @classmethod
    def one(cls, **fields: Any) -> Reply:
        return cls([Message(**fields)])


@functools.singledispatch
def render(result: Result) -> Reply:
    """The reply for ``result``; every result type registers its own renderer."""
    raise TypeError(f"no renderer for {type(result).__name__}")


# -- primitives ---------------------------------------------------------------------


def bar(fraction: float, width: int = 10) -> str:
    """A text progress bar: ``bar(0.3) == "███░░░░░░░"``."""
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def percent(score: float) -> str:
    """``0.314`` as ``31.4%``."""
    return f"{score * 100:.1f}%"


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 chunk``, ``3 chunks``; ``words`` for an irregular plural (``entities``)."""
    return f"{count:,} {word if count == 1 else words or word + 's'}"


def byte_size(count: int) -> str:
    """``300 bytes``, ``512 KiB``, ``8.5 MiB``."""
    for unit, scale in (("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{count} bytes"


def duration(seconds: float) -> str:
    """``1 h 5 s``, ``2 d 3 h``: whole seconds, zero units left out."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    return " ".join(f"{n} {unit}" for n, unit in parts if n) or "0 s"


def clip(text: str, limit: int, ellipsis: str = "…") -> str:
    """``text`` cut to at most ``limit`` characters."""
    return text if len(text) <= limit else text[: limit - len(ellipsis)].rstrip() + ellipsis


def quote(text: str, limit: int = 300) -> str:
    """A short block quote of what the user sent, for context above a result."""
    return "\n".join(f"> {line}" for line in clip(text, limit).splitlines() or [""])


# Markdown characters left unescaped after escape_markdown: those preceded by an even
# number of backslashes (escape_markdown escapes "*" only when another "*" follows it).
_UNESCAPED = re.compile(r"(?<!\\)((?:\\\\)*)([*_~|`])")


def escape(text: str) -> str:
    """``text`` with every markdown character escaped, also in a slice of a longer text.

    ``discord.utils.escape_markdown`` leaves a lone ``*`` (or ``_``, ``~``, ...) alone,
    as nothing in its own string pairs with it; in a slice followed by our own ``**``
    marks it would pair with those, so every such character is escaped here.
    """
    return _UNESCAPED.sub(r"\1\\\2", discord.utils.escape_markdown(text, ignore_links=False))


def as_parsed(text: str) -> str:
    """The text as the tasks read it (surrounding whitespace and control characters
    removed): the text that result offsets refer to."""
    with contextlib.suppress(InvalidInput):
        return clean_text(text, max_chars=max(1, len(text)))
    return text


_FENCE = re.compile(r"^```(\S*)", re.MULTILINE)


def split_text(text: str, limit: int = MESSAGE_CHARS) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters.

    Splits at the last paragraph break, else line break, else space before the limit.
    A chunk that ends inside a code block closes the fence, and the next chunk opens
    it again with the same language, so every chunk renders on its own.
    """
    if limit < 20:
        raise ValueError("limit too small to split sensibly")
    chunks: list[str] = []
    reopen = ""  # the fence line that the current chunk must start with
    rest = text
    while rest:
        room = limit - len(reopen)
        if len(rest) <= room and _open_fence(reopen + rest) is None:
            chunks.append(reopen + rest)
            break
        if len(rest) <= room:
            cut = len(rest)
        else:
            window = rest[: room - 4]  # keep room for a closing fence
            breaks = (window.rfind(sep) for sep in ("\n\n", "\n", " "))
            cut = next((b for b in breaks if b >= room // 2), len(window))
        chunk, rest = reopen + rest[:cut], rest[cut:].lstrip(" ")
        fence = _open_fence(chunk)
        if fence is not None:
            chunk = chunk.rstrip("\n") + "\n```"
            reopen = f"```{fence}\n"
            rest = rest.lstrip("\n")
        else:
            reopen = ""
            rest = rest.lstrip("\n")
        chunks.append(chunk)
    return [c for c in chunks if c.strip()]


def _open_fence(text: str) -> str | None:
    """The language of the code block left open at the end of ``text``, else None."""
    fences = _FENCE.findall(text)
    return fences[-1] if len(fences) % 2 else None


def text_messages(
    text: str, *, title: str | None = None, colour: discord.Colour = COLOUR, footer: str = ""
) -> list[Message]:
    """Long text as embeds, one per message, each within the embed limits."""
    pages = split_text(text, EMBED_DESCRIPTION)
    messages = []
    for number, page in enumerate(pages, start=1):
        embed = discord.Embed(description=page, colour=colour)
        if number == 1 and title:
            embed.title = clip(title, EMBED_TITLE)
        if number == len(pages) and footer:
            embed.set_footer(text=clip(footer, 1000))
        messages.append(Message(embeds=[embed]))
    return messages


def ranked_lines(items: Iterable[tuple[str, float]], limit: int = 10) -> str:
    """``label  ███░░ 31.0%`` lines, best first, as they come."""
    rows = list(items)[:limit]
    width = max((len(label) for label, _ in rows), default=0)
    return "\n".join(f"`{label:<{width}}` `{bar(s)}` {percent(s)}" for label, s in rows)


def choices(options: Iterable[tuple[str, str]]) -> list[app_commands.Choice[str]]:
    """An autocomplete answer from (name, value) pairs, within Discord's limits: values
    too long to send are left out, names clipped, MAX_CHOICES at most."""
    kept: list[app_commands.Choice[str]] = []
    for name, value in options:
        if len(value) <= CHOICE_CHARS:
            kept.append(app_commands.Choice(name=clip(name, CHOICE_CHARS), value=value))
            if len(kept) == MAX_CHOICES:
                break
    return kept


def describe_wait(update: JobUpdate, *, what: str = "request") -> str:
    """The line a waiting user sees: queue position, loading, or step progress."""
    if update.state is JobState.QUEUED:
        ahead = update.position or 0
        if ahead == 0:
            return f"⏳ Your {what} is next in line…"
        return f"⏳ {plural(ahead, 'request')} ahead of yours…"
    if update.state is JobState.LOADING:
        return "📦 Loading the model (the first request takes a little longer)…"
    if update.progress is None:
        return "⚙️ Working on it…"
    done, total = update.progress
    fraction = done / total if total else 0.0
    line = f"⚙️ Step {done}/{total} `{bar(fraction, 16)}` {elapsed(update.elapsed_s)}"
    if 0 < done < total:
        remaining = update.elapsed_s / done * (total - done)
        line += f", about {remaining:.0f} s left"
    return line


def elapsed(seconds: float) -> str:
    """``12 s elapsed``, or ``just started`` within the first second."""
    return f"{seconds:.0f} s elapsed" if seconds >= 1 else "just started"
