"""Serving remotely: ``python -m bench.remote``.

The workload of ``bench.batching`` (256 short sentences from 64 concurrent callers,
the sentiment task on a random-weight model of distilbert-base size, built here,
offline) served

- ``inprocess``: by ``InferenceService`` in this process (the default deployment);
- ``http``: by ``python -m inference serve`` in a child process, through
  ``RemoteService`` (what the bot does with INFERENCE_URL);
- ``ray_1``, ``ray_2``: by ``RayBackend`` (what ``serve --ray`` serves) on a local Ray
  cluster, with one and with two replicas of one torch thread each.

Each mode is one async context manager in ``MODES`` that yields the call one request
makes; modes are measured in interleaved rounds (so that load from other processes
hits all alike) and the best round of each is kept; OpenMP threads wait passively (see
below). It prints each throughput and latency, and last one JSON object with
``http_vs_inprocess`` (throughput ratio, target >= 0.9), ``ray_vs_inprocess`` (two
one-thread replicas, as many torch threads in all as the in-process service has on a
2-core machine; target >= 0.7), ``ray_2_vs_1_replicas`` (target >= 1.5) and the p50/p99
latencies of each mode.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import os
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# Before torch starts its OpenMP threads, for every mode alike (the server's child
# process inherits it): here the client and the server share the same cores, and
# OpenMP threads that spin while waiting for work (the default) take the cores from
# the other process; sleeping ones do not. (Measured on 2 cores: the server's CPU time
# per request fell from 24-32 ms to 13 ms, in-process 12 ms.)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import aiohttp

from bench.batching import BASE_SIZE, _callers, build_model, percentile, sentences
from inference import InferenceService, InferenceSettings
from inference.client import RemoteService

#: One request: (caller index, text) -> its result.
Call = Callable[[int, str], Awaitable[Any]]
Mode = Callable[[Path, InferenceSettings], AbstractAsyncContextManager[Call]]
REPO = Path(__file__).resolve().parents[1]


# -- the ways of serving ----------------------------------------------------------------


@asynccontextmanager
async def inprocess(model_dir: Path, settings: InferenceSettings) -> AsyncIterator[Call]:
    """The service in this process."""
    async with InferenceService(settings, models={"sentiment": str(model_dir)}) as service:
        yield lambda index, text: service.run("sentiment", user=f"caller-{index}", text=text)


@asynccontextmanager
async def http(model_dir: Path, settings: InferenceSettings) -> AsyncIterator[Call]:
    """``python -m inference serve`` in a child process, through ``RemoteService``."""
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "SENTIMENT_MODEL": str(model_dir),
        # the bench's made-up words are no language: every language reads this model
        "SENTIMENT_MODELS": json.dumps({"*": str(model_dir)}),
        "PRELOAD": "sentiment",
        "DEVICE": settings.device,
        "MAX_WAIT_MS": str(settings.max_wait_ms),
        "MAX_QUEUE": str(settings.max_queue),
    }
    server = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "inference", "serve", "--port", str(port)),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(url, server)
        async with RemoteService(url, settings) as remote:
            yield lambda index, text: remote.run("sentiment", user=f"caller-{index}", text=text)
    finally:
        server.terminate()
        await server.wait()


@asynccontextmanager
async def ray_serve(
    replicas: int, model_dir: Path, settings: InferenceSettings
) -> AsyncIterator[Call]:
    """``RayBackend`` with ``replicas`` one-thread replicas of the sentiment task, each
    mode its own Serve application on one local Ray cluster (started by the first)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    from ray import serve

    from inference.rayserve import RayBackend
    from inference.settings import RayDeployment

    owner = not ray.is_initialized()
    if owner:  # CPUs for every replica of every Ray mode (idle ones cost nothing)
        await asyncio.to_thread(
            ray.init,
            num_cpus=max(3, os.cpu_count() or 1),
            include_dashboard=False,
            log_to_driver=False,
        )
    replica = RayDeployment(num_replicas=replicas, num_cpus=1, torch_threads=1)
    backend = RayBackend(
        settings.model_copy(update={"ray_deployments": {"sentiment": replica}}),
        tasks=["sentiment"],
        models={"sentiment": str(model_dir)},
        app_name=f"bench-ray-{replicas}",
    )
    try:
        async with backend:
            yield lambda index, text: backend.run("sentiment", user=f"caller-{index}", text=text)
    finally:
        if owner:
            serve.shutdown()
            ray.shutdown()


