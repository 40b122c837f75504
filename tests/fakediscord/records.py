"""What the fake remembers, for assertions: requests, messages, interactions.

Everything here is plain data plus a few read-only properties; the fake's server code
in ``server.py`` is the only writer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from tests.changes import ChangeNotifier

if TYPE_CHECKING:
    from .models import FakeClock

T = TypeVar("T")

EPHEMERAL = 1 << 6  # message flag 64
LOADING = 1 << 7  # message flag 128: a deferred "is thinking..." message


class DiscordError(Exception):
    """An error answer, shaped like Discord's: ``{"code": ..., "message": ..., "errors": ...}``."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def payload(self) -> dict[str, Any]:
        """The JSON body of the error response."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


@dataclass
class UploadedFile:
    """A file the bot uploaded (``files[n]`` of a multipart request) or a test registered."""

    filename: str
    data: bytes
    content_type: str | None = None
    index: int = 0  # the n of files[n]
    attachment_id: int | None = None  # set once hosted as an attachment
    url: str | None = None

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)


@dataclass
class RequestRecord:
    """One HTTP request the bot made, and how the fake answered it."""

    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    json: Any  # JSON body, or the parsed payload_json of a multipart body
    files: list[UploadedFile]
    route: str | None = None  # the OpenAPI path template it matched
    status: int | None = None
    error: dict[str, Any] | None = None  # the error body, when status >= 400

    def __repr__(self) -> str:
        error = f" {self.error}" if self.error else ""
        return f"<{self.method} {self.path} -> {self.status}{error}>"


@dataclass(frozen=True)
class Mentions:
    """Who a message write pings, given its content and ``allowed_mentions``.

    Plain edits ping nobody.
    """

    everyone: bool = False  # @everyone or @here
    users: tuple[int, ...] = ()
    roles: tuple[int, ...] = ()

    @classmethod
    def compute(
        cls, content: str | None, allowed: dict[str, Any] | None, default_parse: tuple[str, ...]
    ) -> Mentions:
        """Apply Discord's rules: without ``allowed_mentions``, ``default_parse`` applies."""
        content = content or ""
        if allowed is None:
            parse, users, roles = set(default_parse), set(), set()
        else:
            parse = set(allowed.get("parse") or ())
            users = {int(u) for u in allowed.get("users") or ()}
            roles = {int(r) for r in allowed.get("roles") or ()}
        everyone = "everyone" in parse and ("@everyone" in content or "@here" in content)
        mentioned_users = [int(u) for u in re.findall(r"<@!?(\d+)>", content)]
        mentioned_roles = [int(r) for r in re.findall(r"<@&(\d+)>", content)]
        return cls(
            everyone=everyone,
            users=tuple(u for u in mentioned_users if "users" in parse or u in users),
            roles=tuple(r for r in mentioned_roles if "roles" in parse or r in roles),
        )

    def __or__(self, other: Mentions) -> Mentions:
        return Mentions(
            self.everyone or other.everyone, self.users + other.users, self.roles + other.roles
        )


@dataclass
class MessageWrite:
    """One create or edit of a message: the body as sent, its files and resulting pings."""

    kind: str  # "create" or "edit"
    body: dict[str, Any]
    files: list[UploadedFile]
    mentions: Mentions
    at: float  # fake clock time

    @property
    def allowed_mentions(self) -> dict[str, Any] | None:
        """The ``allowed_mentions`` sent with this write (``None`` when absent)."""
        return self.body.get("allowed_mentions")


@dataclass
class MessageRecord:
    """A message as the fake holds it: current Discord payload plus every write that made it."""

    id: int
    channel_id: int
    data: dict[str, Any]
    # "original", "followup", "channel" (the bot's channel message) or "user" (posted by a test)
    kind: str
    writes: list[MessageWrite] = field(default_factory=list)
    interaction: InteractionRecord | None = None
    files: list[UploadedFile] = field(default_factory=list)  # currently attached
    deleted: bool = False
    reactions: list[str] = field(default_factory=list)

    @property
    def content(self) -> str:
        """Current text content."""
        return self.data.get("content") or ""

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """Current embeds, as dicts."""
        return self.data.get("embeds") or []

    @property
    def components(self) -> list[dict[str, Any]]:
        """Current components (action rows), as dicts."""
        return self.data.get("components") or []

    @property
    def attachments(self) -> list[dict[str, Any]]:
        """Current attachment objects (id, filename, size, url...)."""
        return self.data.get("attachments") or []

    @property
    def flags(self) -> int:
        """Message flags bitfield."""
        return self.data.get("flags") or 0

    @property
    def ephemeral(self) -> bool:
        """Only the invoking user sees it (flag 64)."""
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        """Still the deferred "is thinking..." placeholder (flag 128)."""
        return bool(self.flags & LOADING)

    @property
    def edits(self) -> list[MessageWrite]:
        """Every write after the first."""
        return self.writes[1:]

    @property
    def mentions(self) -> Mentions:
        """Who was notified: by the create, or by the edit that filled a deferred message."""
        result = Mentions()
        for write in self.writes:
            result = result | write.mentions
        return result

    @property
    def custom_ids(self) -> list[str]:
        """``custom_id`` of every component, in order (nested ones included)."""
        return [c["custom_id"] for c in iter_components(self.components) if c.get("custom_id")]

    def component(self, custom_id: str) -> dict[str, Any]:
        """The component with this ``custom_id``."""
        for comp in iter_components(self.components):
            if comp.get("custom_id") == custom_id:
                return comp
        raise KeyError(
            f"message {self.id} has no component {custom_id!r}; it has {self.custom_ids}"
        )

    def file(self, filename: str) -> UploadedFile:
        """The attached file called ``filename``."""
        for f in self.files:
            if f.filename == filename:
                return f
        raise KeyError(
            f"message {self.id} has no file {filename!r}; it has {[f.filename for f in self.files]}"
        )

    def __repr__(self) -> str:
        content = self.content[:40]
        return (
            f"<MessageRecord {self.kind} id={self.id} content={content!r} files={len(self.files)}>"
        )


