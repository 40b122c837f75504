"""The showcase's files under DATA_DIR: ``showcase/<server>/<post>/<file>``, and for an
image a thumbnail beside it, made once when the file is saved. All of it blocking work,
run in a worker thread (never on the event loop, nor on the store's own thread).
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
from pathlib import Path

from PIL import Image

ROOT = "showcase"
THUMBNAIL = "thumbnail.webp"
#: The longest side of a thumbnail, in pixels (two columns of a phone, one of a desktop
#: grid, at 2x).
THUMBNAIL_SIDE = 480
#: A file name as the showcase keeps it: no path, no surprises.
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def safe_name(name: str) -> str:
    """``name`` reduced to a plain file name (letters, digits, ``._-``)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(name)).lstrip("._-")[:100]
    return cleaned if _SAFE_NAME.fullmatch(cleaned) else "file"


_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def server_dir(data_dir: Path, server_id: str) -> Path:
    if not _ID.fullmatch(server_id):  # a platform's id; never a path
        raise ValueError(f"not a server id: {server_id!r}")
    return data_dir / ROOT / server_id


def post_dir(data_dir: Path, server_id: str, post_id: int) -> Path:
    return server_dir(data_dir, server_id) / str(int(post_id))


def file_path(data_dir: Path, server_id: str, post_id: int, name: str) -> Path | None:
    """The stored file of a post, or None when there is none (or the name is not one the
    showcase would have written)."""
    if name != safe_name(name):
        return None
    path = post_dir(data_dir, server_id, post_id) / name
    return path if path.is_file() else None


async def save(data_dir: Path, server_id: str, post_id: int, name: str, data: bytes) -> None:
    await asyncio.to_thread(_save, post_dir(data_dir, server_id, post_id), name, data)


async def remove_post(data_dir: Path, server_id: str, post_id: int) -> None:
    await asyncio.to_thread(shutil.rmtree, post_dir(data_dir, server_id, post_id), True)


async def remove_server(data_dir: Path, server_id: str) -> None:
    await asyncio.to_thread(shutil.rmtree, server_dir(data_dir, server_id), True)


def _save(folder: Path, name: str, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / name, data)
    if name.lower().endswith(".png"):
        _write(folder / THUMBNAIL, thumbnail(data))


def _write(path: Path, data: bytes) -> None:
    """Write through a temporary file: a reader never sees half a file."""
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    partial.replace(path)


def thumbnail(png: bytes, side: int = THUMBNAIL_SIDE) -> bytes:
    """A WebP of the image, its longest side at most ``side`` pixels."""
    with Image.open(io.BytesIO(png)) as image:
        image.thumbnail((side, side))
        out = io.BytesIO()
        image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB").save(
            out, "WEBP", quality=80
        )
    return out.getvalue()
