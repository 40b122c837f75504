"""The imagine task on a tiny Stable Diffusion pipeline, through the service like a Hub id.

The tiny model makes 64x64 noise by default; sizes here stay small and steps few,
because every step is a real UNet pass on the CPU.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from inference import InferenceService, InferenceSettings, InvalidInput, JobCancelled
from inference.device import Placement
from inference.images import encode_png, fit_png, png_text, slug
from inference.tasks.base import NullContext
from inference.tasks.imagine import ImagineRequest, ImagineResult, ImagineTask
from tests.inference.test_cli import cli

CPU = Placement(torch.device("cpu"), torch.float32)


def settings(**values: Any) -> InferenceSettings:
    return InferenceSettings(_env_file=None, **values)


@pytest.fixture
async def service(tiny_models: dict[str, Path]):
    async with InferenceService(
        settings(), models={"imagine": str(tiny_models["imagine"])}
    ) as service:
        yield service


@pytest.fixture(scope="module")
def loaded(tiny_models: dict[str, Path]) -> tuple[ImagineTask, dict[str, Any]]:
    """The task and its loaded pipeline, for calling run_batch directly."""
    model = str(tiny_models["imagine"])
    task = ImagineTask(model, CPU, settings())
    return task, {model: task.load(model)}


class RecordingContext(NullContext):
    """A BatchContext that records progress and step boundaries, and cancels a request
    after ``cancel_after`` reported steps."""

    def __init__(self, cancel_after: int | None = None) -> None:
        self.calls: list[tuple[int, int, int]] = []
        self.checkpoints = 0
        self.cancel_after = cancel_after

    def checkpoint(self) -> None:
        self.checkpoints += 1

    def progress(self, index: int, done: int, total: int) -> None:
        self.calls.append((index, done, total))

    def cancelled(self, index: int) -> bool:
        return self.cancel_after is not None and len(self.calls) >= self.cancel_after


@pytest.fixture
def unet_calls() -> Iterator[list[int]]:
    """Counts UNet forward passes, whichever thread runs them."""
    from diffusers import UNet2DConditionModel

    calls: list[int] = []

    def hook(module: torch.nn.Module, args: Any, output: Any) -> None:
        if isinstance(module, UNet2DConditionModel):
            calls.append(1)

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    yield calls
    handle.remove()


def pixels(result: ImagineResult) -> np.ndarray:
    assert result.png is not None
    return np.asarray(Image.open(io.BytesIO(result.png)).convert("RGB"), dtype=np.int16)


# -- the image ------------------------------------------------------------------------


async def test_png_of_requested_size_with_metadata(service: InferenceService) -> None:
    result = await service.run(
        "imagine",
        prompt="A red fox in the snow!",
        negative_prompt="blurry",
        steps=2,
        guidance=5,
        seed=7,
        width=64,
        height=128,
    )
    assert isinstance(result, ImagineResult)
    name, png = result.attachment()
    assert name == "a-red-fox-in-the-snow-7.png"
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (64, 128)
    assert image.text["prompt"] == "A red fox in the snow!"
    assert image.text["negative_prompt"] == "blurry"
    assert image.text["seed"] == "7"
    assert image.text["steps"] == "2"
    assert image.text["size"] == "64x128"
    assert image.text["parameters"].splitlines() == [
        "A red fox in the snow!",
        "Negative prompt: blurry",
        "Steps: 2, Sampler: DPMSolverMultistepScheduler, CFG scale: 5, Seed: 7, "
        "Size: 64x128, Model: imagine",
    ]

    data = result.to_dict()
    json.dumps(data)
    assert "png" not in data
    assert data["seed"] == 7 and data["size"] == "64x128" and data["steps"] == 2
    assert data["guidance"] == 5.0 and data["nsfw"] is False
    assert data["model"] == "imagine"  # a local directory shows by its name only
    assert data["safety_checker"] is False  # the plain tiny model has none
    assert type(data["seconds"]) is float and data["seconds"] > 0


async def test_defaults_come_from_the_model(service: InferenceService) -> None:
    result = await service.run("imagine", prompt="a fox", steps=1)
    assert (result.width, result.height) == (64, 64)  # native size of the tiny model
    assert result.guidance == 7.5  # StableDiffusionPipeline's own default
    assert 0 <= result.seed < 2**32  # random, and reported
    assert result.attachment()[0] == f"a-fox-{result.seed}.png"


async def test_turbo_family_and_settings_pick_the_defaults(
    tiny_models: dict[str, Path], tmp_path: Path
) -> None:
    turbo = shutil.copytree(tiny_models["imagine"], tmp_path / "tiny-sd-turbo")
    async with InferenceService(settings(), models={"imagine": str(turbo)}) as service:
        result = await service.run("imagine", prompt="a fox", seed=1)
    assert (result.steps, result.guidance) == (1, 0.0)

    chosen = settings(imagine_steps=2, imagine_guidance=3, imagine_size="64x80")
    async with InferenceService(chosen, models={"imagine": str(turbo)}) as service:
        result = await service.run("imagine", prompt="a fox", seed=1)
    assert (result.steps, result.guidance, result.size) == (2, 3.0, "64x80")


async def test_same_seed_same_png_other_seed_other_image(service: InferenceService) -> None:
    ask = {"prompt": "a lighthouse at night", "steps": 2, "size": "64x64"}
    first = await service.run("imagine", seed=42, **ask)
    again = await service.run("imagine", seed=42, **ask)
    other = await service.run("imagine", seed=43, **ask)
    assert first.png == again.png  # deterministic pixels and metadata
    assert np.abs(pixels(first) - pixels(other)).mean() > 1


def test_a_batch_is_one_call_with_a_seed_per_image(
    loaded: tuple[ImagineTask, dict[str, Any]], unet_calls: list[int]
) -> None:
    task, models = loaded
    requests = [
        ImagineRequest(prompt="a red fox", seed=1, steps=2, width=64, height=64),
        ImagineRequest(
            prompt="a blue bird", seed=2, negative_prompt="fog", steps=2, width=64, height=64
        ),
    ]
    assert task.batch_key(requests[0]) == task.batch_key(requests[1])
    together = task.run_batch(models, requests, RecordingContext())
    assert len(unet_calls) == 2  # one UNet pass per step for both images
    alone = [task.run_batch(models, [r], RecordingContext())[0] for r in requests]
    for a, b in zip(together, alone, strict=True):
        assert (a.seed, a.prompt, a.negative_prompt) == (b.seed, b.prompt, b.negative_prompt)
        assert np.abs(pixels(a) - pixels(b)).max() <= 2
    assert np.abs(pixels(together[0]) - pixels(together[1])).mean() > 1


# -- progress and cancel --------------------------------------------------------------


def test_progress_reports_every_step(loaded: tuple[ImagineTask, dict[str, Any]]) -> None:
    task, models = loaded
    ctx = RecordingContext()
    request = ImagineRequest(prompt="a fox", seed=1, steps=3, width=64, height=64)
    [result] = task.run_batch(models, [request], ctx)
    assert isinstance(result, ImagineResult)
    assert ctx.calls == [(0, 1, 3), (0, 2, 3), (0, 3, 3)]
    assert ctx.checkpoints == 3  # the device may change hands after every step


def test_cancel_stops_at_the_next_step(loaded: tuple[ImagineTask, dict[str, Any]]) -> None:
    task, models = loaded
    ctx = RecordingContext(cancel_after=1)  # cancelled once step 1 was reported
    request = ImagineRequest(prompt="a fox", seed=1, steps=10, width=64, height=64)
    [outcome] = task.run_batch(models, [request], ctx)
    assert isinstance(outcome, JobCancelled)
    assert ctx.calls == [(0, 1, 10)]


async def test_progress_and_cancel_through_the_service(
    service: InferenceService, unet_calls: list[int]
) -> None:
    job = service.submit("imagine", prompt="a slow fox", steps=50, size="64x64", seed=3)
    seen = []
    async for update in job.updates():
        seen.append(update.progress)
        if update.progress and update.progress[0] >= 2:
            job.cancel()
    assert seen[-1] is not None and seen[-1][1] == 50
    with pytest.raises(JobCancelled):
        await job.result()
    at_cancel = len(unet_calls)

    # The lane is free for the next request, and the cancelled one stopped at once.
    job = service.submit("imagine", prompt="a quick fox", steps=3, size="64x64", seed=3)
    steps = [u.progress async for u in job.updates() if u.progress]
    result = await job.result()
    assert result.steps == 3 and result.png
    assert steps[-1] == (3, 3)
    assert len(unet_calls) - at_cancel <= 3 + 1  # 3 for the new job, at most 1 more step
    assert len(unet_calls) < 20


# -- the safety checker ---------------------------------------------------------------


async def test_flagged_image_is_withheld(checked_imagine_models: dict[str, Path]) -> None:
    model = str(checked_imagine_models["flag"])
    async with InferenceService(settings(), models={"imagine": model}) as service:
        assert service.task("imagine").safety_checker_active() is None  # not loaded yet
        result = await service.run("imagine", prompt="a fox", steps=1, seed=5)
        assert service.task("imagine").safety_checker_active() is True
    assert result.nsfw is True and result.safety_checker is True
    assert result.png is None and result.attachment() is None
    assert result.to_dict()["nsfw"] is True and result.to_dict()["seed"] == 5


async def test_checked_image_that_passes(checked_imagine_models: dict[str, Path]) -> None:
    model = str(checked_imagine_models["pass"])
    async with InferenceService(settings(), models={"imagine": model}) as service:
        result = await service.run("imagine", prompt="a fox", steps=1, seed=5)
    assert result.nsfw is False and result.safety_checker is True
    assert Image.open(io.BytesIO(result.png)).size == (64, 64)


@pytest.mark.parametrize(("checker", "flagged"), [("pass", False), ("flag", True)])
async def test_a_model_without_a_checker_gets_the_separate_one(
    tiny_models: dict[str, Path], safety_checkers: dict[str, Path], checker: str, flagged: bool
) -> None:
    async with InferenceService(
        settings(imagine_safety_checker=str(safety_checkers[checker])),
        models={"imagine": str(tiny_models["imagine"])},  # ships no checker
    ) as service:
        results = await asyncio.gather(
            *(service.run("imagine", prompt="a fox", steps=1, seed=seed) for seed in (1, 2))
        )
        assert service.task("imagine").safety_checker_active() is True
    for result in results:
        assert result.safety_checker is True and result.nsfw is flagged
        assert (result.png is None) is flagged


async def test_the_models_own_checker_is_the_one_used(
    checked_imagine_models: dict[str, Path], safety_checkers: dict[str, Path]
) -> None:
    async with InferenceService(
        settings(imagine_safety_checker=str(safety_checkers["flag"])),
        models={"imagine": str(checked_imagine_models["pass"])},
    ) as service:
        result = await service.run("imagine", prompt="a fox", steps=1, seed=5)
        (loaded,) = service.loaded_models("imagine")
    assert loaded.checker is None  # never loaded
    assert result.nsfw is False and result.png is not None


async def test_a_separate_checker_that_cannot_load_leaves_images_unchecked(
    tiny_models: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with InferenceService(
        settings(imagine_safety_checker=str(tmp_path / "no-such-checker")),
        models={"imagine": str(tiny_models["imagine"])},
    ) as service:
        result = await service.run("imagine", prompt="a fox", steps=1, seed=5)
        assert service.task("imagine").safety_checker_active() is False
    assert result.safety_checker is False and result.png is not None
    (warning,) = [r for r in caplog.records if "safety checker" in r.getMessage()]
    assert "no-such-checker" in warning.getMessage() and "unchecked" in warning.getMessage()


# -- loading --------------------------------------------------------------------------


def test_fp16_variant_preferred_and_optional(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    from diffusers import DiffusionPipeline

    half = Placement(torch.device("cpu"), torch.float16)
    plain = ImagineTask(str(tiny_models["imagine"]), half, settings())
    pipe = plain.load(str(tiny_models["imagine"])).pipe  # no fp16 files: falls back
    assert pipe.unet.dtype == torch.float16

    variant = tmp_path / "with-variant"
    shutil.copytree(tiny_models["imagine"], variant)
    marked = DiffusionPipeline.from_pretrained(variant)
    with torch.no_grad():
        marked.unet.conv_in.bias.fill_(0.25)
    marked.save_pretrained(variant, variant="fp16")
    task = ImagineTask(str(variant), half, settings())
    loaded = task.load(str(variant)).pipe
    assert torch.all(loaded.unet.conv_in.bias == 0.25)


# -- input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"prompt": ""}, "prompt is empty"),
        ({"prompt": None}, "Please give some prompt"),
        ({"prompt": "x" * 501}, "too long"),
        ({"prompt": "a fox", "negative_prompt": "y" * 501}, "negative prompt is too long"),
        ({"prompt": "a fox", "size": "100x64"}, "width must be a multiple of 8"),
        ({"prompt": "a fox", "height": 100}, "height must be a multiple of 8"),
        ({"prompt": "a fox", "size": "2048x2048"}, "between 64 and 1024"),
        ({"prompt": "a fox", "width": 32}, "between 64 and 1024"),
        ({"prompt": "a fox", "size": "large"}, "size must look like 512x512"),
        ({"prompt": "a fox", "size": "64x64", "width": 64}, "either size or width"),
        ({"prompt": "a fox", "steps": 0}, "steps must be between 1 and 50"),
        ({"prompt": "a fox", "steps": 51}, "steps must be between 1 and 50"),
        ({"prompt": "a fox", "steps": "many"}, "whole number"),
        ({"prompt": "a fox", "guidance": 21}, "guidance must be between 0 and 20"),
        ({"prompt": "a fox", "seed": -1}, "seed must be between"),
        ({"prompt": "a fox", "style": "anime"}, "no option 'style'"),
    ],
)
async def test_bad_input(service: InferenceService, inputs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        service.submit("imagine", **inputs)


def test_size_forms_and_empty_negative_prompt() -> None:
    task = ImagineTask("unused", CPU, settings(imagine_max_size=768))
    request = task.parse(prompt="a", size="512x256", negative_prompt="  ")
    assert (request.width, request.height, request.negative_prompt) == (512, 256, None)
    square = task.parse(prompt="a", size=" 512 ")
    assert (square.width, square.height) == (512, 512)
    assert task.parse(prompt="a", width="96", height=128).height == 128
    with pytest.raises(InvalidInput, match="between 64 and 768"):
        task.parse(prompt="a", size="1024x1024")


# -- PNG helpers ----------------------------------------------------------------------


def test_fit_png_shrinks_keeping_metadata() -> None:
    noise = np.random.default_rng(0).integers(0, 256, (192, 256, 3), dtype=np.uint8)
    png = encode_png(Image.fromarray(noise), {"prompt": "noise 🦊", "seed": "1"})
    assert len(png) > 100_000

    assert fit_png(png, len(png)) is png  # already fits: untouched
    small = fit_png(png, 30_000)
    assert len(small) <= 30_000
    image = Image.open(io.BytesIO(small))
    assert image.width < 256 and image.width / image.height == pytest.approx(256 / 192, rel=0.05)
    assert png_text(small) == {"prompt": "noise 🦊", "seed": "1"}
    with pytest.raises(ValueError):
        fit_png(png, 20)


def test_slug() -> None:
    assert slug("A red fox, in the SNOW!") == "a-red-fox-in-the-snow"
    assert slug("🦊🦊") == "image"
    assert len(slug("word " * 40)) <= 40


# -- command line ---------------------------------------------------------------------


def test_cli_writes_the_png_and_prints_json(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "fox.png"
    done = cli(
        "run", "imagine", "a red fox in the snow", "--steps", "2", "--seed", "7",
        "--size", "64x64", "--out", str(out), "--model", str(tiny_models["imagine"]),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["path"] == str(out)
    assert (data["seed"], data["size"], data["steps"]) == (7, "64x64", 2)
    assert data["seconds"] > 0
    image = Image.open(out)
    assert image.size == (64, 64) and image.text["seed"] == "7"
