"""One real local Ray cluster for the Ray tests, with the application deployed once.

Ray starts once per test session (2 CPUs, no dashboard, no usage stats) and Serve runs
without its HTTP proxy; the application holds the deployments the tests need (each
replica is a process, and Ray's start-up is slow on 2 cores), built from tiny models
with the same ``RayBackend`` plans that the tests' backends use.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from inference import InferenceSettings
from tests.tiny_models import build_ner, build_sentiment, build_translate

pytest.importorskip("ray.serve")

#: The tasks deployed for the tests.
TASKS = ("sentiment", "translate", "ner")


def ray_settings(**overrides: Any) -> InferenceSettings:
    """The settings of the tests' deployment: replicas that take no CPU reservation
    (all of them fit on 2 CPUs) and run one torch thread each."""
    fields: dict[str, Any] = {
        "device": "cpu",
        # Long enough that requests sent together are one batch even on a busy machine.
        "task_limits": {"sentiment": {"max_wait_ms": 150}},
        "translate_pairs": {"de-es": "/nonexistent/models/opus-mt-de-es"},
        "ray_deployments": {
            "default": {"num_cpus": 0, "torch_threads": 1},
            "translate": {"max_models_per_replica": 2},
            # A tiny queue, to see backpressure.
            "ner": {"max_ongoing_requests": 1, "max_queued_requests": 1},
        },
        **overrides,
    }
    return InferenceSettings(_env_file=None, **fields)


@pytest.fixture(scope="session")
def ray_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("ray-models")
    build_translate(root / "translate")
    return {
        "sentiment": str(build_sentiment(root / "sentiment")),
        "ner": str(build_ner(root / "ner")),
        "translate": f"{root / 'translate'}/opus-mt-{{src}}-{{tgt}}",
    }


@pytest.fixture(scope="session")
def ray_cluster(ray_models: dict[str, str]) -> Iterator[dict[str, str]]:
    """A local Ray cluster with the application deployed; yields the models."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import ray
    from ray import serve

    from inference.rayserve import deploy, plan_deployments

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        serve.start(proxy_location="Disabled")
        deploy(plan_deployments(ray_settings(), TASKS, ray_models), ray_settings())
        yield ray_models
    finally:
        serve.shutdown()
        ray.shutdown()


@pytest.fixture
async def backend(ray_cluster: dict[str, str]) -> Any:
    """A RayBackend on the deployed application (this test's event loop)."""
    from inference.rayserve import RayBackend

    async with RayBackend(ray_settings(), tasks=TASKS, models=ray_cluster, deploy=False) as b:
        yield b
