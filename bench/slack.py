"""The Slack app under a flood: ``python -m bench.slack``.

The real app (``slackapp.app.SlackBot``: Bolt over Socket Mode, the inference service,
the journal on a real SQLite file, the edit throttle) against the local fake Slack
(``tests.fakeslack``), with a tiny random-weight sentiment model built here, offline.
``--requests`` ``/sentiment`` commands from ``--users`` users are sent concurrently in
``--bursts`` bursts. Cooldowns and the per-user bound are raised so that nothing is
refused: the bench measures serving, not limits.

It prints the ack latency (Slack wants <= 3,000 ms), the latency to the answer in the
placeholder's thread, the answers per second, the most ``chat.update`` calls in any
60-second window (against SLACK_EDITS_PER_MINUTE and Slack's ~50), the Web API calls
and the connections that carried them, the fake's 429s and violations, the requests
never answered and the event loop's lag (how late a 10 ms ticker wakes up on the loop
the app, and the fake, run on). The last line is one JSON object.

An answer goes to the thread before its placeholder's "Done" edit, which waits for
the edit allowance (ahead of progress edits): under a flood the answers come at the
model's pace, and the placeholders catch up at SLACK_EDITS_PER_MINUTE. The run ends
with the last answer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from bisect import bisect_right
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from bench.batching import TINY_SIZE, _ticker, build_model, percentile, sentences
from inference import InferenceService
from slackapp.app import SlackBot
from slackapp.settings import SlackSettings
from store import Store
from tests.fakeslack import AckTimeout, FakeSlack

CHANNEL = "C0CHAN0001"
#: Slack's Tier 3 allowance for chat.update, per workspace (what the fake enforces).
SLACK_EDITS_PER_MINUTE = 50
#: Each request's text starts with its tag, which the placeholder's title repeats.
TAG = re.compile(r"req(\d+)\b")
#: SLACK_EDITS_PER_MINUTE's default.
EDITS_PER_MINUTE = SlackSettings.model_fields["slack_edits_per_minute"].default


class Observer:
    """Timestamps the app's Web API calls as the fake receives them: every
    ``chat.update``, and the first reply posted in each placeholder's thread. ``scan``
    runs on every change of the fake (``fake.wait_for``)."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.seen = 0
        self.edits: list[float] = []
        self.answers: dict[str, float] = {}  # placeholder ts -> when its answer came

    def scan(self) -> None:
        now = time.perf_counter()
        calls = self.fake.api.calls
        for method, args in calls[self.seen :]:
            if method == "chat.update":
                self.edits.append(now)
            elif method == "chat.postMessage" and args.get("thread_ts"):
                self.answers.setdefault(args["thread_ts"], now)
        self.seen = len(calls)

    def placeholders(self) -> dict[int, str]:
        """Request number -> its placeholder's ts (from the title every version shows)."""
        found = {}
        for message in self.fake.messages(CHANNEL):
            if message.bot_id and not message.thread_ts:
                match = TAG.search(message.edits[0].text if message.edits else message.text)
                if match:
                    found[int(match.group(1))] = message.ts
        return found


def most_in_window(times: list[float], window: float) -> int:
    """The most of ``times`` (sorted) in any ``window`` seconds."""
    return max((bisect_right(times, t + window) - i for i, t in enumerate(times)), default=0)


