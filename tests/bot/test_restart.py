"""Nothing lost, nothing twice: jobs in flight when the bot stops (SIGTERM, SIGKILL, a
second stop during the resume) are completed exactly once after it starts again, with
the real client, the fake Discord and the journal in a real SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from bot.client import PipelineBot
from chat.jobs import RESUMED
from chat.journal import RESTARTING
from store import DB_FILE
from tests.bot.conftest import BotFactory, ModelGate, final_message, tiny_model_settings
from tests.fakediscord import FakeDiscord, InteractionRecord

REPO = Path(__file__).resolve().parents[2]
JOBS = 5


@contextlib.contextmanager
def every_model_gated(gate: ModelGate) -> Iterator[ModelGate]:
    """Hold every model's forward passes at ``gate``, those of bots started later too
    (a torch hook on all modules), closed to begin with."""
    gate.opened.clear()
    handle = torch.nn.modules.module.register_module_forward_pre_hook(gate.hook)
    try:
        yield gate
    finally:
        gate.opened.set()
        handle.remove()


def unfinished(tmp_path: Path) -> int:
    with contextlib.closing(sqlite3.connect(tmp_path / "data" / DB_FILE)) as conn:
        return conn.execute("SELECT count(*) FROM journal WHERE finished_at IS NULL").fetchone()[0]


def result_writes(inter: InteractionRecord) -> list[object]:
    """The writes that put a result (an embed) in the interaction's original response."""
    assert inter.original is not None
    return [w for w in inter.original.writes if w.body.get("embeds")]


async def start_jobs(fake: FakeDiscord, count: int = JOBS) -> list[InteractionRecord]:
    """``count`` /sentiment requests from as many users (each may have only a couple in
    the queue), waiting until each shows its place in the queue."""
    inters = [
        await fake.invoke_slash(
            "sentiment", {"text": f"request {n}"}, user=fake.add_user(f"user{n}")
        )
        for n in range(count)
    ]
    for inter in inters:
        await inter.wait_until(lambda i: i.original is not None and i.original.content, 10)
    return inters


async def stop(bot: PipelineBot, inters: list[InteractionRecord], gate: ModelGate) -> None:
    """What SIGTERM does (``bot.close()``); every user is told, then the model thread
    that was running is let go so that the bot can finish closing."""
    closing = asyncio.create_task(bot.close())
    for inter in inters:
        try:
            await inter.wait_until(lambda i: i.original.content == RESTARTING, 10)
        except TimeoutError:
            raise AssertionError([(w.kind, w.body) for w in inter.original.writes]) from None
    gate.opened.set()
    await closing
    gate.opened.clear()
    gate.entered.clear()


async def stopped_while_running(
    start_bot: BotFactory, fake: FakeDiscord, gate: ModelGate
) -> list[InteractionRecord]:
    """A bot that runs one job at a time, stopped with one of ``JOBS`` running (held at
    ``gate``) and the rest queued; their interactions."""
    bot = await start_bot(max_batch_size=1)
    inters = await start_jobs(fake)
    assert await asyncio.to_thread(gate.entered.wait, 10)
    await stop(bot, inters, gate)
    return inters


async def assert_each_delivered_once(
    fake: FakeDiscord, inters: list[InteractionRecord], tmp_path: Path
) -> None:
    for inter in inters:
        message = await final_message(inter)
        assert message.content.startswith(RESUMED)
        assert message.embeds[0]["title"]
    await fake.wait_for(lambda: unfinished(tmp_path) == 0, 10)
    for inter in inters:
        assert len(result_writes(inter)) == 1
        assert not inter.followups
    assert not [m for m in fake.channel_messages(fake.channel) if m.kind == "channel"]


async def test_sigterm_with_jobs_queued_and_running_completes_each_once(
    fake_discord: FakeDiscord, start_bot: BotFactory, gate: ModelGate, tmp_path: Path
) -> None:
    with every_model_gated(gate):
        inters = await stopped_while_running(start_bot, fake_discord, gate)
        assert unfinished(tmp_path) == JOBS
        for inter in inters:
            assert not inter.followups  # no error: the request continues

        gate.opened.set()
        second = await start_bot(max_batch_size=1)
        await assert_each_delivered_once(fake_discord, inters, tmp_path)

    # a later restart has nothing left to resume: still one result each
    await second.close()
    third = await start_bot()
    assert not await third.runner.resume_all()
    for inter in inters:
        assert len(result_writes(inter)) == 1


