"""Fair share under load: ``python -m bench.fairness``.

Offline, on tiny models made slow on purpose: a forward hook sleeps ``--step-ms`` in
every step of the heavy models (UNet steps, decoder tokens), so a heavy step has a
known cost whatever the machine. It measures:

- ``starvation_ratio``: the p99 latency of cheap requests (sentiment) from 32 users
  while heavy jobs (/imagine, 20 steps) run back to back, divided by the idle p99 of
  the same requests plus one heavy step. Target <= 1.5.
- ``cheap_timeouts``: cheap requests that timed out meanwhile. Target 0.
- ``peak_model_mb_over_budget``: one user asks for 30 translation pairs with
  MODEL_MEMORY_MB set to the size of 3 Marian models; the most the loaded (and
  reserved) model memory ever went over the budget. Target 0.
- ``cancel_to_free_ms_p99``: from ``cancel()`` to the worker being free (the job
  released), for summarize, translate, generate and imagine. Target <= one step + 200 ms.
- ``shutdown_s``: SIGTERM to a process running a long summarize, until it exits.
  Target <= 10.

The last line printed is one JSON object with those keys and the raw figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import torch

from inference import InferenceService, InferenceSettings, JobState, JobTimeout, TaskLimits
from inference.memory import MB

#: 15 languages both ways: 30 translation pairs.
LANGUAGES = (
    "fr",
    "de",
    "es",
    "it",
    "nl",
    "sv",
    "pt",
    "ru",
    "pl",
    "fi",
    "da",
    "tr",
    "cs",
    "ro",
    "hu",
)
CHEAP_USERS = 32
HEAVY_STEPS = 20
STORY = " ".join(
    f"Sentence number {i} tells of a fox who walked to the river and back again." for i in range(60)
)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def until(condition: Any) -> None:
    """Poll ``condition`` every few milliseconds (a benchmark watching a job from outside)."""
    while not condition():  # noqa: ASYNC110
        await asyncio.sleep(0.005)


def build_models(root: Path) -> dict[str, Any]:
    from tests import tiny_models as tiny

    pairs = [("en", code) for code in LANGUAGES] + [(code, "en") for code in LANGUAGES]
    tiny.build_translate(root / "translate", pairs)
    return {
        "sentiment": tiny.build_sentiment(root / "sentiment"),
        "imagine": tiny.build_stable_diffusion(root / "imagine"),
        "summarize": tiny.build_bart_summarizer(root / "summarize"),
        "generate": tiny.build_gpt2(root / "generate"),
        "translate_root": root / "translate",
        "pairs": pairs,
    }


def slow_down(module: torch.nn.Module, step_s: float) -> None:
    """Every forward pass of ``module`` takes ``step_s`` longer: a heavy step of known cost."""
    module.register_forward_hook(lambda *_: time.sleep(step_s))


def heavy_part(model: Any) -> torch.nn.Module:
    """The module that runs once per step: a UNet, or a decoder."""
    if hasattr(model, "unet"):
        return model.unet
    inner = getattr(model, "model", model)
    return inner.get_decoder() if hasattr(inner, "get_decoder") else inner


def service_for(models: dict[str, Any], **settings: Any) -> InferenceService:
    values: dict[str, Any] = {"max_per_user": 2, "max_wait_ms": 2}
    values.update(settings)
    return InferenceService(
        InferenceSettings(_env_file=None, **values),
        models={
            "sentiment": str(models["sentiment"]),
            "imagine": str(models["imagine"]),
            "summarize": str(models["summarize"]),
            "generate": str(models["generate"]),
            "translate": f"{models['translate_root']}/opus-mt-{{src}}-{{tgt}}",
        },
        limits={"sentiment": TaskLimits(timeout_s=30)},
    )


async def warm(service: InferenceService, step_s: float, tasks: Sequence[str]) -> None:
    inputs = {
        "sentiment": {"text": "warm up"},
        "imagine": {"prompt": "a fox", "steps": 1, "size": "64x64", "seed": 1},
        "summarize": {"text": "A fox ran. It was fast."},
        "generate": {"prompt": "Once", "max_tokens": 2, "seed": 1},
        "translate": {"text": "Hello.", "target": "fr"},
    }
    for task in tasks:
        await service.run(task, **inputs[task])
        if task != "sentiment":
            for model in service.loaded_models(task):
                slow_down(heavy_part(getattr(model, "pipe", model)), step_s)


async def cheap_load(service: InferenceService, seconds: float) -> tuple[list[float], int]:
    """32 users, each sending a sentiment request, waiting for it, pausing a little."""
    latencies: list[float] = []
    timeouts = 0
    end = time.monotonic() + seconds

    async def user(number: int) -> None:
        nonlocal timeouts
        rng = random.Random(number)
        while time.monotonic() < end:
            started = time.monotonic()
            try:
                await service.run("sentiment", user=f"reader{number}", text=f"great day {number}")
                latencies.append(time.monotonic() - started)
            except JobTimeout:
                timeouts += 1
            await asyncio.sleep(rng.uniform(0.05, 0.2))

    await asyncio.gather(*(user(n) for n in range(CHEAP_USERS)))
    return latencies, timeouts


async def starvation(models: dict[str, Any], step_s: float, seconds: float) -> dict[str, float]:
    async with service_for(models) as service:
        await warm(service, step_s, ["sentiment", "imagine"])
        idle, _ = await cheap_load(service, seconds)
        heavy_steps: list[float] = []
        stop = asyncio.Event()

        async def painter() -> None:  # heavy jobs back to back
            while not stop.is_set():
                started = time.monotonic()
                await service.run(
                    "imagine", user="painter", prompt="a fox", steps=HEAVY_STEPS, size="64x64"
                )
                heavy_steps.append((time.monotonic() - started) / HEAVY_STEPS)

        heavy = asyncio.create_task(painter())
        await asyncio.sleep(step_s * 3)
        loaded, timeouts = await cheap_load(service, seconds)
        stop.set()
        await heavy
    step = sum(heavy_steps) / len(heavy_steps)
    idle_p99, loaded_p99 = percentile(idle, 99), percentile(loaded, 99)
    return {
        "starvation_ratio": round(loaded_p99 / (idle_p99 + step), 3),
        "cheap_timeouts": timeouts,
        "cheap_idle_p99_ms": round(idle_p99 * 1000, 1),
        "cheap_loaded_p99_ms": round(loaded_p99 * 1000, 1),
        "cheap_loaded_p50_ms": round(percentile(loaded, 50) * 1000, 1),
        "cheap_loaded_p90_ms": round(percentile(loaded, 90) * 1000, 1),
        "cheap_loaded_max_ms": round(max(loaded) * 1000, 1),
        "heavy_step_ms": round(step * 1000, 1),
        "cheap_requests": len(idle) + len(loaded),
        "heavy_jobs": len(heavy_steps),
    }


async def memory(models: dict[str, Any]) -> dict[str, float]:
    from transformers import AutoModelForSeq2SeqLM

    from inference.memory import measure_bytes

    first = models["translate_root"] / "opus-mt-en-fr"
    one = measure_bytes(AutoModelForSeq2SeqLM.from_pretrained(first))
    budget = 3 * one
    peak = 0
    async with service_for(models, model_memory_mb=str(budget / MB)) as service:
        sampling = True

        async def sample() -> None:
            # Room is reserved for the whole of a load (tens of ms): a millisecond poll
            # sees every reservation, without spinning the loop.
            nonlocal peak
            while sampling:
                peak = max(peak, service.models.used)
                await asyncio.sleep(0.001)

        sampler = asyncio.create_task(sample())
        pairs = models["pairs"]
        for first_index in range(0, len(pairs), 2):  # two at a time: MAX_PER_USER
            await asyncio.gather(
                *(
                    service.run("translate", user="hostile", text="Hello.", source=s, target=t)
                    for s, t in pairs[first_index : first_index + 2]
                )
            )
            peak = max(peak, service.models.used)
        sampling = False
        await sampler
        loaded = len(service.loaded_models("translate"))
    return {
        "peak_model_mb_over_budget": round(max(0.0, (peak - budget) / MB), 3),
        "memory_budget_mb": round(budget / MB, 2),
        "memory_peak_mb": round(peak / MB, 2),
        "pairs_asked": len(models["pairs"]),
        "pairs_loaded_at_end": loaded,
    }


async def cancelling(models: dict[str, Any], step_s: float, rounds: int) -> dict[str, float]:
    inputs = {
        "summarize": {"text": STORY, "length": "long"},
        "translate": {"text": STORY[:4000], "target": "fr"},
        "generate": {"prompt": "Once upon a time", "max_tokens": 500, "seed": 1},
        "imagine": {"prompt": "a fox", "steps": 50, "size": "64x64", "seed": 1},
    }
    per_task: dict[str, list[float]] = {task: [] for task in inputs}
    async with service_for(models) as service:
        await warm(service, step_s, list(inputs))
        for _ in range(rounds):
            for task, values in inputs.items():
                job = service.submit(task, user="canceller", **values)
                await until(lambda job=job: job.state is JobState.RUNNING)
                await asyncio.sleep(step_s * 2.5)  # in the middle of a step
                started = time.monotonic()
                job.cancel()
                await job.released()
                per_task[task].append((time.monotonic() - started) * 1000)
    everything = [ms for values in per_task.values() for ms in values]
    return {
        "cancel_to_free_ms_p99": round(percentile(everything, 99), 1),
        "cancel_target_ms": round(step_s * 1000 + 200, 1),
        **{f"cancel_{task}_ms_max": round(max(v), 1) for task, v in per_task.items()},
    }


def shutdown(models: dict[str, Any], step_s: float) -> dict[str, float]:
    """SIGTERM to a child process with a long summarize running; seconds until it exits."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.fairness",
            "--shutdown-child",
            str(models["summarize"]),
            "--step-ms",
            str(step_s * 1000),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "running", line
    started = time.monotonic()
    child.send_signal(signal.SIGTERM)
    code = child.wait(timeout=60)
    return {"shutdown_s": round(time.monotonic() - started, 2), "shutdown_exit_code": code}


