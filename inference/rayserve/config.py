"""What each task's Ray Serve deployment looks like, from the settings (no Ray here).

The batching limits are the service's own (``MAX_BATCH_SIZE``, ``MAX_WAIT_MS``,
``TASK_LIMITS`` and each task's ``max_batch_size``); replicas, resources and queue
bounds come from ``RAY_DEPLOYMENTS`` (a "default" entry, then one per task).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import UnknownTask
from ..lanes import Limits
from ..settings import InferenceSettings, RayDeployment
from ..tasks import TASKS
from ..tasks.base import Task

#: Models a multiplexed replica keeps loaded unless RAY_DEPLOYMENTS says otherwise.
DEFAULT_MODELS_PER_REPLICA = 3


@dataclass(frozen=True)
class DeploymentPlan:
    """Everything needed to deploy one task, and to call it."""

    task: str
    model: str
    max_batch_size: int
    max_wait_ms: float
    timeout_s: float
    #: Whether requests name their model (translation pairs): @serve.multiplexed routing.
    multiplexed: bool
    max_models_per_replica: int
    torch_threads: int
    max_ongoing_requests: int
    max_queued_requests: int
    num_replicas: int
    autoscaling: Mapping[str, Any] | None
    num_cpus: float
    num_gpus: float

    @property
    def deployment_name(self) -> str:
        return self.task

    def deployment_options(self) -> dict[str, Any]:
        """Keyword arguments of ``Deployment.options``."""
        options: dict[str, Any] = {
            "name": self.deployment_name,
            "max_ongoing_requests": self.max_ongoing_requests,
            "max_queued_requests": self.max_queued_requests,
            "ray_actor_options": {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus},
        }
        if self.autoscaling is not None:
            options["autoscaling_config"] = dict(self.autoscaling)
        else:
            options["num_replicas"] = self.num_replicas
        return options


def is_multiplexed(cls: type[Task[Any, Any]]) -> bool:
    """A task whose models depend on the request (it overrides ``models_for``, as
    translation does: one model per language pair) is routed by model."""
    return cls.models_for is not Task.models_for


def plan_deployments(
    settings: InferenceSettings,
    tasks: Iterable[str] | None = None,
    models: Mapping[str, str] | None = None,
) -> dict[str, DeploymentPlan]:
    """One plan per task (all of them when ``tasks`` is None); ``models`` overrides the
    model setting of some tasks, as ``InferenceService(models=...)`` does."""
    names = [str(name).strip().lower() for name in (tasks if tasks is not None else TASKS)]
    unknown = sorted({*names, *(models or {})} - set(TASKS))
    extra = sorted(set(settings.ray_deployments) - {"default", *TASKS})
    if unknown or extra:
        raise UnknownTask(f"Unknown task {(unknown or extra)[0]!r} (RAY_DEPLOYMENTS or tasks).")
    default = settings.ray_deployments.get("default", RayDeployment())
    return {
        name: _plan(
            TASKS[name],
            (models or {}).get(name) or settings.model_for(name),
            settings,
            _merged(default, settings.ray_deployments.get(name)),
        )
        for name in names
    }


def _merged(default: RayDeployment, own: RayDeployment | None) -> RayDeployment:
    if own is None:
        return default
    return default.model_copy(update=own.model_dump(exclude_unset=True))


def _plan(
    cls: type[Task[Any, Any]], model: str, settings: InferenceSettings, ray: RayDeployment
) -> DeploymentPlan:
    limits = Limits.for_task(cls, settings, settings.task_limits.get(cls.name))
    max_batch_size = limits.max_batch_size
    num_cpus = 1.0 if ray.num_cpus is None else ray.num_cpus
    return DeploymentPlan(
        task=cls.name,
        model=model,
        max_batch_size=max_batch_size,
        max_wait_ms=limits.max_wait_ms,
        timeout_s=limits.timeout_s,
        multiplexed=is_multiplexed(cls),
        max_models_per_replica=ray.max_models_per_replica or DEFAULT_MODELS_PER_REPLICA,
        torch_threads=ray.torch_threads or max(1, math.floor(num_cpus)),
        # Room for the batch being gathered while the previous one runs.
        max_ongoing_requests=ray.max_ongoing_requests or 2 * max_batch_size,
        max_queued_requests=ray.max_queued_requests or limits.max_queue,
        num_replicas=ray.num_replicas or 1,
        autoscaling=ray.autoscaling,
        num_cpus=num_cpus,
        num_gpus=ray.num_gpus or 0.0,
    )