async def test_a_second_stop_during_the_resume_duplicates_nothing(
    fake_discord: FakeDiscord, start_bot: BotFactory, gate: ModelGate, tmp_path: Path
) -> None:
    with every_model_gated(gate):
        inters = await stopped_while_running(start_bot, fake_discord, gate)

        second = await start_bot(max_batch_size=1)  # resumes, held again
        for inter in inters:
            await inter.wait_until(lambda i: i.original.content.startswith(RESUMED), 10)
        assert await asyncio.to_thread(gate.entered.wait, 10)
        await stop(second, inters, gate)
        assert unfinished(tmp_path) == JOBS
        assert not any(result_writes(inter) for inter in inters)

        gate.opened.set()
        await start_bot(max_batch_size=1)
        await assert_each_delivered_once(fake_discord, inters, tmp_path)


async def test_a_token_past_15_minutes_takes_the_channel_fallback(
    fake_discord: FakeDiscord, start_bot: BotFactory, gate: ModelGate, tmp_path: Path
) -> None:
    with every_model_gated(gate):
        first = await start_bot()
        [inter] = await start_jobs(fake_discord, 1)
        await stop(first, [inter], gate)
    fake_discord.clock.advance(16 * 60)  # the bot was down a while: Discord says expired

    await start_bot()
    posted = await fake_discord.wait_for(
        lambda: (
            (
                found := [
                    m
                    for m in fake_discord.channel_messages(fake_discord.channel)
                    if m.kind == "channel"
                ]
            )
            and len(found) == 2
            and found
        ),
        20,
    )
    intro, result = posted
    requester = int(inter.payload["member"]["user"]["id"])
    assert f"<@{requester}>" in intro.content
    assert intro.mentions.users == (requester,)  # only the requester is pinged
    assert not intro.mentions.everyone and not intro.mentions.roles
    assert result.embeds and result.content.startswith(RESUMED)
    assert result.mentions.users == ()
    assert not result_writes(inter)
    await fake_discord.wait_for(lambda: unfinished(tmp_path) == 0, 10)
    refused = fake_discord.take_rejections()
    assert refused and all(r.error["code"] == 50027 for r in refused)


def expire_in_journal(tmp_path: Path, seconds: float) -> None:
    """Move every journaled interaction ``seconds`` into the past, as if the bot had been
    down that long (the bot's own clock cannot be moved)."""
    with contextlib.closing(sqlite3.connect(tmp_path / "data" / DB_FILE)) as conn, conn:
        conn.execute(
            "UPDATE journal SET reply_to = json_set(reply_to, '$.created_at',"
            " json_extract(reply_to, '$.created_at') - ?), expires_at = expires_at - ?",
            (seconds, seconds),
        )


