"""What language routing costs: ``python -m bench.sentiment_languages``.

Offline, on a CPU, in about a minute, with the tiny stand-ins of tests/tiny_sentiment_models.py
(English 2-class, Korean 2-class, "*" 3-class, German 5-star). It measures

(a) the language decision that ``parse`` makes on the event loop (Hangul check, then the
    fastText detector): microseconds per text, mean and p99, over mixed texts of every
    length up to 4,000 characters; and the detector's one-time load, which the service
    does in a worker thread when it starts (``Task.warm``);
(b) a burst of requests through ``InferenceService``, all in one language and then mixed
    over four languages (four models): requests per second of each. The mixed burst runs
    one batch per model, so its throughput should stay close to the single-language one.

The last line is one JSON object: ``parse_us_mean``, ``parse_us_median``, ``parse_us_p99``,
``detector_load_ms``, ``single_rps``, ``mixed_rps``, ``mixed_vs_single``.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from inference import InferenceService, InferenceSettings
from inference.languages import warm_detector
from tests.tiny_models import build_sentiment
from tests.tiny_sentiment_models import (
    build_five_star,
    build_korean_binary,
    build_three_class,
)

TEXTS = [
    "이 영화 정말 재미있어요",
    "I love this movie, it is wonderful and the actors are great!",
    "Me encanta esta película, es maravillosa.",
    "Ich liebe diesen Film, er ist wunderbar.",
    "굿",
    "lol",
    "The food was okay, but the service was slow. " * 80,
    "배송이 너무 늦어서 실망했어요. " * 200,
]
BURST = 256


async def burst(service: InferenceService, texts: list[str]) -> float:
    """Requests per second of ``texts`` sent all at once."""
    started = time.perf_counter()
    await asyncio.gather(*(service.run("sentiment", text=t) for t in texts))
    return len(texts) / (time.perf_counter() - started)


async def main() -> dict[str, float]:
    torch.set_num_threads(1)
    started = time.perf_counter()
    warm_detector()
    load_ms = (time.perf_counter() - started) * 1000

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = InferenceSettings(
            _env_file=None,
            max_wait_ms=5,
            max_queue=BURST,
            sentiment_model=str(build_sentiment(root / "en")),
            sentiment_models={
                "ko": str(build_korean_binary(root / "ko")),
                "de": str(build_five_star(root / "de")),
                "*": str(build_three_class(root / "any")),
            },
        )
        async with InferenceService(settings, limits={}) as service:
            task = service.task("sentiment")
            timings = []
            for _ in range(200):
                for text in TEXTS:
                    begun = time.perf_counter_ns()
                    task.parse(text=text)
                    timings.append((time.perf_counter_ns() - begun) / 1000)
            await service.preload(["sentiment"])
            english = [TEXTS[1]] * BURST
            mixed = [TEXTS[i % 4] for i in range(BURST)]
            await burst(service, english[:16])  # warm up
            single = statistics.median([await burst(service, english) for _ in range(3)])
            spread = statistics.median([await burst(service, mixed) for _ in range(3)])

    timings.sort()
    figures = {
        "parse_us_mean": round(statistics.fmean(timings), 1),
        "parse_us_median": round(statistics.median(timings), 1),
        "parse_us_p99": round(timings[int(len(timings) * 0.99)], 1),
        "detector_load_ms": round(load_ms, 1),
        "single_rps": round(single, 1),
        "mixed_rps": round(spread, 1),
        "mixed_vs_single": round(spread / single, 3),
    }
    print(
        f"language decision in parse: {figures['parse_us_mean']} µs mean, "
        f"{figures['parse_us_p99']} µs p99; detector load {figures['detector_load_ms']} ms"
    )
    print(f"burst of {BURST}: one language {single:.0f}/s, four languages {spread:.0f}/s")
    return figures


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
