"""The store's SQLite database: one file under DATA_DIR, WAL mode, one thread.

Every call runs on the store's own single thread (``await store.read(fn)`` /
``await store.write(fn)``), so blocking SQLite work never runs on the event loop and
writes never race each other. ``write`` commits (synchronous=FULL) before it returns:
what a caller has been told is saved survives a crash. Writes that arrive together are
committed together (group commit: one sync to disk for all of them, each in a savepoint
of its own, so one failing write fails alone): a flood of requests costs one commit per
batch, not one per request.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from .migration import Migration
from .schema import FEATURES

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The database file inside DATA_DIR.
DB_FILE = "pipeline-bot.sqlite3"


class StoreError(Exception):
    """The store cannot be used (corrupt, locked, from a newer version...). Its message
    says what is wrong and what to do, in one line, without secrets."""


class Store:
    """The bot's persistent state. Feature code (``Journal``, ``ServerSettings``...) runs
    its SQL through ``read`` and ``write``; nothing else touches the connection."""

    def __init__(self, path: Path, *, timeout_s: float = 5.0) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._pending: list[_Write] = []

    @classmethod
    async def open(
        cls,
        data_dir: str | os.PathLike[str],
        *,
        features: Mapping[str, Sequence[Migration]] = FEATURES,
        timeout_s: float = 5.0,
    ) -> Store:
        """Open (or create) the database under ``data_dir`` and bring every feature's
        tables up to date. Raises ``StoreError`` with a clear message when it cannot."""
        store = cls(Path(data_dir) / DB_FILE, timeout_s=timeout_s)
        try:
            await store._call(functools.partial(store._open, features))
        except BaseException:
            await store.close()
            raise
        return store

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` on the store's thread."""
        return await self._call(functools.partial(self._checked, fn))

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` in a transaction, committed before this returns (all of
        ``fn`` or none of it). A read started after this began sees it."""
        loop = asyncio.get_running_loop()
        write = _Write(fn, loop.create_future(), loop)
        with self._lock:
            self._pending.append(write)
        await self._call(self._commit_pending)
        return await write.future

    async def close(self) -> None:
        if self._conn is not None:
            await self._call(self._conn.close)
            self._conn = None
        self._thread.shutdown(wait=False)

    async def _call(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn)

    def _checked(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            raise StoreError("The store is closed.")
        return fn(self._conn)

    def _commit_pending(self) -> None:
        """Commit every write waiting now in one transaction (on the store's thread)."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return  # an earlier call took them
        try:
            self._checked(functools.partial(_atomic, functools.partial(_each, batch)))
        except BaseException as exc:  # the commit failed: none of them is saved
            for write in batch:
                write.settle(None, exc)
            return
        for write in batch:
            write.settle(write.result, write.error)

    # -- opening (on the store's thread) ---------------------------------------------

    def _open(self, features: Mapping[str, Sequence[Migration]]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists()
            conn = sqlite3.connect(
                self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"Cannot open the database {self.path}: {exc}.") from exc
        if new:  # it will hold interaction tokens: owner only
            self.path.chmod(0o600)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{self.path} cannot use WAL mode (got {mode}).")
            conn.execute("PRAGMA synchronous = FULL")
            problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise StoreError(
                    f"The database {self.path} is damaged ({problems[0]}): restore it from a "
                    "backup, or move it away to start with an empty one."
                )
            migrate(conn, features)
        except sqlite3.OperationalError as exc:
            conn.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError(
                    f"The database {self.path} is locked by another process (is another bot "
                    "running with the same DATA_DIR?)."
                ) from exc
            raise StoreError(f"Cannot use the database {self.path}: {exc}.") from exc
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(
                f"{self.path} is not a usable SQLite database ({exc}): restore it from a "
                "backup, or move it away to start with an empty one."
            ) from exc
        except BaseException:
            conn.close()
            raise
        self._conn = conn


class _Write:
    """One caller's write, waiting for the next group commit."""

    def __init__(
        self,
        fn: Callable[[sqlite3.Connection], object],
        future: asyncio.Future[object],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.fn, self.future, self.loop = fn, future, loop
        self.result: object = None
        self.error: BaseException | None = None

    def settle(self, result: object, error: BaseException | None) -> None:
        self.loop.call_soon_threadsafe(self._settle, result, error)

    def _settle(self, result: object, error: BaseException | None) -> None:
        if self.future.done():  # the caller gave up waiting; the write stands
            return
        if error is not None:
            self.future.set_exception(error)
        else:
            self.future.set_result(result)


def _each(batch: list[_Write], conn: sqlite3.Connection) -> None:
    """Run each write in a savepoint of its own: one that fails is undone alone."""
    for write in batch:
        conn.execute("SAVEPOINT write")
        try:
            write.result = write.fn(conn)
        except Exception as exc:
            write.error = exc
            conn.execute("ROLLBACK TO write")
        conn.execute("RELEASE write")


def _atomic(fn: Callable[[sqlite3.Connection], T], conn: sqlite3.Connection) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def migrate(conn: sqlite3.Connection, features: Mapping[str, Sequence[Migration]]) -> None:
    """Apply each feature's migrations past its recorded version, each in its own
    transaction. A feature recorded at a version newer than this code knows is an error
    (an older bot must not write to a newer schema)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_versions ("
        " feature TEXT PRIMARY KEY, version INTEGER NOT NULL, applied_at REAL NOT NULL)"
    )
    known = dict(conn.execute("SELECT feature, version FROM schema_versions").fetchall())
    for feature, migrations in features.items():
        current = known.get(feature, 0)
        latest = migrations[-1].version if migrations else 0
        if current > latest:
            raise StoreError(
                f"The database's {feature!r} tables are at version {current}, newer than this "
                f"bot knows ({latest}): run the newer bot, or restore an older backup."
            )
        for migration in migrations:
            if migration.version > current:
                _atomic(functools.partial(_apply, feature, migration), conn)
                log.info("store: %s schema now at version %d", feature, migration.version)


def _apply(feature: str, migration: Migration, conn: sqlite3.Connection) -> None:
    for statement in migration.statements:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO schema_versions (feature, version, applied_at) VALUES (?, ?, ?)"
        " ON CONFLICT (feature) DO UPDATE SET version = excluded.version,"
        " applied_at = excluded.applied_at",
        (feature, migration.version, time.time()),
    )
