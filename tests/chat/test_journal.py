"""One store, two platforms: each journals its own requests and resumes only its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chat.journal import JobJournal
from store import Journal, Store


@dataclass
class Placeholder:
    """The part of a ``Surface`` the journal reads: who asked, and where to answer."""

    user: str
    where: dict[str, Any] = field(default_factory=dict)

    def reply_to(self) -> dict[str, Any]:
        return dict(self.where)


async def test_each_platform_resumes_only_its_own_jobs(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:
        discord, slack = JobJournal("discord", 24), JobJournal("slack", 24)
        discord.open(store)
        slack.open(store)
        mine = await slack.record(
            Placeholder("slack:T1:U1", {"channel": "C1"}),
            "ner",
            {"text": "Ada"},
            what="request",
            render={"text": "Ada"},
        )
        theirs = await discord.record(
            Placeholder("7", {"channel_id": 1}), "ner", {"text": "Bo"}, what="x", render=None
        )
        # a row from before rows named their platform is Discord's
        older = await Journal(store).add("qa", {}, user=8, reply_to={}, expires_at=1e12)

        [resumed] = await slack.unfinished()
        assert resumed.id == mine.id
        assert resumed.reply_to == {
            "channel": "C1",
            "platform": "slack",
            "what": "request",
            "render": {"text": "Ada"},
        }
        assert resumed.user == "slack:T1:U1"
        assert {e.id for e in await discord.unfinished()} == {theirs.id, older.id}

        await slack.finish(mine)
        assert await slack.unfinished() == []
    finally:
        await store.close()


async def test_the_acknowledged_placeholder_is_journaled(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:
        journal = JobJournal("slack", 24)
        journal.open(store)
        surface = Placeholder("slack:T1:U1", {"channel": "C1"})
        entry = await journal.record(surface, "ner", {"text": "Ada"}, what="request", render={})
        surface.where["ts"] = "1700000000.000100"  # the placeholder was posted
        await journal.acknowledged(entry, surface)
        [again] = await journal.unfinished()
        assert again.reply_to["ts"] == "1700000000.000100"
        assert again.reply_to["platform"] == "slack"
    finally:
        await store.close()
