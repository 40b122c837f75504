"""One ``chat.update`` allowance per workspace, shared by every job.

Slack lets an app call ``chat.update`` about 50 times a minute in a workspace (Tier 3),
however many placeholders it is editing. Edits are offered: sent now when the last
minute has room, else kept (only the latest per placeholder) and sent when a slot
frees. A placeholder's last edit (its "done" line) is offered as ``final``: it goes
ahead of every progress edit, and nothing waits for it (the answer is in the thread
already).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

Send = Callable[[], Awaitable[object]]

#: How long a waiting progress edit sleeps before it looks again for a slot that an
#: urgent edit did not take.
POLL_S = 0.05


@dataclass
class Slot:
    """One edit's place in its workspace's window. Its time moves to when the call
    returned (``done``): Slack counts a call when it arrives, which may be well after
    the slot was taken, so a window counted from the take would let the next minute's
    edits overlap this one's at Slack."""

    at: float

    def done(self) -> None:
        self.at = time.monotonic()


@dataclass
class _Team:
    sent: deque[Slot] = field(default_factory=deque)
    urgent: int = 0


class EditThrottle:
    """At most ``per_minute`` edits in any ``window_s`` seconds, per workspace."""

    def __init__(self, per_minute: int, window_s: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self._teams: dict[str, _Team] = {}
        #: The latest edit waiting per message, and whether it is final.
        self._pending: dict[Hashable, tuple[Send, bool]] = {}
        self._flushers: dict[Hashable, asyncio.Task[None]] = {}
        self._sending: set[Hashable] = set()

    def _room(self, team: _Team, now: float) -> float:
        """0 when ``team`` may edit now, else the seconds until its oldest edit leaves
        the window."""
        team.sent = deque(slot for slot in team.sent if slot.at > now - self.window_s)
        if len(team.sent) < self.per_minute:
            return 0.0
        return min(slot.at for slot in team.sent) + self.window_s - now

    async def acquire(self, team_id: str, *, urgent: bool = True) -> Slot:
        """Wait for a slot in ``team_id``'s window and take it (call ``done`` on it once
        the edit returned). Urgent edits go first: a progress edit waits while one is
        waiting."""
        team = self._teams.setdefault(team_id, _Team())
        if urgent:
            team.urgent += 1
        try:
            while True:
                now = time.monotonic()
                wait = self._room(team, now)
                if wait == 0 and (urgent or team.urgent == 0):
                    slot = Slot(now)
                    team.sent.append(slot)
                    return slot
                await asyncio.sleep(max(wait, POLL_S))
        finally:
            if urgent:
                team.urgent -= 1

    def offer(self, team_id: str, key: Hashable, send: Send, *, final: bool = False) -> None:
        """Send an edit of the message ``key`` when ``team_id`` has room: at once, or
        later in place of any edit of ``key`` still waiting (only the latest is sent).
        A ``final`` edit goes ahead of progress edits and is never replaced."""
        if key in self._pending and self._pending[key][1] and not final:
            return  # a progress edit never replaces the final one
        self._pending[key] = (send, final)
        flusher = self._flushers.get(key)
        if flusher is None or flusher.done():
            self._flushers[key] = asyncio.create_task(self._flush(team_id, key), name=f"edit-{key}")

    async def drop(self, key: Hashable) -> None:
        """Forget the waiting progress edit of ``key`` (its result is about to replace
        it); one already on its way is let finish first, so that it cannot land after
        the result."""
        self._pending.pop(key, None)
        flusher = self._flushers.pop(key, None)
        if flusher is None:
            return
        if key not in self._sending:
            flusher.cancel()
        await asyncio.wait([flusher])

    async def drain(self, timeout: float) -> None:
        """Let the waiting edits go out, for at most ``timeout`` seconds (the app is
        stopping: "restarting" notes and "done" lines should reach their users)."""
        flushers = [f for f in self._flushers.values() if not f.done()]
        if flushers:
            _, late = await asyncio.wait(flushers, timeout=timeout)
            for flusher in late:
                flusher.cancel()

    async def _flush(self, team_id: str, key: Hashable) -> None:
        try:
            while key in self._pending:  # (an edit offered while the last one was sent)
                slot = await self.acquire(team_id, urgent=self._pending[key][1])
                send, _ = self._pending.pop(key, (None, False))
                if send is None:
                    slot.done()
                    continue
                self._sending.add(key)
                try:
                    await send()
                except Exception as exc:  # a deleted message, a refused edit: the job goes on
                    log.info("placeholder edit failed: %s", exc)
                finally:
                    slot.done()
                    self._sending.discard(key)
        finally:
            if self._flushers.get(key) is asyncio.current_task():
                del self._flushers[key]
