"""CUDA paths on a GPU machine: ``python -m bench.cuda_check [--models DIR]``.

The tests run on CPUs only, so this script is where the GPU code paths are exercised.
It runs the tiny offline models (``tests/tiny_models.py``; built first unless
``--models`` names a set built earlier) through ``InferenceService`` with
``DEVICE=auto`` and checks:

- placement: every task's weights on CUDA, in fp16 (speak keeps fp32), and the task
  answers; its peak GPU memory;
- imagine: the ``fp16`` weight variant is loaded when the model has one; attention
  slicing and model CPU offload still make the same picture; the same seed gives the
  same PNG on CUDA; a running job cancelled stops within a step and gives its memory
  back;
- batching on the GPU: a burst of sentiment requests against one at a time.

One line per check (``ok`` / ``FAIL``), then a JSON summary. Exit status 1 when a check
failed. The tiny models say nothing about real models' speed or memory; they show that
the code paths work on CUDA.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import torch

from inference import InferenceService, InferenceSettings, JobCancelled

#: One request per task, small enough for the tiny models.
REQUESTS: dict[str, dict[str, Any]] = {
    "sentiment": {"text": "I love this bot"},
    "ner": {"text": "Barack Obama was the 44th president of the United States."},
    "qa": {
        "question": "Who was the 44th president?",
        "context": "Barack Obama was the 44th president of the United States.",
    },
    "summarize": {"text": "The quick brown fox jumps over the lazy dog. " * 20, "length": "short"},
    "translate": {"text": "Hello, how are you?", "target": "fr>de"},
    "classify": {"text": "The match went to penalties.", "labels": "sports,politics,technology"},
    "generate": {"prompt": "Once upon a time", "max_tokens": 24, "seed": 1},
    "imagine": {"prompt": "a red fox in the snow", "steps": 4, "seed": 7, "size": "64x64"},
    "speak": {"text": "Hello there. How are you today?"},
}

results: list[dict[str, Any]] = []
#: The DEVICE setting the services get (``--device``).
DEVICE = "auto"


def allocated() -> int:
    return torch.cuda.memory_allocated() if torch.cuda.is_available() else 0


def reset_peak() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_mib(since: int = 0) -> float:
    peak = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else 0
    return round((peak - since) / 2**20, 1)


def check(name: str, passed: bool, **figures: Any) -> None:
    results.append({"check": name, "ok": bool(passed), **figures})
    shown = " ".join(f"{k}={v}" for k, v in figures.items())
    print(f"{'ok  ' if passed else 'FAIL'} {name} {shown}", flush=True)


def model_settings(models: dict[str, Path], **overrides: Any) -> InferenceSettings:
    values: dict[str, Any] = {
        f"{task}_model": str(models[task])
        for task in ("sentiment", "ner", "qa", "summarize", "classify", "generate", "imagine")
    }
    values["speak_model"] = str(models["speak"])
    # the tiny sentiment model reads every language (the defaults for the rest are Hub ids)
    values["sentiment_models"] = {"ko": str(models["sentiment"]), "*": str(models["sentiment"])}
    values["translate_model"] = f"{models['translate']}/opus-mt-{{src}}-{{tgt}}"
    values.update(device=DEVICE, dtype="auto", max_wait_ms=2, imagine_safety_checker="")
    values.update(overrides)
    return InferenceSettings(_env_file=None, **values)


def modules(obj: Any, seen: set[int] | None = None) -> Iterator[torch.nn.Module]:
    """The torch modules inside a loaded model (a dataclass, a pipeline, a mapping)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, torch.nn.Module):
        yield obj
        return
    components = getattr(obj, "components", None)  # a diffusers pipeline
    if isinstance(components, dict):
        for value in components.values():
            yield from modules(value, seen)
        return
    if isinstance(obj, dict):
        for value in obj.values():
            yield from modules(value, seen)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from modules(value, seen)
    elif hasattr(obj, "__dict__") and type(obj).__module__.startswith("inference"):
        for value in vars(obj).values():
            yield from modules(value, seen)
    else:  # a transformers pipeline
        for name in ("model", "vocoder"):
            yield from modules(getattr(obj, name, None), seen)


def placement(service: InferenceService, task: str) -> tuple[set[str], set[str]]:
    """Devices and dtypes of every floating-point weight the task loaded."""
    devices: set[str] = set()
    dtypes: set[str] = set()
    for loaded in service.loaded_models(task):
        for module in modules(loaded):
            for tensor in [*module.parameters(), *module.buffers()]:
                if tensor.is_floating_point():
                    devices.add(tensor.device.type)
                    dtypes.add(str(tensor.dtype).removeprefix("torch."))
    return devices, dtypes


async def every_task(models: dict[str, Path]) -> None:
    for task, inputs in REQUESTS.items():
        reset_peak()
        before = allocated()
        async with InferenceService(model_settings(models)) as service:
            started = time.perf_counter()
            try:
                result = await service.run(task, **inputs)
                error = None
            except Exception as exc:  # a check, not a crash: report and go on
                result, error = None, f"{type(exc).__name__}: {exc}"
            seconds = time.perf_counter() - started
            devices, dtypes = placement(service, task)
            where = service.placement
        half = where.is_cuda and task != "speak"
        expected = "float16" if half else "float32"
        check(
            f"{task} on {where.device.type}",
            error is None and devices == {where.device.type} and dtypes == {expected},
            devices=sorted(devices),
            dtypes=sorted(dtypes),
            seconds=round(seconds, 3),
            peak_mib=peak_mib(before),
            **({"error": error} if error else {"result": short(result)}),
        )


