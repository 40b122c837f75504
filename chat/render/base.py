"""The rendering primitives: text splitting and escaping, cards, bars, sizes and
durations, autocomplete choices, wait lines; and the limits the renderers work within."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterable

from inference import InvalidInput
from inference.jobs import JobState, JobUpdate
from inference.results import Result
from inference.tasks.base import clean_text

from ..cards import COLOUR, Card, Message, Reply

# The renderers keep within Discord's limits, the tightest of the platforms'; Slack's
# renderer splits what its blocks cannot hold.
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


# discord.utils.escape_markdown's expression (discord.py 2.7, links not spared): a
# markdown character, a quote, heading or list mark, or a whole masked link.
_MARKDOWN = re.compile(
    r"(?P<markdown>[_\\~|\*`]|^>(?:>>)?\s|\[.+\]\(.+\)|^#{1,3}|^\s*-)", re.MULTILINE
)
# Markdown characters left unescaped after that (inside a masked link): those preceded
# by an even number of backslashes.
_UNESCAPED = re.compile(r"(?<!\\)((?:\\\\)*)([*_~|`])")


def escape(text: str) -> str:
    """``text`` with every markdown character escaped, also in a slice of a longer text.

    Escaped as Discord's ``escape_markdown`` does it (done here: no platform library),
    then also the characters inside a masked link, which that escapes as a whole: in a
    slice followed by our own ``**`` marks they would pair with those.
    """
    return _UNESCAPED.sub(r"\1\\\2", _MARKDOWN.sub(r"\\\1", text))


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
    text: str, *, title: str | None = None, colour: int = COLOUR, footer: str = ""
) -> list[Message]:
    """Long text as cards, one per message, each within the embed limits."""
    pages = split_text(text, EMBED_DESCRIPTION)
    messages = []
    for number, page in enumerate(pages, start=1):
        card = Card(description=page, colour=colour)
        if number == 1 and title:
            card.title = clip(title, EMBED_TITLE)
        if number == len(pages) and footer:
            card.footer = clip(footer, 1000)
        messages.append(Message(cards=[card]))
    return messages


def ranked_lines(items: Iterable[tuple[str, float]], limit: int = 10) -> str:
    """``label  ███░░ 31.0%`` lines, best first, as they come."""
    rows = list(items)[:limit]
    width = max((len(label) for label, _ in rows), default=0)
    return "\n".join(f"`{label:<{width}}` `{bar(s)}` {percent(s)}" for label, s in rows)


Choice = tuple[str, str]


def choices(options: Iterable[Choice]) -> list[Choice]:
    """An autocomplete answer from (name, value) pairs, within Discord's limits: values
    too long to send are left out, names clipped, MAX_CHOICES at most."""
    kept: list[Choice] = []
    for name, value in options:
        if len(value) <= CHOICE_CHARS:
            kept.append((clip(name, CHOICE_CHARS), value))
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
