"""Ray Serve: the inference service on a Ray cluster (``python -m inference serve --ray``).

Importing this package imports Ray (the optional ``ray`` extra); nothing outside
``serve --ray`` does.
"""

from .app import APP_NAME, build_app, deploy
from .backend import RayBackend, RayJob
from .config import DeploymentPlan, plan_deployments

__all__ = [
    "APP_NAME",
    "DeploymentPlan",
    "RayBackend",
    "RayJob",
    "build_app",
    "deploy",
    "plan_deployments",
]
