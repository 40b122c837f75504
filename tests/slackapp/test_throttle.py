"""The per-workspace chat.update allowance: progress edits coalesced, never past the
allowance; the edits that must happen wait for a slot, ahead of progress."""

from __future__ import annotations

import asyncio
import time

from slackapp.throttle import EditThrottle


async def test_progress_edits_are_coalesced_and_never_exceed_the_allowance() -> None:
    throttle = EditThrottle(per_minute=3, window_s=0.4)
    sent: list[tuple[str, float]] = []

    def edit(key: str, n: int):
        async def send() -> None:
            sent.append((f"{key}{n}", time.monotonic()))

        return send

    for n in range(20):
        for key in "abc":
            throttle.offer("T1", key, edit(key, n))
        await asyncio.sleep(0.01)
    await asyncio.sleep(1.0)
    # within any window, at most 3 edits
    times = [t for _, t in sent]
    assert all(sum(1 for u in times if t <= u < t + 0.39) <= 3 for t in times)
    # each message ends on its latest text; stale texts were dropped, not queued
    for key in "abc":
        assert [s for s, _ in sent if s.startswith(key)][-1] == f"{key}19"
    assert len(sent) < 20


async def test_an_urgent_edit_goes_before_waiting_progress() -> None:
    throttle = EditThrottle(per_minute=1, window_s=0.3)
    order: list[str] = []

    async def progress() -> None:
        order.append("progress")

    await throttle.acquire("T1")  # the window is full
    filled = time.monotonic()  # (from here, not after the sleep: a slow loop oversleeps)
    throttle.offer("T1", "a", progress)
    await asyncio.sleep(0.05)
    await throttle.acquire("T1")  # waits for the slot, and takes it first
    order.append("final")
    assert time.monotonic() - filled >= 0.29
    await asyncio.sleep(0.4)
    assert order == ["final", "progress"]


async def test_workspaces_have_their_own_allowance_and_drop_forgets() -> None:
    throttle = EditThrottle(per_minute=1, window_s=10)
    sent: list[str] = []

    async def send_b() -> None:
        sent.append("b")

    await throttle.acquire("T1")
    await asyncio.wait_for(throttle.acquire("T2"), 0.1)  # another workspace: at once
    throttle.offer("T1", "b", send_b)
    await throttle.drop("b")
    await throttle.drain(0.1)
    assert sent == []


async def test_a_final_edit_goes_before_waiting_progress_and_is_never_replaced() -> None:
    throttle = EditThrottle(per_minute=1, window_s=0.3)
    order: list[str] = []

    def edit(name: str):
        async def send() -> None:
            order.append(name)

        return send

    await throttle.acquire("T1")  # the window is full
    throttle.offer("T1", "a", edit("a: progress"))
    # a's edit waits for the window now (not after a timer, which a loop stalled past the
    # window's end would run together with a's wake-up, letting a go first)
    await asyncio.sleep(0)
    throttle.offer("T1", "b", edit("b: done"), final=True)  # offered later, sent first
    throttle.offer("T1", "b", edit("b: stale progress"))  # never replaces the final one
    await asyncio.sleep(0.8)
    assert order == ["b: done", "a: progress"]


async def test_a_slot_counts_from_when_its_call_returned() -> None:
    """Slack counts a call when it arrives: a slow call must not let the next window's
    edits overlap it."""
    throttle = EditThrottle(per_minute=1, window_s=0.3)
    calls: list[tuple[float, float]] = []

    def slow(n: int):
        async def send() -> None:
            started = time.monotonic()
            await asyncio.sleep(0.2)
            calls.append((started, time.monotonic()))

        return send

    throttle.offer("T1", "a", slow(1))
    await asyncio.sleep(0.05)
    throttle.offer("T1", "b", slow(2))
    await asyncio.sleep(1.2)
    (_, first_end), (second_start, _) = calls
    assert second_start - first_end >= 0.29
