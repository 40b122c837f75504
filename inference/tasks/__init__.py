"""The task registry: every task the service can run, by name.

To add a task, write one module here following ``base.Task`` and list its class below.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from .ask import AskTask
from .base import Task
from .classify import ClassifyTask
from .embed import EmbedTask
from .generate import GenerateTask
from .imagine import ImagineTask
from .ner import NerTask
from .qa import QaTask
from .sentiment import SentimentTask
from .speak import SpeakTask
from .story import StoryTask
from .summarize import SummarizeTask
from .translate import TranslateTask

TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (
        SentimentTask,
        NerTask,
        QaTask,
        SummarizeTask,
        TranslateTask,
        ClassifyTask,
        GenerateTask,
        ImagineTask,
        SpeakTask,
        StoryTask,
        EmbedTask,
        AskTask,
    )
}


async def warm_parsers(names: Iterable[str]) -> None:
    """Run the named tasks' ``Task.warm`` in worker threads, all at once."""
    await asyncio.gather(*(asyncio.to_thread(TASKS[name].warm) for name in names))


__all__ = ["TASKS", "Task", "warm_parsers"]