def short(result: Any) -> str:
    data = result.to_dict()
    data = {k: v for k, v in data.items() if not isinstance(v, (bytes, list, dict))}
    return json.dumps(data, ensure_ascii=False, default=str)[:160]


async def imagine_paths(models: dict[str, Path], scratch: Path) -> None:
    if not torch.cuda.is_available():
        check("imagine loads the fp16 variant (CUDA only)", True, skipped=True)
    else:
        await fp16_variant(models, scratch)

    pictures: dict[str, bytes] = {}
    for name, overrides in {
        "plain": {},
        "again": {},
        "attention slicing": {"imagine_attention_slicing": True},
        "cpu offload": {"imagine_cpu_offload": True},
    }.items():
        reset_peak()
        try:
            async with InferenceService(model_settings(models, **overrides)) as service:
                made = await service.run("imagine", **REQUESTS["imagine"])
            pictures[name] = made.png
            check(f"imagine with {name}", True, peak_mib=peak_mib())
        except Exception as exc:
            check(f"imagine with {name}", False, error=f"{type(exc).__name__}: {exc}")
    if {"plain", "again"} <= pictures.keys():
        check("imagine same seed, same PNG", pictures["plain"] == pictures["again"])
    for name in ("attention slicing", "cpu offload"):
        if {"plain", name} <= pictures.keys():
            diff = max_pixel_difference(pictures["plain"], pictures[name])
            check(f"imagine with {name} draws the same picture", diff <= 8, max_diff=diff)

    # cancel while running: the job ends within a step and its memory is given back
    async with InferenceService(model_settings(models)) as service:
        await service.preload(["imagine"])
        gc.collect()
        baseline = allocated()
        job = service.submit("imagine", **{**REQUESTS["imagine"], "steps": 50, "size": "1024x1024"})
        async for update in job.updates():
            if update.progress and update.progress[0] >= 2:
                break
        cancelled_at = time.perf_counter()
        job.cancel()
        try:
            await job.result()
            stopped = False
        except JobCancelled:
            stopped = True
        # the worker thread finishes its step; then the memory should be back
        await asyncio.sleep(0.5)
        reset_peak()
        left = allocated() - baseline
        check(
            "imagine cancelled while running",
            stopped and left <= 1 * 2**20,
            stopped_after_s=round(time.perf_counter() - cancelled_at, 3),
            memory_left_mib=round(left / 2**20, 2),
        )


async def fp16_variant(models: dict[str, Path], scratch: Path) -> None:
    """The fp16 weight variant is read: the full-precision UNet weights are made
    unreadable, so a load that succeeds must have read the variant's."""
    variant = scratch / "imagine-fp16"
    shutil.copytree(models["imagine"], variant)
    from diffusers import DiffusionPipeline

    pipe = DiffusionPipeline.from_pretrained(variant, dtype=torch.float16)
    pipe.save_pretrained(variant, variant="fp16")
    for weights in (variant / "unet").glob("diffusion_pytorch_model.safetensors"):
        weights.write_bytes(b"not weights")
    try:
        async with InferenceService(model_settings(models, imagine_model=str(variant))) as service:
            made = await service.run("imagine", **REQUESTS["imagine"])
        check("imagine loads the fp16 variant", made.width == 64)
    except Exception as exc:
        check("imagine loads the fp16 variant", False, error=f"{type(exc).__name__}: {exc}")


def max_pixel_difference(a: bytes, b: bytes) -> int:
    import numpy as np
    from PIL import Image

    first = np.asarray(Image.open(io.BytesIO(a)).convert("RGB"), dtype=np.int16)
    second = np.asarray(Image.open(io.BytesIO(b)).convert("RGB"), dtype=np.int16)
    return int(np.abs(first - second).max())


async def batching(models: dict[str, Path]) -> None:
    texts = [f"Message number {i}: this bot is {'great' if i % 2 else 'slow'}." for i in range(512)]
    async with InferenceService(model_settings(models, max_queue=1024)) as service:
        await service.preload(["sentiment"])
        await service.run("sentiment", text="warm up")
        started = time.perf_counter()
        for text in texts[:64]:
            await service.run("sentiment", text=text)
        one_at_a_time = 64 / (time.perf_counter() - started)
        started = time.perf_counter()
        await asyncio.gather(*(service.run("sentiment", text=text) for text in texts))
        burst = len(texts) / (time.perf_counter() - started)
    check(
        "sentiment batches",
        burst > one_at_a_time,
        one_at_a_time_per_s=round(one_at_a_time, 1),
        burst_per_s=round(burst, 1),
        ratio=round(burst / one_at_a_time, 2),
    )


async def main(models_dir: Path | None, device: str) -> int:
    global DEVICE
    DEVICE = device
    if device == "auto" and not torch.cuda.is_available():
        print("No CUDA GPU: this check is for a GPU machine (--device cpu tries the script).")
        return 2
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    print(f"torch {torch.__version__}, {gpu}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        if models_dir is None:
            from tests.tiny_models import build_all

            models_dir = scratch / "models"
            build_all(models_dir)
        models = {path.name: path for path in models_dir.iterdir()}
        await every_task(models)
        await imagine_paths(models, scratch)
        await batching(models)
    failed = [r["check"] for r in results if not r["ok"]]
    print(json.dumps({"checks": len(results), "failed": failed, "results": results}))
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=Path, help="tiny models built by tests/tiny_models.py")
    parser.add_argument("--device", default="auto", help="auto (a CUDA GPU) or cpu (a dry run)")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.models, args.device)))
