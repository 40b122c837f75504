"""Stories on a real SQLite file: turns in order, undo, no turn twice, a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from store import Conflict, Store, Stories, StoryRecord, TurnRecord


def story() -> StoryRecord:
    return StoryRecord(
        id="",
        thread_id="111",
        starter_id="1",
        premise="A map in a bottle",
        genre="mystery",
        form="prose",
        mode="together",
        guild_id="9",
    )


def person(text: str, user: str = "1") -> TurnRecord:
    return TurnRecord(0, user, f"user {user}", False, text)


async def test_turns_undo_and_a_restart(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    stories = Stories(store)
    created = await stories.create(story())
    first = await stories.add_turn(created.id, person("One."), after=0)
    model = TurnRecord(0, "2", "tiny", True, "Two.", request_id="req-1")
    second = await stories.add_turn(created.id, model, after=first.seq)
    await stories.set_message(created.id, second.seq, 555)
    await stories.update(created.id, memory="Ines", note="terse", skip_at=2)
    await store.close()

    store = await Store.open(tmp_path)  # a restart: everything is there
    stories = Stories(store)
    loaded = await stories.by_thread(111)
    assert loaded is not None and loaded.id == created.id
    assert [(t.text, t.model, t.author_name) for t in loaded.turns] == [
        ("One.", False, "user 1"),
        ("Two.", True, "tiny"),
    ]
    assert (loaded.memory, loaded.note, loaded.skip_at, loaded.turns[1].message_id) == (
        "Ines",
        "terse",
        2,
        "555",
    )
    await stories.undo(created.id, second.seq)
    with pytest.raises(Conflict):
        await stories.undo(created.id, second.seq)  # a second Undo of the same turn
    third = await stories.add_turn(created.id, person("Three."), after=first.seq)
    assert third.seq == 3  # seqs are never reused: the undone turn stays in the history
    assert [t.text for t in (await stories.get(created.id)).turns] == ["One.", "Three."]
    await store.close()


async def test_no_turn_is_added_twice_or_out_of_place(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    stories = Stories(store)
    created = await stories.create(story())
    # two turns written against the same state: one wins, the other conflicts
    results = await asyncio.gather(
        stories.add_turn(created.id, person("A", "1"), after=0),
        stories.add_turn(created.id, person("B", "2"), after=0),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Conflict) for r in results) == 1
    # the same request (a job resumed after a restart) adds its turn once
    last = (await stories.get(created.id)).last_seq
    again = [TurnRecord(0, "3", "tiny", True, "M", request_id="same") for _ in range(2)]
    one = await stories.add_turn(created.id, again[0], after=last)
    two = await stories.add_turn(created.id, again[1], after=last)
    assert one.seq == two.seq
    # Retry: the model's turn replaced in one transaction
    redo = await stories.add_turn(
        created.id, TurnRecord(0, "3", "tiny", True, "M2"), after=last, replace=one.seq
    )
    assert [t.text for t in (await stories.get(created.id)).turns][-1] == "M2"
    assert redo.seq == one.seq + 1
    await stories.update(created.id, ended=True)
    with pytest.raises(Conflict):
        await stories.add_turn(created.id, person("late"), after=redo.seq)
    assert await stories.delete(created.id)
    assert await stories.get(created.id) is None
    with pytest.raises(ValueError, match="cannot change"):
        await stories.update(created.id, premise="other")
    await store.close()
