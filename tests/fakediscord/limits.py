"""The limits Discord enforces on message writes, answered the way Discord answers them."""

from __future__ import annotations

from typing import Any

from .records import DiscordError, UploadedFile

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_FILES = 10
DEFAULT_ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024  # 10 MiB

# (field, limit) for the text parts of an embed
_EMBED_FIELDS = {"title": 256, "description": 4096}


def form_error(path: list[str | int], code: str, message: str) -> DiscordError:
    """A 400 "Invalid Form Body" (50035) with the error nested at ``path``, like Discord."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {str(key): errors}
    return DiscordError(400, 50035, "Invalid Form Body", errors)


def _too_long(path: list[str | int], limit: int) -> DiscordError:
    return form_error(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _embed_text_length(embed: dict[str, Any]) -> int:
    """Characters that count towards the 6,000 total: title, description, fields, footer, author."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    for f in embed.get("fields") or []:
        total += len(f.get("name") or "") + len(f.get("value") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total


def check_message_write(
    body: dict[str, Any] | None, files: list[UploadedFile], size_limit: int
) -> None:
    """Raise :class:`DiscordError` if this create/edit breaks a Discord limit."""
    body = body or {}
    content = body.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT:
        raise _too_long(["content"], MAX_CONTENT)

    embeds = body.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        raise _too_long(["embeds"], MAX_EMBEDS)
    for i, embed in enumerate(embeds):
        for name, limit in _EMBED_FIELDS.items():
            if len(embed.get(name) or "") > limit:
                raise _too_long(["embeds", i, name], limit)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            raise _too_long(["embeds", i, "fields"], 25)
        for j, f in enumerate(fields):
            if len(f.get("name") or "") > 256:
                raise _too_long(["embeds", i, "fields", j, "name"], 256)
            if len(f.get("value") or "") > 1024:
                raise _too_long(["embeds", i, "fields", j, "value"], 1024)
        if len((embed.get("footer") or {}).get("text") or "") > 2048:
            raise _too_long(["embeds", i, "footer", "text"], 2048)
        if len((embed.get("author") or {}).get("name") or "") > 256:
            raise _too_long(["embeds", i, "author", "name"], 256)
    if sum(_embed_text_length(e) for e in embeds) > MAX_EMBED_TOTAL:
        raise form_error(
            ["embeds"],
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
        )

    if len(files) > MAX_FILES:
        raise _too_long(["attachments"], MAX_FILES)
    for f in files:
        if f.size > size_limit:
            raise DiscordError(413, 40005, "Request entity too large")
