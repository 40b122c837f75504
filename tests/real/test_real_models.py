"""The known-answer probes against the real default models: ``pytest -m real``.

Not part of CI (pyproject's addopts deselect the ``real`` marker). Each task's test
runs when its models are in the local Hugging Face cache (``python -m inference
download`` puts them there) and skips with one line naming what is missing otherwise.
Nothing is downloaded: the tests run offline, like every other test.
"""

from __future__ import annotations

import asyncio

import pytest

from inference import InferenceSettings
from inference.operate import planned, run_probes
from inference.tasks import TASKS
from inference.tasks.base import looks_like_path

pytestmark = pytest.mark.real

#: A file every repository of its kind has: transformers models, diffusers pipelines.
MARKERS = ("config.json", "model_index.json")


def missing(settings: InferenceSettings, task: str) -> list[str]:
    """The repositories ``task`` loads that are not in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    absent = []
    for item in planned(settings, [task]):
        if looks_like_path(item.repo):
            continue
        cached = (
            try_to_load_from_cache(item.repo, name, repo_type=item.repo_type) for name in MARKERS
        )
        if not any(isinstance(path, str) for path in cached):
            absent.append(item.repo)
    return absent


@pytest.mark.parametrize("task", list(TASKS))
def test_the_default_model_gives_the_known_answer(task: str) -> None:
    settings = InferenceSettings(_env_file=None)
    absent = missing(settings, task)
    if absent:
        pytest.skip(f"not in the local Hugging Face cache: {', '.join(absent)}")
    (row,) = asyncio.run(run_probes(settings, [task]))
    assert row.passed, f"{row.task} ({row.model}): {row.probe}: {row.verdict}"
