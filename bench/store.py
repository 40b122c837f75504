"""Job journal benchmark: ``python -m bench.store``.

What the journal adds to every request, on a real SQLite file (WAL, synchronous=FULL):
64 concurrent callers each journal requests the way ``run_job`` does (add before queueing,
note the message id after deferring, mark done after delivering: three committed writes).
It prints the journal's cost per request (p50/p99 of the three writes together), the
requests journaled per second, the event loop's lag meanwhile (how late a 10 ms ticker
wakes up: the writes run on the store's own thread), and how long a start-up takes to read
10,000 unfinished jobs and prune 10,000 finished ones. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from store import Journal, Store


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def ticker(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append((time.perf_counter() - started - 0.01) * 1000)


async def journal_requests(journal: Journal, requests: int, callers: int) -> list[float]:
    latencies: list[float] = []
    queue = list(range(requests))

    async def caller() -> None:
        while queue:
            n = queue.pop()
            started = time.perf_counter()
            entry = await journal.add(
                "sentiment",
                {"text": f"request {n} " + "x" * 200},
                user=n,
                reply_to={"token": "t" * 200, "channel_id": n},
                expires_at=time.time() + 900,
            )
            await journal.update(entry, reply_to={**entry.reply_to, "message_id": n})
            await journal.finish(entry)
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(caller() for _ in range(callers)))
    return latencies


async def bench(root: Path, requests: int, callers: int, backlog: int) -> dict[str, float]:
    store = await Store.open(root)
    journal = Journal(store)
    lags: list[float] = []
    stop = asyncio.Event()
    beat = asyncio.create_task(ticker(lags, stop))
    started = time.perf_counter()
    latencies = await journal_requests(journal, requests, callers)
    elapsed = time.perf_counter() - started
    stop.set()
    await beat

    for n in range(backlog):  # unfinished jobs left by a crash
        await journal.add("ner", {"text": "y" * 200}, user=n, reply_to={}, expires_at=0)
    started = time.perf_counter()
    unfinished = await journal.unfinished()
    scan_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    pruned = await journal.prune(0, now=time.time() + 1)
    prune_ms = (time.perf_counter() - started) * 1000
    await store.close()
    assert len(unfinished) == backlog and pruned == requests
    return {
        "requests": requests,
        "callers": callers,
        "journal_ms_p50": round(statistics.median(latencies), 2),
        "journal_ms_p99": round(percentile(latencies, 0.99), 2),
        "requests_per_s": round(requests / elapsed, 1),
        "loop_lag_p99_ms": round(percentile(lags, 0.99), 2),
        "resume_scan_ms": round(scan_ms, 1),
        "resume_backlog": backlog,
        "prune_ms": round(prune_ms, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--callers", type=int, default=64)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, help="where to put the database (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        figures = asyncio.run(
            bench(args.dir or Path(tmp), args.requests, args.callers, args.backlog)
        )
    for key, value in figures.items():
        print(f"{key}: {value}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
