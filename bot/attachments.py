"""Reading text files that users attach to commands (``/qa file:``, ``/summarize file:``)."""

from __future__ import annotations

from pathlib import PurePath

import discord

from chat.catalogue import FILE_KIB
from chat.render.base import byte_size

from .errors import UserError

#: The largest text file read from an attachment (bytes): the catalogue's, which the
#: options' help quotes; the tasks bound the text again.
MAX_TEXT_FILE_BYTES = FILE_KIB * 1024
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")


async def read_text_attachment(
    attachment: discord.Attachment, *, max_bytes: int = MAX_TEXT_FILE_BYTES
) -> str:
    """The UTF-8 text of a ``.txt`` / ``.md`` attachment, else a ``UserError`` saying why."""
    suffix = PurePath(attachment.filename).suffix.lower()
    if suffix not in TEXT_SUFFIXES:
        raise UserError(
            f"Attach a text file ({', '.join(TEXT_SUFFIXES)}); {attachment.filename!r} is not one."
        )
    if attachment.size > max_bytes:
        raise UserError(
            f"{attachment.filename} is {byte_size(attachment.size)}; "
            f"the limit is {byte_size(max_bytes)}."
        )
    data = await attachment.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{attachment.filename} is not UTF-8 text.") from None


async def text_or_file(
    interaction: discord.Interaction,
    text: str | None,
    file: discord.Attachment | None,
    what: str,
) -> str:
    """Exactly one of a text option and a file option, as text (``what`` names it in
    errors). Downloading a file may take longer than Discord's 3 seconds, so the response
    is deferred first (``run_job`` then skips its own defer); a bad file still ends as an
    ephemeral error, and the error handler removes the public placeholder."""
    if text and file:
        raise UserError(f"Give the {what} as text or as a file, not both.")
    if file is not None:
        if not interaction.response.is_done():
            await interaction.response.defer(thinking=True)
        return await read_text_attachment(file)
    if not text:
        raise UserError(f"Give the {what}: type it, or attach a .txt or .md file.")
    return text
