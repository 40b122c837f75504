"""The store on a real SQLite file: migrations, the journal, server settings, and clear
errors for a database that cannot be used."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from store import DB_FILE, Journal, ServerSettings, Store, StoreError
from store.schema import FEATURES


def columns(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def versions(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT feature, version FROM schema_versions"))


async def test_an_empty_directory_gets_every_feature_at_its_last_version(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "data")
    await store.close()
    path = tmp_path / "data" / DB_FILE
    assert versions(path) == {name: steps[-1].version for name, steps in FEATURES.items()}
    assert "delivered" in columns(path, "journal")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert path.stat().st_mode & 0o077 == 0  # it holds interaction tokens


async def test_a_previous_schema_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    old = {"journal": FEATURES["journal"][:1]}  # the journal as the first release made it
    store = await Store.open(tmp_path, features=old)
    entry = await Journal(store).add(
        "sentiment", {"text": "kept"}, user=7, reply_to={"channel": 1}, expires_at=10.0
    )
    await store.close()
    assert "delivered" not in columns(tmp_path / DB_FILE, "journal")

    store = await Store.open(tmp_path)
    [again] = await Journal(store).unfinished()
    assert (again.id, again.inputs, again.delivered) == (entry.id, {"text": "kept"}, 0)
    assert versions(tmp_path / DB_FILE)["journal"] == 2
    await store.close()

    store = await Store.open(tmp_path)  # a third start changes nothing
    assert len(await Journal(store).unfinished()) == 1
    await store.close()


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    await (await Store.open(tmp_path)).close()
    with sqlite3.connect(tmp_path / DB_FILE) as conn:
        conn.execute("UPDATE schema_versions SET version = 9 WHERE feature = 'journal'")
    with pytest.raises(StoreError, match=r"'journal' tables are at version 9, newer"):
        await Store.open(tmp_path)


async def test_a_corrupt_file_is_a_clear_error_and_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / DB_FILE
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match=r"not a usable SQLite database.*backup"):
        await Store.open(tmp_path)
    assert path.read_bytes() == garbage  # never silently replaced


async def test_a_damaged_database_is_a_clear_error(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    journal = Journal(store)
    for n in range(200):
        await journal.add("sentiment", {"text": "x" * 500}, user=n, reply_to={}, expires_at=0)
    await store.close()
    path = tmp_path / DB_FILE
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page = 4096
    data[3 * page : 5 * page] = b"\xff" * (2 * page)  # scribble over two pages of the table
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=r"damaged|not a usable"):
        await Store.open(tmp_path)


async def test_a_locked_database_is_a_clear_error(tmp_path: Path) -> None:
    await (await Store.open(tmp_path)).close()
    other = sqlite3.connect(tmp_path / DB_FILE, isolation_level=None)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked by another process"):
            await Store.open(tmp_path, timeout_s=0.2)
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_journal_states_and_pruning(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    journal = Journal(store)
    first = await journal.add("qa", {"context": "a file's text"}, user=1, reply_to={}, expires_at=5)
    second = await journal.add("ner", {"text": "b"}, user=2, reply_to={}, expires_at=5)
    refused = await journal.add("ner", {"text": ""}, user=2, reply_to={}, expires_at=5)
    await journal.discard(refused)
    await journal.update(first, state="running", reply_to={"message": 9}, delivered=1)
    await journal.finish(second)
    await journal.finish(second, "failed")  # a finished entry never changes again
    [left] = await journal.unfinished()
    assert (left.id, left.state, left.reply_to) == (first.id, "running", {"message": 9})
    assert left.delivered == 1
    assert (await journal.get(second.id)).state == "done"
    assert await journal.get(refused.id) is None

    assert await journal.prune(3600) == 0  # finished just now: kept
    assert await journal.prune(3600, now=10**10) == 1  # long ago: gone; unfinished stay
    assert [e.id for e in await journal.unfinished()] == [first.id]
    await store.close()


async def test_writes_are_on_disk_when_they_return(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    await Journal(store).add("ner", {"text": "saved"}, user=1, reply_to={}, expires_at=5)
    # another connection (another process, after a crash) sees it at once
    with sqlite3.connect(tmp_path / DB_FILE) as conn:
        assert conn.execute("SELECT count(*) FROM journal").fetchone()[0] == 1
    await store.close()


async def test_server_settings_round_trip(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    settings = ServerSettings(store)
    await settings.set(1, "", "language", "fr")
    await settings.set(1, "42", "command:imagine", False)
    await settings.set(2, "", "cooldown", [1, 60.0])
    await settings.set(2, "", "cooldown", None)
    await store.close()
    store = await Store.open(tmp_path)
    assert await ServerSettings(store).load() == {
        "1": {("", "language"): "fr", ("42", "command:imagine"): False}
    }
    await store.close()


async def test_calls_never_block_the_event_loop(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    beat = asyncio.create_task(ticker())
    await store.read(lambda c: time.sleep(0.2))
    beat.cancel()
    assert ticks > 20
    await store.close()


async def test_writes_that_arrive_together_commit_together_and_fail_alone(
    tmp_path: Path,
) -> None:
    store = await Store.open(tmp_path)
    settings = ServerSettings(store)

    def duplicate(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO server_settings VALUES"
            " ('1', '', 'twice', '1', 0), ('1', '', 'twice', '2', 0)"
        )

    outcomes = await asyncio.gather(
        *(settings.set(1, "", f"key{n}", n) for n in range(50)),
        store.write(duplicate),
        return_exceptions=True,
    )
    assert all(outcome is None for outcome in outcomes[:50])
    assert isinstance(outcomes[50], sqlite3.IntegrityError)
    saved = (await settings.load())["1"]
    assert saved == {("", f"key{n}"): n for n in range(50)}  # and nothing of the failed one
    await store.close()
