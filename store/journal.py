"""The job journal: every accepted request, from before it is queued until its result
is delivered, so that a restart (or a crash) loses nothing.

It knows nothing of any chat platform: ``reply_to`` is the platform's own JSON about
where and how to deliver (for Discord: the interaction token, the channel...), and
``expires_at`` is when that way of replying closes.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .migration import Migration

if TYPE_CHECKING:
    from .db import Store

MIGRATIONS = (
    Migration(
        1,
        (
            """CREATE TABLE journal (
                id TEXT PRIMARY KEY,
                task TEXT NOT NULL,
                inputs TEXT NOT NULL,
                user_id TEXT NOT NULL,
                reply_to TEXT NOT NULL,
                expires_at REAL NOT NULL,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                finished_at REAL
            )""",
            "CREATE INDEX journal_finished_at ON journal (finished_at)",
        ),
    ),
    # How many messages of the result were delivered: a resumed delivery skips those.
    Migration(2, ("ALTER TABLE journal ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0",)),
)

#: States of an entry. Unfinished ones are run again when the bot starts.
QUEUED, RUNNING, DONE, FAILED, DROPPED = "queued", "running", "done", "failed", "dropped"
FINISHED = (DONE, FAILED, DROPPED)

_COLUMNS = "id, task, inputs, user_id, reply_to, expires_at, state, attempts, delivered, created_at"


@dataclass
class JournalEntry:
    id: str
    task: str
    inputs: dict[str, Any] = field(repr=False)
    user: str
    reply_to: dict[str, Any] = field(repr=False)  # may hold a platform's secret token
    expires_at: float
    state: str = QUEUED
    attempts: int = 0
    delivered: int = 0
    created_at: float = 0.0

    @classmethod
    def _from_row(cls, row: sqlite3.Row | tuple[Any, ...]) -> JournalEntry:
        id_, task, inputs, user, reply_to, expires_at, state, attempts, delivered, created = row
        return cls(
            id_,
            task,
            json.loads(inputs),
            user,
            json.loads(reply_to),
            expires_at,
            state,
            attempts,
            delivered,
            created,
        )


class Journal:
    """Journal entries in ``store``. Every write is committed before it returns."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(
        self,
        task: str,
        inputs: dict[str, Any],
        *,
        user: object,
        reply_to: dict[str, Any],
        expires_at: float,
    ) -> JournalEntry:
        """Journal a new request (before it is queued). ``inputs`` and ``reply_to`` must be
        JSON-safe: a ``TypeError`` here is a bug of the caller, raised before any write."""
        now = time.time()
        entry = JournalEntry(
            uuid.uuid4().hex, task, inputs, str(user), reply_to, expires_at, created_at=now
        )
        row = (
            entry.id,
            task,
            json.dumps(inputs, ensure_ascii=False),
            entry.user,
            json.dumps(reply_to),
            expires_at,
            QUEUED,
            now,
            now,
        )
        await self.store.write(
            lambda c: c.execute(
                "INSERT INTO journal (id, task, inputs, user_id, reply_to, expires_at, state,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        )
        return entry

    async def update(
        self,
        entry: JournalEntry,
        *,
        state: str | None = None,
        reply_to: dict[str, Any] | None = None,
        delivered: int | None = None,
        new_attempt: bool = False,
    ) -> None:
        """Change an unfinished entry (and ``entry`` itself to match). A finished state
        sets its finish time, from which ``prune`` counts."""
        if state is not None:
            entry.state = state
        if reply_to is not None:
            entry.reply_to = reply_to
        if delivered is not None:
            entry.delivered = delivered
        if new_attempt:
            entry.attempts += 1
        now = time.time()
        values = (
            entry.state,
            json.dumps(entry.reply_to),
            entry.delivered,
            entry.attempts,
            now,
            now if entry.state in FINISHED else None,
            entry.id,
        )
        await self.store.write(
            lambda c: c.execute(
                "UPDATE journal SET state = ?, reply_to = ?, delivered = ?, attempts = ?,"
                " updated_at = ?, finished_at = ? WHERE id = ? AND finished_at IS NULL",
                values,
            )
        )

    async def finish(self, entry: JournalEntry, state: str = DONE) -> None:
        await self.update(entry, state=state)

    async def discard(self, entry: JournalEntry) -> None:
        """Forget an entry whose request was refused before it was queued."""
        await self.store.write(lambda c: c.execute("DELETE FROM journal WHERE id = ?", (entry.id,)))

    async def unfinished(self) -> list[JournalEntry]:
        """Entries not yet delivered, oldest first."""
        rows = await self.store.read(
            lambda c: c.execute(
                f"SELECT {_COLUMNS} FROM journal WHERE finished_at IS NULL ORDER BY created_at"
            ).fetchall()
        )
        return [JournalEntry._from_row(row) for row in rows]

    async def get(self, entry_id: str) -> JournalEntry | None:
        row = await self.store.read(
            lambda c: c.execute(
                f"SELECT {_COLUMNS} FROM journal WHERE id = ?", (entry_id,)
            ).fetchone()
        )
        return None if row is None else JournalEntry._from_row(row)

    async def prune(self, keep_s: float, *, now: float | None = None) -> int:
        """Delete entries finished more than ``keep_s`` ago; returns how many."""
        cutoff = (time.time() if now is None else now) - keep_s
        return await self.store.write(
            lambda c: (
                c.execute(
                    "DELETE FROM journal WHERE finished_at IS NOT NULL AND finished_at < ?",
                    (cutoff,),
                ).rowcount
            )
        )
