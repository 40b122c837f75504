"""Renderers of the image commands: /imagine.

An image goes out as a PNG attachment shown inside a card that lists the prompt and
parameters. The card is also the record a Regenerate button reads back
(``request_from_card``), so that button needs no state on the bot's side. Size choices
for autocomplete are made here too.
"""

from __future__ import annotations

import asyncio
import io
import re
from typing import Any

from PIL import Image

from inference.images import fit_png
from inference.naming import display_name
from inference.tasks.imagine import ImagineResult

from ..cards import COLOUR, NEUTRAL, Button, Card, Reply
from ..errors import UserError
from .base import Choice, byte_size, choices, render

#: Field names of the image card; ``request_from_card`` reads them back.
SEED, STEPS, SIZE, TIME, NEGATIVE = "Seed", "Steps", "Size", "Time", "Negative prompt"

# Markdown characters of prompts are escaped with a backslash (and every backslash is
# doubled), so that a prompt shows as typed and reads back exactly.
_MARKDOWN = re.compile(r"([\\*_~`|<>#\-\[\]()])")
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_SIZE = re.compile(r"\d+x\d+")
_NUMBER = re.compile(r"\d+")

#: Sizes the size option suggests (those within IMAGINE_MAX_SIZE); any WxH may be typed.
SIZES = ((512, 512), (768, 768), (1024, 1024), (512, 768), (768, 512), (768, 1024), (1024, 768))

WITHHELD = (
    "🙈 The model's safety checker flagged this image, so it is not shown. "
    "Try rewording the prompt, or another seed."
)


def escape_prompt(text: str) -> str:
    """``text`` with its markdown escaped, to show as typed in a card and to read back
    exactly with ``unescape_prompt`` (``base.escape`` need not be reversible)."""
    return _MARKDOWN.sub(r"\\\1", text)


def unescape_prompt(text: str) -> str:
    """The inverse of ``escape_prompt``."""
    return _ESCAPED.sub(r"\1", text)


@render.register
def _(
    result: ImagineResult, png: bytes | None = None, buttons: list[Button] | None = None
) -> Reply:
    """The image (``png`` when given: ``result.png`` made to fit an upload limit) in a
    card with the prompt, seed, steps, size and time; a short note when it was withheld."""
    png = png or result.png
    if png is None:
        return Reply.one(cards=[Card(description=WITHHELD, colour=NEUTRAL)])
    card = Card(description=escape_prompt(result.prompt), colour=COLOUR, image=result.filename)
    card.add_field(name=SEED, value=f"`{result.seed}`")
    card.add_field(name=STEPS, value=str(result.steps))
    card.add_field(name=SIZE, value=result.size)
    card.add_field(name=TIME, value=f"{result.seconds:.1f} s")
    if result.negative_prompt:
        card.add_field(name=NEGATIVE, value=escape_prompt(result.negative_prompt), inline=False)
    notes = [display_name(result.model), f"guidance {result.guidance:g}"]
    width, height = png_size(png)
    if (width, height) != (result.width, result.height):
        notes.append(f"scaled down to {width}x{height} to fit the upload limit")
    if result.truncated:
        notes.append("the prompt was longer than the model reads; its end was left out")
    card.footer = " · ".join(notes)
    return Reply.one(cards=[card], files=[(result.filename, png)], buttons=buttons)


async def render_image(
    result: ImagineResult, *, max_bytes: int, buttons: list[Button] | None = None
) -> Reply:
    """The reply for ``result`` with its PNG within ``max_bytes`` (an interaction's upload
    limit): re-encoded or scaled down in a worker thread when it is bigger."""
    if result.png is None:
        return render(result)
    try:
        png = await asyncio.to_thread(fit_png, result.png, max_bytes)
    except ValueError:
        raise UserError(
            f"The image cannot be made small enough for the upload limit here "
            f"({byte_size(max_bytes)})."
        ) from None
    return render(result, png=png, buttons=buttons)


def request_from_card(card: Card) -> dict[str, Any] | None:
    """The inputs of the request an image card shows (its seed left out), or None when
    ``card`` is not one of ours."""
    fields = {field.name: field.value or "" for field in card.fields}
    size = _SIZE.search(fields.get(SIZE, ""))
    steps = _NUMBER.search(fields.get(STEPS, ""))
    if not card.description or size is None or steps is None:
        return None
    request: dict[str, Any] = {
        "prompt": unescape_prompt(card.description),
        "steps": int(steps[0]),
        "size": size[0],
    }
    if fields.get(NEGATIVE):
        request["negative_prompt"] = unescape_prompt(fields[NEGATIVE])
    return request


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG, from its header (nothing is decoded)."""
    with Image.open(io.BytesIO(png)) as image:
        return image.size


def size_choices(typed: str, max_side: int) -> list[Choice]:
    """Autocomplete choices for the size option: the common ``SIZES`` within ``max_side``
    that start with what was typed, and what was typed when it is a size of its own."""
    typed = re.sub(r"\s+", "", typed.lower()).replace("×", "x").replace("*", "x")
    sizes = [f"{w}x{h}" for w, h in SIZES if max(w, h) <= max_side]
    if _SIZE.fullmatch(typed) and typed not in sizes:
        sizes.insert(0, typed)  # the task validates it when the command runs
    shapes = {0: "square", 1: "landscape", -1: "portrait"}
    options = []
    for size in sizes:
        if size.startswith(typed):
            width, height = map(int, size.split("x"))
            options.append((f"{size} ({shapes[(width > height) - (width < height)]})", size))
    return choices(options)
