"""The Ray Serve application: one deployment per task of the registry, generated from
``plan_deployments``, behind a small ingress (``Catalog``) that knows them all.

Callers (``RayBackend``) talk to each task's deployment directly through its handle,
so a request makes one hop; the ingress answers questions about the whole
application (which tasks, what each replica holds).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ..settings import InferenceSettings
from .config import DeploymentPlan
from .replica import replica_class

#: The Serve application's name on the cluster.
APP_NAME = "pipeline-bot"


class Catalog:
    """The application's ingress: the task deployments, by task name."""

    def __init__(self, **handles: Any) -> None:
        self._handles = handles

    async def stats(self) -> dict[str, Any]:
        """``stats()`` of one replica of each task (Serve picks which)."""
        names = list(self._handles)
        answers = await asyncio.gather(
            *(self._handles[name].stats.remote() for name in names), return_exceptions=True
        )
        return {
            name: answer
            for name, answer in zip(names, answers, strict=True)
            if not isinstance(answer, BaseException)
        }


def build_app(plans: Mapping[str, DeploymentPlan], settings: InferenceSettings) -> Any:
    """The bound application (give it to ``serve.run``)."""
    from ray import serve

    deployments = {
        name: serve.deployment(replica_class(plan)).options(**plan.deployment_options())
        for name, plan in plans.items()
    }
    catalog = serve.deployment(Catalog).options(name="catalog", ray_actor_options={"num_cpus": 0})
    return catalog.bind(
        **{name: deployment.bind(plans[name], settings) for name, deployment in deployments.items()}
    )


def deploy(
    plans: Mapping[str, DeploymentPlan], settings: InferenceSettings, app_name: str = APP_NAME
) -> None:
    """Deploy (or update) the application on the connected cluster and wait until every
    replica is up. Blocking: call it in a thread from async code."""
    from ray import serve

    serve.run(
        build_app(plans, settings),
        name=app_name,
        route_prefix=None,  # no Serve HTTP route: our aiohttp server speaks the protocol
        blocking=False,
        logging_config={"enable_access_log": False},  # no log line per request
    )