async def shutdown_child(model: str, step_s: float) -> None:
    """The child of ``shutdown``: a service running a long summarize until SIGTERM."""
    settings = InferenceSettings(_env_file=None)
    service = await InferenceService(settings, models={"summarize": model}).start()
    await service.run("summarize", text="A fox ran. It was fast.")
    for loaded in service.loaded_models("summarize"):
        slow_down(heavy_part(loaded.model), step_s)
    job = service.submit("summarize", text=STORY * 10, length="long")
    await until(lambda: job.state is JobState.RUNNING)
    print("running", flush=True)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    await stopping.wait()
    await service.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fairness", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--step-ms", type=float, default=100, help="cost of one heavy step")
    parser.add_argument("--seconds", type=float, default=8, help="length of each load phase")
    parser.add_argument("--rounds", type=int, default=5, help="cancels per task")
    parser.add_argument("--shutdown-child", metavar="MODEL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    step_s = args.step_ms / 1000
    torch.set_num_threads(1)
    if args.shutdown_child:
        asyncio.run(shutdown_child(args.shutdown_child, step_s))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        print("building tiny models...", flush=True)
        models = build_models(Path(tmp))
        figures: dict[str, Any] = {"step_ms": args.step_ms}
        figures.update(asyncio.run(starvation(models, step_s, args.seconds)))
        print(f"starvation: {figures}", flush=True)
        figures.update(asyncio.run(memory(models)))
        figures.update(asyncio.run(cancelling(models, step_s, args.rounds)))
        figures.update(shutdown(models, step_s))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
