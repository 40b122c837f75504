"""Dynamic batching benchmark: ``python -m bench.batching``.

Runs on a CPU in a few minutes, offline, with a random-weight model of
distilbert-base size (hidden 768, 6 layers, 12 heads, a ~30k WordPiece vocabulary
generated here from synthetic words). The same 256 short sentences, sent by 64
concurrent callers, go through

(a) one ``pipeline`` call per request, one at a time in a worker thread (what a
    naive bot does);
(b) the best single offline ``pipeline`` call over the whole list (a few batch
    sizes tried) - the ceiling for batching on this machine;
(c) ``InferenceService`` with dynamic batching (the sentiment task).

It prints each throughput, the ratios c/a and c/b, the latency percentiles of (c),
the event loop's lag during (c) (how late a 10 ms ticker wakes up), and the growth
of resident memory over 10,000 requests through a tiny model. The last line is one
JSON object with ``ratio_vs_per_request``, ``ratio_vs_offline_batch``,
``loop_lag_p99_ms`` and ``rss_growth_pct`` (and the raw figures).

Targets on a 2-core CPU: ratio_vs_per_request >= 2, ratio_vs_offline_batch >= 0.9,
loop_lag_p99_ms <= 50, rss_growth_pct <= 5.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

# Before transformers is imported: the bench never reaches the Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import psutil
import torch

from inference import InferenceService, InferenceSettings

#: distilbert-base-uncased: hidden 768, 6 layers, 12 heads, FFN 3072, vocab 30,522.
BASE_SIZE = {"dim": 768, "n_layers": 6, "n_heads": 12, "hidden_dim": 3072}
#: A tiny model for the memory part, so 10,000 requests take seconds.
TINY_SIZE = {"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 37}
VOCAB_SIZE = 30_000
MAX_LENGTH = 512

_CONSONANTS = "bcdfghjklmnprstvwz"
_VOWELS = "aeiou"
_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_PUNCTUATION = list(".,!?'\"-:;()/&%$#@+=*_[]{}<>~^|\\`")


# -- offline model -----------------------------------------------------------------


def synthetic_words(count: int, seed: int = 0) -> list[str]:
    """``count`` distinct pronounceable lower-case pseudo-words ("bato", "kelumi"...)."""
    rng = random.Random(seed)
    syllables = [c + v for c in _CONSONANTS for v in _VOWELS]
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(syllables) for _ in range(rng.choice((1, 2, 2, 3, 3, 4)))))
    return sorted(words)


def wordpiece_vocab(size: int = VOCAB_SIZE, seed: int = 0) -> dict[str, int]:
    """A BERT-style uncased WordPiece vocabulary of ``size`` entries: specials, single
    characters (alone and as ``##c``), punctuation, then synthetic words. Any ASCII text
    tokenises without [UNK]: unknown words fall back to characters."""
    chars = sorted(set("abcdefghijklmnopqrstuvwxyz0123456789") | set(_PUNCTUATION))
    tokens = [*_SPECIALS, *chars, *(f"##{c}" for c in chars)]
    tokens += synthetic_words(size - len(tokens), seed)
    return {token: i for i, token in enumerate(tokens)}


def build_model(path: Path, size: dict[str, int] = BASE_SIZE, seed: int = 0) -> Path:
    """A random-weight DistilBERT sentiment classifier with its tokenizer, saved with
    ``save_pretrained`` so it loads like a Hub model. Deterministic for a given seed."""
    from transformers import (
        DistilBertConfig,
        DistilBertForSequenceClassification,
        DistilBertTokenizer,
    )

    path.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tokenizer = DistilBertTokenizer(vocab=wordpiece_vocab(seed=seed), model_max_length=MAX_LENGTH)
    config = DistilBertConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=MAX_LENGTH,
        pad_token_id=0,
        id2label={0: "NEGATIVE", 1: "POSITIVE"},
        label2id={"NEGATIVE": 0, "POSITIVE": 1},
        **size,
    )
    DistilBertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def sentences(count: int, seed: int = 1, low: int = 4, high: int = 20) -> list[str]:
    """``count`` short sentences of ``low``..``high`` words drawn from the vocabulary,
    with a comma or a full stop here and there (so lengths, and padding, vary)."""
    rng = random.Random(seed)
    words = synthetic_words(VOCAB_SIZE - 200, seed=0)
    out = []
    for _ in range(count):
        picked = [rng.choice(words) for _ in range(rng.randint(low, high))]
        text = " ".join(picked).capitalize()
        out.append(text + rng.choice((".", "!", "?", "")))
    return out


# -- measurements ------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def _callers(
    texts: Sequence[str], callers: int, call: Callable[[int, str], Awaitable[Any]]
) -> tuple[float, list[float]]:
    """Send ``texts`` from ``callers`` concurrent callers, each one request at a time
    (caller i sends texts i, i+callers, ...). Returns (seconds, per-request latencies)."""
    latencies: list[float] = []

    async def caller(index: int) -> None:
        for text in texts[index::callers]:
            started = time.perf_counter()
            await call(index, text)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(caller(i) for i in range(callers)))
    return time.perf_counter() - started, latencies


class _Contenders:
    """The three ways of serving the same texts, loaded once and measured in interleaved
    rounds, so that a burst of load from other processes hits all three alike; the best
    run of each is kept."""

    def __init__(
        self, model_dir: Path, texts: Sequence[str], callers: int, service: InferenceService
    ) -> None:
        from transformers import pipeline

        self.texts = list(texts)
        self.callers = callers
        self.service = service
        self.pipe = pipeline("text-classification", model=str(model_dir), device="cpu")
        self.worker = ThreadPoolExecutor(1, thread_name_prefix="per-request")

    async def per_request(self) -> float:
        """(a) Requests/s of one pipeline call per request, one at a time in a worker."""
        loop = asyncio.get_running_loop()

        async def call(_: int, text: str) -> Any:
            return await loop.run_in_executor(self.worker, self.pipe, text)

        seconds, _ = await _callers(self.texts, self.callers, call)
        return len(self.texts) / seconds

    def offline_batch(self, batch_size: int) -> float:
        """(b) Requests/s of one pipeline call over the whole list."""
        started = time.perf_counter()
        self.pipe(self.texts, batch_size=batch_size)
        return len(self.texts) / (time.perf_counter() - started)

    async def service_batching(self) -> dict[str, float]:
        """(c) Requests/s of the service with dynamic batching, its latency percentiles
        and the event loop's lag meanwhile."""
        lags: list[float] = []
        ticker = asyncio.create_task(_ticker(lags))
        await asyncio.sleep(0.05)
        seconds, latencies = await _callers(self.texts, self.callers, self._service_call)
        ticker.cancel()
        return {
            "throughput": len(self.texts) / seconds,
            "p50_ms": 1000 * percentile(latencies, 50),
            "p95_ms": 1000 * percentile(latencies, 95),
            "p99_ms": 1000 * percentile(latencies, 99),
            "loop_lag_p99_ms": 1000 * percentile(lags, 99),
            "loop_lag_max_ms": 1000 * max(lags, default=0.0),
        }

    async def _service_call(self, index: int, text: str) -> Any:
        return await self.service.run("sentiment", user=f"caller-{index}", text=text)

    async def warm_up(self, batch_sizes: Sequence[int]) -> None:
        few = self.texts[: max(batch_sizes)]
        self.pipe(few, batch_size=max(batch_sizes))
        for text in few[:4]:
            self.pipe(text)
        await _callers(few, self.callers, self._service_call)  # loads the model too


async def _ticker(lags: list[float], period: float = 0.01) -> None:
    """Record how late each 10 ms sleep wakes up: the event loop's lag."""
    while True:
        started = time.perf_counter()
        await asyncio.sleep(period)
        lags.append(time.perf_counter() - started - period)


def memory_growth(
    model_dir: Path, requests: int, callers: int, settings: InferenceSettings
) -> dict[str, float]:
    """Resident memory before and after ``requests`` requests through the service (after a
    warm-up of a tenth as many, so that caches and allocator pools are already full)."""
    process = psutil.Process()
    texts = sentences(256, seed=2)

    async def main() -> dict[str, float]:
        async with InferenceService(settings, models={"sentiment": str(model_dir)}) as service:

            async def call(index: int, text: str) -> Any:
                return await service.run("sentiment", user=f"caller-{index}", text=text)

            def batch(n: int) -> list[str]:
                return [texts[i % len(texts)] for i in range(n)]

            await _callers(batch(max(requests // 10, callers)), callers, call)
            gc.collect()
            before = process.memory_info().rss
            await _callers(batch(requests), callers, call)
            gc.collect()
            after = process.memory_info().rss
        return {
            "rss_before_mb": before / 2**20,
            "rss_after_mb": after / 2**20,
            "rss_growth_pct": 100 * (after - before) / before,
        }

    return asyncio.run(main())


def run_bench(
    model_dir: Path,
    tiny_model_dir: Path | None = None,
    *,
    n_requests: int = 256,
    callers: int = 64,
    memory_requests: int = 10_000,
    batch_sizes: Sequence[int] = (8, 16, 32, 64),
    rounds: int = 3,
    budget_s: float = 150.0,
    settings: InferenceSettings | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Run the whole benchmark; returns the figures (the four target keys among them).

    ``tiny_model_dir`` is the model of the memory part (``model_dir`` when None).
    The throughput part runs ``rounds`` rounds, fewer when the next round would end
    past ``budget_s`` seconds from the start; each figure is the best of its rounds.
    """
    started = time.perf_counter()
    settings = settings or InferenceSettings(_env_file=None, device="cpu")
    texts = sentences(n_requests)

    # Memory first, while the process is small, so that growth is measured against
    # the service and a tiny model rather than against two large models.
    memory = memory_growth(tiny_model_dir or model_dir, memory_requests, callers, settings)
    log(
        f"memory: {memory['rss_before_mb']:.0f} MiB -> {memory['rss_after_mb']:.0f} MiB "
        f"after {memory_requests:,} requests ({memory['rss_growth_pct']:+.2f} %)"
    )

    async def throughput() -> tuple[float, tuple[float, int], dict[str, float], int]:
        async with InferenceService(settings, models={"sentiment": str(model_dir)}) as service:
            contenders = _Contenders(model_dir, texts, callers, service)
            try:
                await contenders.warm_up(batch_sizes)
                best_a, best_b = 0.0, (0.0, 0)
                best_c: dict[str, float] = {"throughput": 0.0}
                index = 0
                for index in range(rounds):
                    round_started = time.perf_counter()
                    a = await contenders.per_request()
                    # (b) and (c) alternate, one (c) run per (b) batch size: both get as
                    # many tries, so that taking the best of each favours neither.
                    bs: list[tuple[float, int]] = []
                    cs: list[dict[str, float]] = []
                    for batch_size in batch_sizes:
                        bs.append((contenders.offline_batch(batch_size), batch_size))
                        cs.append(await contenders.service_batching())
                    b = max(bs)
                    c = max(cs, key=lambda figures: figures["throughput"])
                    best_a, best_b = max(best_a, a), max(best_b, b)
                    best_c = max(best_c, c, key=lambda figures: figures["throughput"])
                    line = (
                        f"round {index + 1}: a {a:6.1f}  b {b[0]:6.1f} (batch {b[1]})  "
                        f"c {c['throughput']:6.1f} req/s  c/a {c['throughput'] / a:.2f}  "
                        f"c/b {c['throughput'] / b[0]:.2f}  lag p99 {c['loop_lag_p99_ms']:.1f} ms"
                        f"  [b {' '.join(f'{x:.0f}' for x, _ in bs)};"
                        f" c {' '.join(f'{x:.0f}' for x in (run['throughput'] for run in cs))}]"
                    )
                    log(line)
                    now = time.perf_counter()
                    if now - started + (now - round_started) > budget_s:
                        break
                return best_a, best_b, best_c, index + 1
            finally:
                contenders.worker.shutdown()

    a, (b, best_batch), c, rounds_run = asyncio.run(throughput())
    log(f"(a) one pipeline call per request:  {a:7.1f} req/s")
    log(f"(b) offline batched pipeline call:  {b:7.1f} req/s (batch_size={best_batch})")
    log(f"(c) InferenceService with batching: {c['throughput']:7.1f} req/s")
    log(f"    c/a = {c['throughput'] / a:.2f}   c/b = {c['throughput'] / b:.2f}")
    log(
        f"    latency p50 {c['p50_ms']:.0f} ms, p95 {c['p95_ms']:.0f} ms, "
        f"p99 {c['p99_ms']:.0f} ms; loop lag p99 {c['loop_lag_p99_ms']:.1f} ms "
        f"(max {c['loop_lag_max_ms']:.1f} ms)"
    )
    return {
        "ratio_vs_per_request": round(c["throughput"] / a, 3),
        "ratio_vs_offline_batch": round(c["throughput"] / b, 3),
        "loop_lag_p99_ms": round(c["loop_lag_p99_ms"], 2),
        "rss_growth_pct": round(memory["rss_growth_pct"], 3),
        "per_request_rps": round(a, 2),
        "offline_batch_rps": round(b, 2),
        "offline_best_batch_size": best_batch,
        "service_rps": round(c["throughput"], 2),
        "latency_p50_ms": round(c["p50_ms"], 1),
        "latency_p95_ms": round(c["p95_ms"], 1),
        "latency_p99_ms": round(c["p99_ms"], 1),
        "rss_before_mb": round(memory["rss_before_mb"], 1),
        "rss_after_mb": round(memory["rss_after_mb"], 1),
        "rounds": rounds_run,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.batching", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--models", type=Path, help="where to build the models (default: temp)")
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--callers", type=int, default=64)
    parser.add_argument("--memory-requests", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (best kept)")
    args = parser.parse_args(argv)

    import transformers

    logging.basicConfig(level=logging.ERROR)
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads, "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )

    with tempfile.TemporaryDirectory(prefix="bench-models-") as tmp:
        root = args.models or Path(tmp)
        started = time.perf_counter()
        base = root / "distilbert-base-random"
        tiny = root / "distilbert-tiny-random"
        if not (base / "config.json").exists():
            build_model(base, BASE_SIZE)
        if not (tiny / "config.json").exists():
            build_model(tiny, TINY_SIZE)
        print(f"models built in {time.perf_counter() - started:.1f} s", flush=True)
        figures = run_bench(
            base,
            tiny,
            n_requests=args.requests,
            callers=args.callers,
            memory_requests=args.memory_requests,
            rounds=args.rounds,
            log=lambda line: print(line, flush=True),
        )
    print(f"total {time.perf_counter() - started:.1f} s", flush=True)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
