"""Where one request's wait and result are shown: the ``Surface`` each platform implements.

A Discord surface is an interaction (its deferred "thinking…" response, its followups,
its channel once the token has expired); a Slack surface is a placeholder message in a
channel with the reply in its thread. The job life cycle (``chat.jobs``) only ever talks
to this protocol, so queue positions, progress, restarts, errors and upload limits work
the same way on every platform.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Protocol

from inference import Result

from .cards import Button, Reply

#: ``sent(n)``: the first ``n`` messages of a reply have been delivered.
Sent = Callable[[int], Awaitable[None]]


class Surface(Protocol):
    #: "discord", "slack": which platform's journal rows are this surface's.
    platform: str
    #: Whom the service counts the request against (fair share, per-user bound).
    user: Hashable
    #: The largest file the reply may carry, in bytes.
    filesize_limit: int

    @property
    def can_edit(self) -> bool:
        """The placeholder can still be edited (a Discord token that is young enough)."""

    @property
    def deliverable(self) -> bool:
        """A result can still reach the user some way (else a resumed job is dropped)."""

    def reply_to(self) -> dict[str, Any]:
        """What rebuilds this surface after a restart (journaled as JSON; secrets in it
        are never logged)."""

    async def acknowledge(self) -> None:
        """Show a placeholder for the result (within the platform's deadline)."""

    async def show_wait(self, text: str, buttons: list[Button] | None) -> None:
        """Put ``text`` (the queue position or progress) in the placeholder, with
        ``buttons`` (None: leave them as they are)."""

    def cancel_button(self, task: str, job_id: str) -> Button | None:
        """The button that cancels job ``job_id`` of ``task`` while it waits (a fresh
        job's, or one resumed after a restart); None where the platform offers none."""

    async def render(self, task: str, result: Result, args: dict[str, Any]) -> Reply:
        """The reply for ``result`` on this platform (its buttons, its upload limit)."""

    async def deliver(self, reply: Reply, *, note: str = "", skip: int = 0, sent: Sent) -> None:
        """Put ``reply`` in place of the placeholder. ``note`` goes above it; ``skip``
        messages were delivered before a restart; ``sent(n)`` is awaited as they go."""

    async def tell(self, message: str) -> None:
        """A short word to the user alone, in place of the placeholder."""