async def test_a_job_the_bot_knows_expired_goes_straight_to_the_channel_or_is_dropped(
    fake_discord: FakeDiscord,
    start_bot: BotFactory,
    gate: ModelGate,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with every_model_gated(gate):
        first = await start_bot()
        ok, denied = await start_jobs(fake_discord, 2)
        await stop(first, [ok, denied], gate)
    expire_in_journal(tmp_path, 20 * 60)
    fake_discord.clock.advance(20 * 60)
    requests_before = len(fake_discord.requests)
    # the bot may no longer post in #general, where the second request was made
    other = fake_discord.guild.add_channel("other")
    with contextlib.closing(sqlite3.connect(tmp_path / "data" / DB_FILE)) as conn, conn:
        conn.execute(
            "UPDATE journal SET reply_to = json_set(reply_to, '$.channel_id', ?)"
            " WHERE inputs LIKE '%request 0%'",
            (other.id,),
        )
    fake_discord.channel.bot_permissions = 0

    with caplog.at_level(logging.WARNING):
        await start_bot()
        await fake_discord.wait_for(lambda: unfinished(tmp_path) == 0, 20)
    after = fake_discord.requests[requests_before:]
    assert not [r for r in after if r.path.startswith("/webhooks/")]  # no doomed edits
    intro, result = [m for m in fake_discord.channel_messages(other) if m.kind == "channel"]
    assert f"<@{ok.payload['member']['user']['id']}>" in intro.content and result.embeds
    assert [r.status for r in fake_discord.take_rejections()] == [403]
    assert "cannot post in channel" in caplog.text
    assert denied.token not in caplog.text and ok.token not in caplog.text


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
async def test_a_bot_process_stopped_by_a_signal_loses_nothing(
    fake_discord: FakeDiscord,
    start_bot: BotFactory,
    tiny_models: dict[str, Path],
    tmp_path: Path,
    how: signal.Signals,
) -> None:
    gate_file = tmp_path / "gate"
    env = {
        **os.environ,
        **{
            k.upper(): v if isinstance(v, str) else json.dumps(v)
            for k, v in tiny_model_settings(tiny_models).items()
        },
        "PYTHONPATH": str(REPO),
        "FAKE_DISCORD_URL": fake_discord.base_url,
        "GATE_FILE": str(gate_file),
        "DISCORD_TOKEN": "fake-token",
        "DEV_GUILD_ID": str(fake_discord.guild.id),
        "DATA_DIR": str(tmp_path / "data"),
        "MAX_BATCH_SIZE": "1",
        "MAX_WAIT_MS": "1",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.bot.bot_process",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake_discord.wait_for(
            lambda: fake_discord.guild_commands.get(fake_discord.guild.id), 90
        )
        await fake_discord.wait_for(lambda: fake_discord._sockets, 30)
        await asyncio.sleep(0.5)  # READY and the guild's cache
        inters = await start_jobs(fake_discord, 3)
        process.send_signal(how)
        if how == signal.SIGTERM:
            for inter in inters:
                await inter.wait_until(lambda i: i.original.content == RESTARTING, 20)
        gate_file.touch()  # the held model thread may return: the process can exit
        await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == (0 if how == signal.SIGTERM else -signal.SIGKILL)
    assert unfinished(tmp_path) == 3

    await start_bot()
    await assert_each_delivered_once(fake_discord, inters, tmp_path)


async def test_an_attached_file_is_journaled_as_its_text(
    fake_discord: FakeDiscord, start_bot: BotFactory, gate: ModelGate, tmp_path: Path
) -> None:
    document = "The meeting moved to Thursday because the hall was booked on Monday."
    with every_model_gated(gate):
        first = await start_bot()
        inter = await fake_discord.invoke_slash(
            "qa",
            {"question": "Why did the meeting move?"},
            attachments={"file": ("notes.md", document.encode())},
        )
        await inter.wait_until(lambda i: i.original is not None and i.original.content, 20)
        await stop(first, [inter], gate)
    with contextlib.closing(sqlite3.connect(tmp_path / "data" / DB_FILE)) as conn:
        [(inputs,)] = conn.execute("SELECT inputs FROM journal").fetchall()
    assert document in inputs and "/attachments/" not in inputs
    fake_discord.hosted_files.clear()  # the attachment's URL is gone by now

    await start_bot()
    message = await final_message(inter)
    assert message.content.startswith(RESUMED)
    assert "notes.md" in str(message.embeds[0])  # rendered as the fresh reply would be
    await fake_discord.wait_for(lambda: unfinished(tmp_path) == 0, 10)


async def test_a_job_the_bot_died_running_three_times_is_given_up(
    fake_discord: FakeDiscord,
    start_bot: BotFactory,
    gate: ModelGate,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with every_model_gated(gate):
        first = await start_bot()
        [inter] = await start_jobs(fake_discord, 1)
        await stop(first, [inter], gate)
    with contextlib.closing(sqlite3.connect(tmp_path / "data" / DB_FILE)) as conn, conn:
        # as if the bot had been killed twice while running it (not stopped cleanly)
        conn.execute("UPDATE journal SET state = 'queued', attempts = 2")

    with caplog.at_level(logging.WARNING):
        await start_bot()
        [apology] = await inter.wait_for_followups(timeout=10)
    assert apology.ephemeral and "could not be finished" in apology.content
    assert inter.original.deleted and not result_writes(inter)
    assert "the bot died 3 times running it" in caplog.text
    with contextlib.closing(sqlite3.connect(tmp_path / "data" / DB_FILE)) as conn:
        assert conn.execute("SELECT state FROM journal").fetchall() == [("dropped",)]


async def test_more_resumed_jobs_than_the_queue_holds_wait_for_room(
    fake_discord: FakeDiscord, start_bot: BotFactory, gate: ModelGate, tmp_path: Path
) -> None:
    with every_model_gated(gate):
        inters = await stopped_while_running(start_bot, fake_discord, gate)
    await start_bot(max_batch_size=1, max_queue=2)  # room for two at a time
    await assert_each_delivered_once(fake_discord, inters, tmp_path)
