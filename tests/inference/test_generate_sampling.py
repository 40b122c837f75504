"""/generate samples as the model's own generation_config says, and says so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from inference import InferenceService, InferenceSettings
from inference.tasks.generate import DEFAULT_TEMPERATURE, TOP_K

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def sampling_gpt2(tiny_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny GPT-2 with a generation_config that asks for sampling at 0.3, top-p 0.9."""
    path = tmp_path_factory.mktemp("gpt2-sampling") / "model"
    shutil.copytree(tiny_models["generate"], path)
    config = json.loads((path / "generation_config.json").read_text())
    config.update(do_sample=True, temperature=0.3, top_p=0.9, top_k=20)
    (path / "generation_config.json").write_text(json.dumps(config))
    return path


async def run(model: Path, **inputs: object):
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"generate": str(model)}
    ) as service:
        return await service.run("generate", prompt="the cat", max_tokens=12, **inputs)


async def test_the_models_own_sampling_applies_and_is_reported(sampling_gpt2: Path) -> None:
    own = await run(sampling_gpt2, seed=7)
    assert (own.temperature, own.top_p, own.top_k, own.sampling) == (0.3, 0.9, 20, "model")
    # the same as asking for those settings: the model's temperature was really used
    asked = await run(sampling_gpt2, seed=7, temperature=0.3)
    assert asked.text == own.text and asked.sampling == "request"


async def test_a_model_without_sampling_settings_gets_ours(tiny_models: dict[str, Path]) -> None:
    result = await run(tiny_models["generate"], seed=7)
    assert (result.temperature, result.top_k, result.sampling) == (
        DEFAULT_TEMPERATURE,
        TOP_K,
        "default",
    )
    assert result.seed == 7
    greedy = await run(tiny_models["generate"], temperature=0)
    assert greedy.seed is None and greedy.sampling == "request"