MODES: dict[str, Mode] = {
    "inprocess": inprocess,
    "http": http,
    "ray_1": functools.partial(ray_serve, 1),
    "ray_2": functools.partial(ray_serve, 2),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_ready(url: str, server: asyncio.subprocess.Process, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if server.returncode is not None:
                raise RuntimeError(f"the server exited with status {server.returncode}")
            try:
                async with session.get(f"{url}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.25)
    raise TimeoutError("the server did not become ready")


# -- measuring --------------------------------------------------------------------------------


async def measure(call: Call, texts: list[str], callers: int) -> dict[str, float]:
    """Throughput (requests/s) and latency percentiles (ms) of one pass over ``texts``."""
    seconds, latencies = await _callers(texts, callers, call)
    return {
        "throughput": len(texts) / seconds,
        "p50_ms": 1000 * percentile(latencies, 50),
        "p99_ms": 1000 * percentile(latencies, 99),
    }


async def compare(
    modes: dict[str, Mode],
    model_dir: Path,
    settings: InferenceSettings,
    *,
    n_requests: int,
    callers: int,
    rounds: int,
    log: Callable[[str], None],
) -> dict[str, dict[str, float]]:
    """The best round of every mode, modes interleaved round by round."""
    texts = sentences(n_requests)
    best: dict[str, dict[str, float]] = {name: {"throughput": 0.0} for name in modes}
    async with started(modes, model_dir, settings) as calls:
        for call in calls.values():  # loads, first batches, connections
            await _callers(texts[: callers * 2], callers, call)
        for index in range(rounds):
            figures = {name: await measure(call, texts, callers) for name, call in calls.items()}
            log(
                f"round {index + 1}: "
                + "  ".join(
                    f"{name} {f['throughput']:6.1f} req/s (p99 {f['p99_ms']:.0f} ms)"
                    for name, f in figures.items()
                )
            )
            for name, f in figures.items():
                best[name] = max(best[name], f, key=lambda x: x["throughput"])
    return best


@asynccontextmanager
async def started(
    modes: dict[str, Mode], model_dir: Path, settings: InferenceSettings
) -> AsyncIterator[dict[str, Call]]:
    """Every mode started, as its call."""
    async with AsyncExitStack() as stack:
        yield {
            name: await stack.enter_async_context(mode(model_dir, settings))
            for name, mode in modes.items()
        }


def summary(best: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The JSON figures: ratios against in-process, and every mode's own figures."""
    base = best["inprocess"]["throughput"]
    figures: dict[str, Any] = {}
    for name, f in best.items():
        if name != "inprocess":
            figures[f"{name}_vs_inprocess"] = round(f["throughput"] / base, 3)
    if "ray_1" in best and "ray_2" in best:
        figures["ray_vs_inprocess"] = figures["ray_2_vs_inprocess"]
        ratio = best["ray_2"]["throughput"] / best["ray_1"]["throughput"]
        figures["ray_2_vs_1_replicas"] = round(ratio, 3)
    for name, f in best.items():
        figures[f"{name}_rps"] = round(f["throughput"], 2)
        figures[f"{name}_p50_ms"] = round(f["p50_ms"], 1)
        figures[f"{name}_p99_ms"] = round(f["p99_ms"], 1)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.remote", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--models", type=Path, help="where to build the model (default: temp)")
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--callers", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per mode (best kept)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--modes", default=",".join(MODES), help=f"comma-separated, from: {', '.join(MODES)}"
    )
    args = parser.parse_args(argv)
    modes = {name: MODES[name] for name in ["inprocess", *args.modes.split(",")] if name in MODES}

    import torch
    import transformers

    logging.basicConfig(level=logging.ERROR)
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    settings = InferenceSettings(_env_file=None, device=args.device)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-remote-") as tmp:
        model_dir = (args.models or Path(tmp)) / "distilbert-base-random"
        if not (model_dir / "config.json").exists():
            build_model(model_dir, BASE_SIZE)
        best = asyncio.run(
            compare(
                modes,
                model_dir,
                settings,
                n_requests=args.requests,
                callers=args.callers,
                rounds=args.rounds,
                log=lambda line: print(line, flush=True),
            )
        )
    for name, f in best.items():
        print(
            f"{name:>10}: {f['throughput']:7.1f} req/s, latency p50 {f['p50_ms']:.0f} ms, "
            f"p99 {f['p99_ms']:.0f} ms"
        )
    print(f"total {time.perf_counter() - began:.1f} s", flush=True)
    print(json.dumps(summary(best)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
