"""Renderers of the image commands: /imagine.

An image goes out as a PNG attachment shown inside an embed that lists the prompt and
parameters. The embed is also the record a Regenerate button reads back
(``request_from_embed``), so that button needs no state on the bot's side.
"""

from __future__ import annotations

import asyncio
import io
import re
from typing import Any

import discord
from PIL import Image

from inference.images import fit_png
from inference.tasks.imagine import ImagineResult

from ..errors import UserError
from .base import COLOUR, NEUTRAL, Reply, render

#: Field names of the image embed; ``request_from_embed`` reads them back.
SEED, STEPS, SIZE, TIME, NEGATIVE = "Seed", "Steps", "Size", "Time", "Negative prompt"

# Markdown characters of prompts are escaped with a backslash (and every backslash is
# doubled), so that a prompt shows as typed and reads back exactly.
_MARKDOWN = re.compile(r"([\\*_~`|<>#\-\[\]()])")
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_SIZE = re.compile(r"\d+x\d+")
_NUMBER = re.compile(r"\d+")

WITHHELD = (
    "🙈 The model's safety checker flagged this image, so it is not shown. "
    "Try rewording the prompt, or another seed."
)


def escape(text: str) -> str:
    """``text`` with its markdown escaped, to show as typed in an embed."""
    return _MARKDOWN.sub(r"\\\1", text)


def unescape(text: str) -> str:
    """The inverse of ``escape``."""
    return _ESCAPED.sub(r"\1", text)


@render.register
def _(
    result: ImagineResult, png: bytes | None = None, view: discord.ui.View | None = None
) -> Reply:
    """The image (``png`` when given: ``result.png`` made to fit an upload limit) in an
    embed with the prompt, seed, steps, size and time; a short note when it was withheld."""
    png = png or result.png
    if png is None:
        return Reply.one(embeds=[discord.Embed(description=WITHHELD, colour=NEUTRAL)])
    embed = discord.Embed(description=escape(result.prompt), colour=COLOUR)
    embed.add_field(name=SEED, value=f"`{result.seed}`")
    embed.add_field(name=STEPS, value=str(result.steps))
    embed.add_field(name=SIZE, value=result.size)
    embed.add_field(name=TIME, value=f"{result.seconds:.1f} s")
    if result.negative_prompt:
        embed.add_field(name=NEGATIVE, value=escape(result.negative_prompt), inline=False)
    embed.set_image(url=f"attachment://{result.filename}")
    notes = [result.model, f"guidance {result.guidance:g}"]
    width, height = png_size(png)
    if (width, height) != (result.width, result.height):
        notes.append(f"scaled down to {width}x{height} to fit the upload limit")
    if result.truncated:
        notes.append("the prompt was longer than the model reads; its end was left out")
    embed.set_footer(text=" · ".join(notes))
    return Reply.one(embeds=[embed], files=[(result.filename, png)], view=view)


async def render_image(
    result: ImagineResult, *, max_bytes: int, view: discord.ui.View | None = None
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
    return render(result, png=png, view=view)


def request_from_embed(embed: discord.Embed) -> dict[str, Any] | None:
    """The inputs of the request an image embed shows (its seed left out), or None when
    ``embed`` is not one of ours."""
    fields = {field.name: field.value or "" for field in embed.fields}
    size = _SIZE.search(fields.get(SIZE, ""))
    steps = _NUMBER.search(fields.get(STEPS, ""))
    if not embed.description or size is None or steps is None:
        return None
    request: dict[str, Any] = {
        "prompt": unescape(embed.description),
        "steps": int(steps[0]),
        "size": size[0],
    }
    if fields.get(NEGATIVE):
        request["negative_prompt"] = unescape(fields[NEGATIVE])
    return request


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG, from its header (nothing is decoded)."""
    with Image.open(io.BytesIO(png)) as image:
        return image.size


def byte_size(count: int) -> str:
    """``512 bytes``, ``12 KiB``, ``8 MiB``."""
    if count < 2**10:
        return f"{count} bytes"
    if count < 2**20:
        return f"{count / 2**10:.0f} KiB"
    return f"{count / 2**20:.0f} MiB"
