"""How RAY_DEPLOYMENTS and the batching settings become each task's deployment."""

from __future__ import annotations

import pytest

from inference import InferenceSettings, UnknownTask
from inference.rayserve.config import DEFAULT_MODELS_PER_REPLICA, plan_deployments
from inference.tasks import TASKS
from tests.inference.test_cli import cli


def test_every_task_gets_a_deployment_with_sensible_defaults() -> None:
    plans = plan_deployments(InferenceSettings(_env_file=None))
    assert list(plans) == list(TASKS)
    sentiment = plans["sentiment"]
    assert (sentiment.max_batch_size, sentiment.max_wait_ms) == (64, 5.0)
    assert sentiment.max_queued_requests == 64 and sentiment.max_ongoing_requests == 128
    assert (sentiment.num_replicas, sentiment.num_cpus, sentiment.num_gpus) == (1, 1.0, 0.0)
    assert sentiment.torch_threads == 1
    # The task's own cap wins over MAX_BATCH_SIZE; the tasks whose model depends on the
    # request (a language pair, a text's language) route by model.
    assert plans["imagine"].max_batch_size == TASKS["imagine"].max_batch_size
    assert [name for name, plan in plans.items() if plan.multiplexed] == [
        "sentiment",
        "translate",
    ]
    assert plans["translate"].max_models_per_replica == DEFAULT_MODELS_PER_REPLICA
    options = sentiment.deployment_options()
    assert options["num_replicas"] == 1 and "autoscaling_config" not in options
    assert options["ray_actor_options"] == {"num_cpus": 1.0, "num_gpus": 0.0}


def test_task_entries_override_the_default_entry_and_the_limits_apply() -> None:
    settings = InferenceSettings(
        _env_file=None,
        max_wait_ms=20,
        task_limits={"ner": {"max_batch_size": 8, "max_queue": 5}},
        ray_deployments={
            "default": {"num_gpus": 0.25, "num_cpus": 2},
            "imagine": {"num_gpus": 1, "autoscaling": {"min_replicas": 1, "max_replicas": 3}},
            "ner": {"max_ongoing_requests": 4},
        },
    )
    plans = plan_deployments(settings, tasks=["imagine", "ner"])
    imagine, ner = plans["imagine"], plans["ner"]
    assert (imagine.num_gpus, imagine.num_cpus, imagine.torch_threads) == (1.0, 2.0, 2)
    options = imagine.deployment_options()
    assert options["autoscaling_config"] == {"min_replicas": 1, "max_replicas": 3}
    assert "num_replicas" not in options
    assert (ner.num_gpus, ner.max_batch_size, ner.max_wait_ms) == (0.25, 8, 20)
    assert (ner.max_ongoing_requests, ner.max_queued_requests) == (4, 5)


def test_unknown_tasks_and_options_are_refused() -> None:
    with pytest.raises(UnknownTask, match="sentimant"):
        plan_deployments(
            InferenceSettings(_env_file=None, ray_deployments={"sentimant": {"num_replicas": 2}})
        )
    with pytest.raises(UnknownTask):
        plan_deployments(InferenceSettings(_env_file=None), tasks=["nope"])
    with pytest.raises(ValueError, match="num_replica"):
        InferenceSettings(_env_file=None, ray_deployments={"ner": {"num_replica": 2}})


def test_serve_ray_refuses_a_bad_ray_deployments_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAY_DEPLOYMENTS", '{"sentimant": {"num_replicas": 2}}')
    done = cli("serve", "--ray")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: Unknown task 'sentimant' (RAY_DEPLOYMENTS or tasks)."
    ]
