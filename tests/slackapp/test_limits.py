"""Limits, as on Discord: per-user cooldowns (buttons draw on their command's), the
per-user bound of the queue, and a flood from one user that leaves the others served."""

from __future__ import annotations

import asyncio

from slackapp.throttle import EditThrottle
from tests.bot.conftest import ModelGate
from tests.bot.test_restart import every_model_gated
from tests.fakeslack import FakeSlack

from .conftest import ALICE, BOB, CHANNEL, AppFactory, answer, texts


def public(fake: FakeSlack) -> list:
    return [m for m in fake.messages(CHANNEL) if m.bot_id and not m.thread_ts]


async def test_a_flood_from_one_user_is_bounded_and_others_are_served(
    start_app: AppFactory, fake_slack: FakeSlack, gate: ModelGate
) -> None:
    with every_model_gated(gate):
        await start_app(cooldown_rate=3, max_per_user=2)
        acks = await asyncio.gather(
            *(fake_slack.slash_command("/sentiment", f"flood {n}") for n in range(6))
        )
        assert all(ack == {} for ack in acks)  # every one acked within 3 s
        notes = await fake_slack.wait_for(
            lambda: (e := fake_slack.ephemerals_for(ALICE)) and len(e) >= 4 and e, 10
        )
        said = [n.text for n in notes]
        assert sum("Easy there" in t for t in said) == 3  # past COOLDOWN_RATE
        assert sum("requests running" in t for t in said) == 1  # past MAX_PER_USER
        await fake_slack.slash_command("/sentiment", "I am bob", user=BOB)
        await fake_slack.wait_for(lambda: len(public(fake_slack)) == 3)
        gate.opened.set()
        for n in range(3):
            await answer(fake_slack, placeholder_count=n)
    assert any("I am bob" in texts(m) for m in public(fake_slack))
    assert not fake_slack.ephemerals_for(BOB)


async def test_a_button_draws_on_its_commands_cooldown(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    await start_app(cooldown_rate=1, cooldown_per_s=600)
    await fake_slack.slash_command("/imagine", "steps:2 size:64x64 a hill")
    top, replies = await answer(fake_slack)
    card = next(m for m in replies if any(b["type"] == "actions" for b in m.blocks))
    await fake_slack.click(CHANNEL, card.ts, "imagine:again")
    (note,) = await fake_slack.wait_for(lambda: fake_slack.ephemerals_for(ALICE))
    assert "Easy there" in note.text
    await fake_slack.click(CHANNEL, card.ts, "imagine:again", user=BOB)  # bob's own allowance
    await fake_slack.wait_for(lambda: len(fake_slack.thread(CHANNEL, top.ts)) > len(replies))


async def test_progress_of_many_jobs_stays_within_the_workspaces_edit_allowance(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    fake_slack.rate_limits = {"chat.update": (6, 2.0)}  # Slack's Tier 3, sped up 30 times
    for n in range(4):
        fake_slack.add_user(f"U0FLOOD00{n}", f"user{n}")
    bot = await start_app(max_batch_size=1, cooldown_rate=10)
    bot.throttle = EditThrottle(per_minute=4, window_s=2.0)  # a margin, as 45 of 50 is
    bot.runner.edit_interval_s = 0.01  # every change of place in the queue wants an edit
    jobs = 8
    for n in range(jobs):
        await fake_slack.slash_command("/sentiment", f"request {n}", user=f"U0FLOOD00{n % 4}")
    for n in range(jobs):
        await answer(fake_slack, placeholder_count=n, timeout=60)
    updates = [args for method, args in fake_slack.api.calls if method == "chat.update"]
    # every placeholder got its final edit, and (the fixture checks) no call was refused
    assert len(updates) >= jobs
    assert all("Done" in texts(m) for m in public(fake_slack))
