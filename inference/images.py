"""PNG helpers for image tasks: encoding with text metadata, and shrinking to fit an upload.

Pure functions on PIL images and bytes; nothing here knows about models or Discord.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping

from PIL import Image, PngImagePlugin

#: zlib level of ``encode_png``: 6 is PIL's default, a good size/speed balance for
#: images made on every request; ``fit_png`` goes to 9 when size matters more.
DEFAULT_COMPRESS_LEVEL = 6


def encode_png(
    image: Image.Image,
    text: Mapping[str, str] | None = None,
    *,
    compress_level: int = DEFAULT_COMPRESS_LEVEL,
) -> bytes:
    """``image`` as PNG bytes carrying ``text`` as text chunks.

    Keys become tEXt chunks (iTXt when a value is not Latin-1, such as an emoji in
    a prompt); PIL reads both back into ``Image.open(...).text``. The output depends
    only on the pixels, the text and the level (no timestamps), so the same image
    and metadata always give the same bytes.
    """
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, compress_level=compress_level)
    return buffer.getvalue()


def png_text(png: bytes) -> dict[str, str]:
    """The text chunks of a PNG (tEXt, zTXt and iTXt)."""
    with Image.open(io.BytesIO(png)) as image:
        image.load()  # text chunks after the image data are read only on load
        return dict(getattr(image, "text", {}))


def fit_png(png: bytes, max_bytes: int) -> bytes:
    """``png`` made to weigh at most ``max_bytes``, keeping its text metadata.

    Returns the input unchanged when it already fits; else re-encodes it at the
    highest compression, then scales it down (Lanczos, keeping the aspect ratio)
    until it fits. Raises ``ValueError`` when even a 1-pixel image is too big
    (``max_bytes`` smaller than the metadata).
    """
    if max_bytes <= 0:
        raise ValueError("max_bytes must be positive")
    if len(png) <= max_bytes:
        return png
    with Image.open(io.BytesIO(png)) as opened:
        opened.load()
        text = dict(getattr(opened, "text", {}))
        image = opened.copy()

    data = encode_png(image, text, compress_level=9)
    width, height = image.size
    scale = 1.0
    while len(data) > max_bytes:
        # The size of a PNG grows roughly with its pixel count, so aim at the area
        # ratio; shrink by at least 10 % a round so that the loop always ends.
        scale *= min(0.9, math.sqrt(max_bytes / len(data)) * 0.95)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        data = encode_png(image.resize(size, Image.Resampling.LANCZOS), text, compress_level=9)
        if size == (1, 1) and len(data) > max_bytes:
            raise ValueError(f"a PNG cannot be made smaller than {len(data)} bytes")
    return data


def slug(text: str, max_chars: int = 40, fallback: str = "image") -> str:
    """A short lower-case file-name piece from ``text``: ``"A red fox!"`` -> ``"a-red-fox"``."""
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(words) > max_chars:
        words = words[:max_chars].rsplit("-", 1)[0] or words[:max_chars]
    return words.strip("-") or fallback