def iter_components(components: list[dict[str, Any]]) -> Any:
    """Every component in a tree of rows/containers/sections, depth first."""
    for comp in components:
        yield comp
        yield from iter_components(comp.get("components") or [])
        if isinstance(comp.get("accessory"), dict):
            yield comp["accessory"]


@dataclass
class Callback:
    """One interaction callback (initial response) the bot sent."""

    type: int  # 4 message, 5 deferred message, 6 deferred update, 7 update, 8 autocomplete, 9 modal
    data: dict[str, Any] | None
    elapsed: float  # seconds from dispatch, on the fake clock
    files: list[UploadedFile] = field(default_factory=list)


@dataclass
class InteractionRecord:
    """One interaction the fake dispatched, and everything the bot did with it."""

    id: int
    token: str
    type: int  # 2 command, 3 component, 4 autocomplete, 5 modal submit
    payload: dict[str, Any]  # as dispatched in INTERACTION_CREATE
    dispatched_at: float  # fake clock time
    response_deadline: float
    attachment_size_limit: int
    notifier: ChangeNotifier
    clock: FakeClock
    callbacks: list[Callback] = field(default_factory=list)
    late_callbacks: list[Callback] = field(default_factory=list)  # refused: after the deadline
    original: MessageRecord | None = None
    followups: list[MessageRecord] = field(default_factory=list)

    @property
    def name(self) -> str | None:
        """The command name (or custom_id for components)."""
        data = self.payload.get("data") or {}
        return data.get("name") or data.get("custom_id")

    @property
    def responded(self) -> bool:
        """True once a first callback was accepted."""
        return bool(self.callbacks)

    @property
    def response(self) -> Callback | None:
        """The first (accepted) callback."""
        return self.callbacks[0] if self.callbacks else None

    @property
    def response_time(self) -> float | None:
        """Seconds from dispatch to the first accepted callback."""
        return self.callbacks[0].elapsed if self.callbacks else None

    @property
    def deferred(self) -> bool:
        """The first response was a defer (type 5 or 6)."""
        return bool(self.callbacks) and self.callbacks[0].type in (5, 6)

    @property
    def ephemeral(self) -> bool:
        """The response message is ephemeral."""
        if self.original is not None:
            return self.original.ephemeral
        data = self.callbacks[0].data if self.callbacks else None
        return bool(((data or {}).get("flags") or 0) & EPHEMERAL)

    @property
    def messages(self) -> list[MessageRecord]:
        """The response message (if any) then the followups, deleted ones included."""
        return ([self.original] if self.original is not None else []) + list(self.followups)

    @property
    def choices(self) -> list[dict[str, Any]] | None:
        """Autocomplete choices the bot answered, once it has."""
        for cb in self.callbacks:
            if cb.type == 8:
                return (cb.data or {}).get("choices", [])
        return None

    @property
    def age(self) -> float:
        """Seconds since dispatch, on the fake clock."""
        return self.clock.now() - self.dispatched_at

    async def wait_for_response(self, timeout: float = 5.0) -> Callback:
        """Wait for the first callback; ``TimeoutError`` if none comes."""
        return await self.notifier.wait_for(
            lambda: self.response, timeout, f"a response to {self.name!r}"
        )

    async def wait_until(
        self, predicate: Callable[[InteractionRecord], T], timeout: float = 5.0
    ) -> T:
        """Wait until ``predicate(self)`` is truthy; returns its value."""
        return await self.notifier.wait_for(
            lambda: predicate(self), timeout, f"a condition on {self.name!r}"
        )

    async def wait_for_message(self, timeout: float = 5.0) -> MessageRecord:
        """Wait until the response message has real content (not the deferred placeholder)."""

        def ready() -> MessageRecord | None:
            original = self.original
            return original if original is not None and not original.loading else None

        return await self.notifier.wait_for(
            ready, timeout, f"the response message of {self.name!r}"
        )

    async def wait_for_followups(self, count: int = 1, timeout: float = 5.0) -> list[MessageRecord]:
        """Wait until at least ``count`` followups were sent; returns them."""
        return await self.notifier.wait_for(
            lambda: self.followups if len(self.followups) >= count else None,
            timeout,
            f"{count} followup(s)",
        )

    def __repr__(self) -> str:
        return (
            f"<InteractionRecord type={self.type} name={self.name!r}"
            f" callbacks={[c.type for c in self.callbacks]}"
            f" followups={len(self.followups)}>"
        )
