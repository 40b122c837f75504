"""Restarts: unfinished jobs resume by editing the same placeholders, and the buttons of
earlier replies work in a new process (their values carry what they need)."""

from __future__ import annotations

import asyncio
import json

from chat.jobs import RESUMED
from chat.journal import RESTARTING
from slackapp.mrkdwn import mrkdwn
from tests.bot.conftest import ModelGate
from tests.bot.test_restart import every_model_gated
from tests.fakeslack import FakeSlack

from .conftest import CHANNEL, AppFactory, Running, answer, at_least, texts


def action_ids(message) -> list[str]:
    """The action ids of a message's buttons."""
    blocks = [b for b in message.blocks if b["type"] == "actions"]
    return [e["action_id"] for b in blocks for e in b["elements"]]


def placeholders(fake: FakeSlack) -> list:
    return [m for m in fake.messages(CHANNEL) if m.bot_id and not m.thread_ts]


async def test_jobs_waiting_at_a_restart_resume_in_their_placeholders(
    start_app: AppFactory, fake_slack: FakeSlack, running: Running, gate: ModelGate
) -> None:
    users = ["U0USER0001", "U0USER0002"]
    with every_model_gated(gate):
        first = await start_app(max_batch_size=1)
        for n, user in enumerate(users):
            await fake_slack.slash_command("/sentiment", f"request {n}", user=user)
        waiting = await fake_slack.wait_for(lambda: at_least(placeholders(fake_slack), 2))
        # each shows its wait: its job is followed (not merely acknowledged)
        await fake_slack.wait_for(lambda: all(p.edits for p in waiting), timeout=10)
        assert await asyncio.to_thread(gate.entered.wait, 10)
        closing = asyncio.create_task(running.stop(first))
        await fake_slack.wait_for(
            lambda: all(mrkdwn(RESTARTING) in texts(p) for p in waiting), timeout=10
        )
        gate.opened.set()
        await closing

    await start_app(max_batch_size=1)
    for placeholder in waiting:
        await fake_slack.wait_for(
            lambda p=placeholder: "Done" in texts(p) and fake_slack.thread(CHANNEL, p.ts), 30
        )
        assert RESUMED.split(" ", 1)[1] in texts(placeholder)
    await fake_slack.settle(0.3)
    for placeholder in waiting:
        replies = fake_slack.thread(CHANNEL, placeholder.ts)
        assert len(replies) == 1  # delivered once
    assert len(placeholders(fake_slack)) == 2  # no new placeholder


async def test_regenerate_and_continue_work_after_a_restart(
    start_app: AppFactory, fake_slack: FakeSlack, running: Running
) -> None:
    first = await start_app()
    await fake_slack.slash_command(
        "/imagine", "negative:fog steps:2 seed:9 size:64x64 a green hill"
    )
    image_top, image_replies = await answer(fake_slack)
    await fake_slack.slash_command("/generate", "max_tokens:4 seed:2 Once upon")
    story_top, story_replies = await answer(fake_slack, placeholder_count=1)
    await running.stop(first)

    await start_app()
    card = next(m for m in image_replies if any(b["type"] == "actions" for b in m.blocks))
    assert await fake_slack.click(CHANNEL, card.ts, "imagine:again") == {}
    pngs = await fake_slack.wait_for(
        lambda: at_least([f for f in fake_slack.files if f.thread_ts == image_top.ts], 2), 30
    )
    assert pngs[0].data != pngs[1].data  # a new seed
    thread = fake_slack.thread(CHANNEL, image_top.ts)
    cards = [m for m in thread if "imagine:again" in action_ids(m)]
    assert len(cards) == 2 and all("fog" in texts(card) for card in cards)  # the same request

    part = next(m for m in story_replies if any(b["type"] == "actions" for b in m.blocks))
    (actions,) = [b for b in part.blocks if b["type"] == "actions"]
    story = json.loads(actions["elements"][0]["value"])
    assert story["p"] == "Once upon" and story["m"] == 4
    before = len(fake_slack.thread(CHANNEL, story_top.ts))
    await fake_slack.click(CHANNEL, part.ts, "generate:continue")

    def continued() -> list | None:
        thread = fake_slack.thread(CHANNEL, story_top.ts)[before:]
        done = [m for m in thread if "Done" in texts(m)]
        return thread if done and len(thread) >= 2 else None

    new = await fake_slack.wait_for(continued, timeout=30)
    assert "/generate" in texts(new[0])  # the new placeholder, in the same thread
    assert "Once upon" in texts(new[-1])


async def test_a_wait_resumed_after_a_restart_can_still_be_cancelled(
    start_app: AppFactory, fake_slack: FakeSlack, running: Running, gate: ModelGate
) -> None:
    def cancel_of(message) -> str | None:
        """The job id the placeholder's Cancel button holds, if it shows one."""
        for block in message.blocks:
            for element in block.get("elements", []) if block["type"] == "actions" else []:
                if element["action_id"] == "job:cancel":
                    return element["value"]
        return None

    with every_model_gated(gate):
        first = await start_app()
        await fake_slack.slash_command("/generate", "max_tokens:4 seed:3 Once upon")
        (placeholder,) = await fake_slack.wait_for(lambda: placeholders(fake_slack))
        before = await fake_slack.wait_for(lambda: cancel_of(placeholder), timeout=10)
        assert await asyncio.to_thread(gate.entered.wait, 10)
        closing = asyncio.create_task(running.stop(first))
        await fake_slack.wait_for(lambda: mrkdwn(RESTARTING) in texts(placeholder), 10)
        assert cancel_of(placeholder) is None  # the old job's button goes with it
        gate.opened.set()
        await closing
        gate.opened.clear()  # the resumed job waits too

        bot = await start_app()
        after = await fake_slack.wait_for(lambda: cancel_of(placeholder), timeout=20)
        assert after != before  # the resumed job's own id
        await fake_slack.click(CHANNEL, placeholder.ts, "job:cancel", value=after)
        await fake_slack.wait_for(lambda: placeholder.deleted, timeout=20)
        (note,) = await fake_slack.wait_for(lambda: fake_slack.ephemerals_for("U0USER0001"))
        assert "cancelled" in note.text.lower()
    await fake_slack.wait_for(lambda: not bot.runner.waiting, timeout=20)
    assert not fake_slack.thread(CHANNEL, placeholder.ts)  # no answer after the cancel
