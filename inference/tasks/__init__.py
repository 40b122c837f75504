"""The task registry: every task the service can run, by name.

To add a task, write one module here following ``base.Task`` and list its class below.
"""

from __future__ import annotations

from .base import Task
from .sentiment import SentimentTask

TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (
        SentimentTask,
    )
}

__all__ = ["TASKS", "Task"]