async def flood(
    fake: FakeSlack, texts: list[str], users: list[str], bursts: int, gap_s: float
) -> tuple[dict[int, float], list[float]]:
    """Send ``texts`` as /sentiment commands in ``bursts`` concurrent bursts, ``gap_s``
    apart. Returns when each was sent and each ack's latency (ms); a missed ack has none."""
    sent: dict[int, float] = {}
    acks: list[float] = []

    async def command(number: int) -> None:
        sent[number] = time.perf_counter()
        with contextlib.suppress(AckTimeout):  # (a violation of the fake: reported)
            await fake.slash_command("/sentiment", texts[number], user=users[number % len(users)])
            acks.append((time.perf_counter() - sent[number]) * 1000)

    size = -(-len(texts) // bursts)
    for start in range(0, len(texts), size):
        if start:
            await asyncio.sleep(gap_s)
        await asyncio.gather(*(command(n) for n in range(start, min(start + size, len(texts)))))
    return sent, acks


async def bench(
    root: Path,
    *,
    requests: int,
    users: int,
    bursts: int = 3,
    gap_s: float = 1.0,
    edits_per_minute: int = EDITS_PER_MINUTE,
    timeout_s: float = 600.0,
) -> dict[str, Any]:
    """Start the fake and the app under ``root``, flood it, and return the figures."""
    model = build_model(root / "model", TINY_SIZE)
    texts = [f"req{n} {text}" for n, text in enumerate(sentences(requests, seed=3))]
    async with FakeSlack() as fake:
        people = [f"U0BENCH{n:04d}" for n in range(users)]
        for user in people:
            fake.add_user(user, user.lower())
        settings = SlackSettings(
            _env_file=None,
            slack_bot_token=fake.bot_token,
            slack_app_token=fake.app_token,
            slack_api_url=fake.api_url,
            slack_edits_per_minute=edits_per_minute,
            data_dir=root / "data",
            device="cpu",
            sentiment_model=str(model),
            # the made-up words are no language: every language reads the tiny model
            sentiment_models={"*": str(model)},
            cooldown_rate=requests + 1,
            max_per_user=requests + 1,
            max_queue=requests + 1,
        )
        bot = SlackBot(settings, service=InferenceService(settings))
        store = await Store.open(settings.data_dir)
        observer = Observer(fake)
        try:
            await bot.start(store)
            await fake.wait_for(lambda: fake.socket.live)
            # one request first, so that the model is loaded before the flood
            await fake.slash_command("/sentiment", "warm up", user=people[0])
            await fake.wait_for(lambda: observer.scan() or observer.answers, timeout=60)

            def all_answered() -> bool:
                observer.scan()
                return len(observer.answers) > requests  # (+ the warm-up's)

            lags: list[float] = []
            ticker = asyncio.create_task(_ticker(lags))
            # watching from the start, so that each call is timed as it comes
            watch = asyncio.create_task(fake.wait_for(all_answered, timeout=timeout_s))
            started = time.perf_counter()
            sent, acks = await flood(fake, texts, people, bursts, gap_s)
            with contextlib.suppress(TimeoutError):  # (counted as lost below)
                await watch
            elapsed = time.perf_counter() - started
            ticker.cancel()
            answers = observer.placeholders()
        finally:
            await bot.close()
            await store.close()
        every_edit = sorted(observer.edits)  # the warm-up's too: the same allowance
        edits = [t for t in every_edit if t >= started]
        answered = {
            n: observer.answers[ts] - sent[n]
            for n, ts in answers.items()
            if ts in observer.answers and n in sent
        }
        latencies = [seconds * 1000 for seconds in answered.values()]
        last = max((sent[n] + s for n, s in answered.items()), default=started)
        peak_per_s = most_in_window(every_edit, 1.0)
        return {
            "requests": requests,
            "users": users,
            "bursts": bursts,
            "edits_allowed_per_min": edits_per_minute,
            "ack_ms_p50": round(statistics.median(acks), 1),
            "ack_ms_p99": round(percentile(acks, 99), 1),
            "ack_ms_max": round(max(acks), 1),
            "ack_missed": requests - len(acks),
            "answer_ms_p50": round(statistics.median(latencies), 1) if latencies else None,
            "answer_ms_p99": round(percentile(latencies, 99), 1) if latencies else None,
            "answers_per_s": round(len(answered) / max(last - started, 1e-9), 2),
            "edits": len(edits),
            "edits_per_min_max": most_in_window(every_edit, 60.0),
            "edits_peak_per_s_x60": peak_per_s * 60,
            "api_calls": len(fake.api.calls),
            # new TCP connections for them (on slack.com each is also a TLS handshake)
            "api_connections": len(fake.api.connections),
            "rate_limited": len(fake.rate_limited),
            "violations": len(fake.violations),
            "lost": requests - len(answered),
            "event_loop_lag_ms_p99": round(1000 * percentile(lags, 99), 1),
            "seconds": round(elapsed, 1),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--gap-s", type=float, default=1.0, help="seconds between bursts")
    parser.add_argument(
        "--edits-per-minute",
        type=int,
        default=EDITS_PER_MINUTE,
        help="SLACK_EDITS_PER_MINUTE (default: its default)",
    )
    parser.add_argument(
        "--timeout-s", type=float, default=600.0, help="how long to wait for the last answer"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-slack-") as tmp:
        figures = asyncio.run(
            bench(
                Path(tmp),
                requests=args.requests,
                users=args.users,
                bursts=args.bursts,
                gap_s=args.gap_s,
                edits_per_minute=args.edits_per_minute,
                timeout_s=args.timeout_s,
            )
        )
    for key, value in figures.items():
        print(f"{key}: {value}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
