"""Stories written in turns (/story): each story's settings and its turns.

Turns are never rewritten: an undone turn is marked, so the history stays; the story is
its active turns in order. Adding or undoing a turn names the turn it follows (``after``):
a write based on a story that has moved on fails with ``Conflict`` instead of adding a
turn twice or in the wrong place. A model's turn carries the id of the request that wrote
it, so the same request (resumed after a restart) never adds it twice.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from .migration import Migration

if TYPE_CHECKING:
    from .db import Store

MIGRATIONS = (
    Migration(
        1,
        (
            """CREATE TABLE stories (
                id TEXT PRIMARY KEY,
                guild_id TEXT,
                thread_id TEXT NOT NULL UNIQUE,
                channel_id TEXT,
                starter_id TEXT NOT NULL,
                premise TEXT NOT NULL,
                genre TEXT NOT NULL,
                form TEXT NOT NULL,
                mode TEXT NOT NULL,
                safe INTEGER NOT NULL DEFAULT 1,
                memory TEXT NOT NULL DEFAULT '',
                note TEXT NOT NULL DEFAULT '',
                summary TEXT NOT NULL DEFAULT '',
                summarized_upto INTEGER NOT NULL DEFAULT 0,
                header_message_id TEXT,
                ended INTEGER NOT NULL DEFAULT 0,
                skip_at INTEGER NOT NULL DEFAULT -1,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL
            )""",
            """CREATE TABLE story_turns (
                story_id TEXT NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
                seq INTEGER NOT NULL,
                request_id TEXT NOT NULL UNIQUE,
                author_id TEXT NOT NULL,
                author_name TEXT NOT NULL,
                model INTEGER NOT NULL,
                text TEXT NOT NULL,
                message_id TEXT,
                undone INTEGER NOT NULL DEFAULT 0,
                created_at REAL NOT NULL,
                PRIMARY KEY (story_id, seq)
            )""",
        ),
    ),
)


class Conflict(Exception):
    """The story changed since the caller read it (another turn came first)."""


@dataclass
class TurnRecord:
    seq: int
    author_id: str
    author_name: str
    model: bool
    text: str
    request_id: str = ""
    message_id: str | None = None
    created_at: float = 0.0


@dataclass
class StoryRecord:
    id: str
    thread_id: str
    starter_id: str
    premise: str
    genre: str
    form: str
    mode: str
    guild_id: str | None = None
    channel_id: str | None = None
    safe: bool = True
    memory: str = ""
    note: str = ""
    summary: str = ""
    #: The seq of the last turn folded into ``summary`` (0: none).
    summarized_upto: int = 0
    header_message_id: str | None = None
    ended: bool = False
    skip_at: int = -1
    created_at: float = 0.0
    updated_at: float = 0.0
    #: The active turns, oldest first.
    turns: list[TurnRecord] = field(default_factory=list)

    @property
    def last_seq(self) -> int:
        return self.turns[-1].seq if self.turns else 0


_STORY_COLUMNS = [f.name for f in fields(StoryRecord) if f.name != "turns"]
_TURN_COLUMNS = "seq, author_id, author_name, model, text, request_id, message_id, created_at"
#: What ``update`` may change.
MUTABLE = frozenset(
    {"memory", "note", "summary", "summarized_upto", "header_message_id", "ended", "skip_at"}
)


class Stories:
    """Stories in ``store``; every write is committed before it returns."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, story: StoryRecord) -> StoryRecord:
        story.id = story.id or uuid.uuid4().hex[:12]
        story.created_at = story.updated_at = time.time()
        values = [_column(getattr(story, name)) for name in _STORY_COLUMNS]
        sql = (
            f"INSERT INTO stories ({', '.join(_STORY_COLUMNS)})"
            f" VALUES ({', '.join('?' * len(values))})"
        )
        await self.store.write(lambda c: c.execute(sql, values))
        return story

    async def get(self, story_id: str) -> StoryRecord | None:
        return await self.store.read(lambda c: _load(c, "id", story_id))

    async def by_thread(self, thread_id: object) -> StoryRecord | None:
        return await self.store.read(lambda c: _load(c, "thread_id", str(thread_id)))

    async def update(self, story_id: str, **changes: Any) -> None:
        unknown = set(changes) - MUTABLE
        if unknown:
            raise ValueError(f"stories cannot change {sorted(unknown)}")
        sets = ", ".join(f"{name} = ?" for name in changes)
        values = [_column(v) for v in changes.values()] + [time.time(), story_id]
        await self.store.write(
            lambda c: c.execute(f"UPDATE stories SET {sets}, updated_at = ? WHERE id = ?", values)
        )

    async def add_turn(
        self, story_id: str, turn: TurnRecord, *, after: int, replace: int | None = None
    ) -> TurnRecord:
        """Append ``turn`` after the active turn ``after`` (0: the first turn); with
        ``replace``, that turn (the last one) is undone in the same transaction. The same
        ``request_id`` added again returns the turn already saved."""
        turn.request_id = turn.request_id or uuid.uuid4().hex
        turn.created_at = time.time()
        return await self.store.write(lambda c: _add_turn(c, story_id, turn, after, replace))

    async def set_message(self, story_id: str, seq: int, message_id: object) -> None:
        await self.store.write(
            lambda c: c.execute(
                "UPDATE story_turns SET message_id = ? WHERE story_id = ? AND seq = ?",
                (str(message_id), story_id, seq),
            )
        )

    async def undo(self, story_id: str, seq: int) -> None:
        """Take back turn ``seq``, which must still be the last active one."""
        await self.store.write(lambda c: _undo(c, story_id, seq))

    async def delete(self, story_id: str) -> bool:
        return await self.store.write(
            lambda c: c.execute("DELETE FROM stories WHERE id = ?", (story_id,)).rowcount > 0
        )


