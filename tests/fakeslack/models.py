"""The fake Slack's state: workspace, users, channels, messages, views, files, records."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    """A Slack-looking id: ``new_id("U")`` -> ``"U0000000007"``."""
    return f"{prefix}{next(_ids):010d}"


class SlackError(Exception):
    """A Web API refusal: ``{"ok": false, "error": error}`` (HTTP ``status``)."""

    def __init__(self, error: str, detail: str = "", status: int = 200) -> None:
        super().__init__(f"{error}: {detail}" if detail else error)
        self.error, self.detail, self.status = error, detail, status


class FakeClock:
    """Monotonic seconds that a test can move forward with :meth:`advance`: trigger ids
    (3 s) and rate-limit windows are measured on it; ack deadlines are real time."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class User:
    id: str
    name: str
    real_name: str = ""
    is_bot: bool = False

    def info(self, team_id: str) -> dict[str, Any]:
        real = self.real_name or self.name
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": real,
            "is_bot": self.is_bot,
            "deleted": False,
            "tz": "Europe/Berlin",
            "profile": {"display_name": self.name, "real_name": real},
        }


@dataclass
class Edit:
    """One version of a message (the text and blocks before a ``chat.update``)."""

    text: str
    blocks: list[dict[str, Any]]
    at: float


@dataclass
class Message:
    """A message in a channel; ``edits`` holds the earlier versions, oldest first."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str
    bot_id: str | None = None
    thread_ts: str | None = None
    files: list[UploadedFile] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    deleted: bool = False

    def payload(self) -> dict[str, Any]:
        """The message as Slack sends it in API answers and interaction payloads."""
        data: dict[str, Any] = {"type": "message", "user": self.user, "ts": self.ts}
        data["text"] = self.text
        if self.blocks:
            data["blocks"] = self.blocks
        if self.bot_id:
            data["bot_id"] = self.bot_id
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        if self.files:
            data["files"] = [f.info() for f in self.files]
        return data


@dataclass
class Ephemeral:
    """A ``chat.postEphemeral`` message: only ``user`` sees it."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_member: bool = True  # the bot's membership
    messages: list[Message] = field(default_factory=list)

    @property
    def is_public(self) -> bool:
        """A public channel (not private, not a direct message)."""
        return not (self.is_private or self.id.startswith("D"))

    def info(self) -> dict[str, Any]:
        is_im = self.id.startswith("D")  # a direct message with the bot
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": self.is_public,
            "is_group": self.is_private and not is_im,
            "is_im": is_im,
            "is_private": self.is_private,
            "is_archived": False,
            "is_member": self.is_member,
        }

    def message(self, ts: str) -> Message | None:
        return next((m for m in self.messages if m.ts == ts and not m.deleted), None)

    def thread(self, thread_ts: str) -> list[Message]:
        """The replies under ``thread_ts`` (the parent not included), oldest first."""
        return [m for m in self.messages if m.thread_ts == thread_ts and not m.deleted]


@dataclass
class View:
    """A modal the app opened with ``views.open`` (``view`` is the latest payload)."""

    id: str
    user: str
    view: dict[str, Any]
    hash: str
    closed: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)

    def payload(self, team_id: str, app_id: str, bot_id: str) -> dict[str, Any]:
        data = {"id": self.id, "team_id": team_id, "app_id": app_id, "bot_id": bot_id}
        data |= {"hash": self.hash, "root_view_id": self.id, "previous_view_id": None}
        data |= {"private_metadata": "", "callback_id": "", "external_id": ""}
        data |= self.view
        data.setdefault("state", {"values": {}})
        return data


@dataclass
class UploadedFile:
    """A file uploaded with ``files_upload_v2``: the bytes, and where it was shared."""

    id: str
    name: str
    length: int
    data: bytes = b""
    title: str = ""
    alt_txt: str | None = None
    uploaded: bool = False
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title or self.name,
            "size": len(self.data),
            "channels": [self.channel] if self.channel else [],
        }


@dataclass
class RateLimited:
    """A call refused with HTTP 429."""

    method: str
    at: float
    retry_after: int