def _column(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def _load(conn: sqlite3.Connection, key: str, value: str) -> StoryRecord | None:
    row = conn.execute(
        f"SELECT {', '.join(_STORY_COLUMNS)} FROM stories WHERE {key} = ?", (value,)
    ).fetchone()
    if row is None:
        return None
    story = StoryRecord(**dict(zip(_STORY_COLUMNS, row, strict=True)))
    story.safe, story.ended = bool(story.safe), bool(story.ended)
    rows = conn.execute(
        f"SELECT {_TURN_COLUMNS} FROM story_turns WHERE story_id = ? AND undone = 0 ORDER BY seq",
        (story.id,),
    ).fetchall()
    story.turns = [_turn(r) for r in rows]
    return story


def _turn(row: tuple[Any, ...]) -> TurnRecord:
    seq, author_id, author_name, model, text, request_id, message_id, created = row
    return TurnRecord(
        seq, author_id, author_name, bool(model), text, request_id, message_id, created
    )


def _last_active(conn: sqlite3.Connection, story_id: str) -> int:
    row = conn.execute(
        "SELECT MAX(seq) FROM story_turns WHERE story_id = ? AND undone = 0", (story_id,)
    ).fetchone()
    return row[0] or 0


def _add_turn(
    conn: sqlite3.Connection, story_id: str, turn: TurnRecord, after: int, replace: int | None
) -> TurnRecord:
    same = conn.execute(
        f"SELECT {_TURN_COLUMNS} FROM story_turns WHERE request_id = ?", (turn.request_id,)
    ).fetchone()
    if same is not None:
        return _turn(same)
    ended = conn.execute("SELECT ended FROM stories WHERE id = ?", (story_id,)).fetchone()
    if ended is None or ended[0]:
        raise Conflict("the story is gone or has ended")
    if replace is not None:
        _undo(conn, story_id, replace)
    if _last_active(conn, story_id) != after:
        raise Conflict("another turn came first")
    top = conn.execute(
        "SELECT MAX(seq) FROM story_turns WHERE story_id = ?", (story_id,)
    ).fetchone()[0]
    turn.seq = (top or 0) + 1
    conn.execute(
        "INSERT INTO story_turns (story_id, seq, request_id, author_id, author_name, model,"
        " text, message_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            story_id,
            turn.seq,
            turn.request_id,
            turn.author_id,
            turn.author_name,
            int(turn.model),
            turn.text,
            turn.message_id,
            turn.created_at,
        ),
    )
    conn.execute("UPDATE stories SET updated_at = ? WHERE id = ?", (turn.created_at, story_id))
    return turn


def _undo(conn: sqlite3.Connection, story_id: str, seq: int) -> None:
    if _last_active(conn, story_id) != seq:
        raise Conflict("the last turn changed")
    conn.execute(
        "UPDATE story_turns SET undone = 1 WHERE story_id = ? AND seq = ?", (story_id, seq)
    )
    # an undone turn that was summarised leaves the summary as it was (it is history)
