"""What a caller sees of a request: its state, its handle, the service's status.

Every way of running tasks (the in-process ``InferenceService``, the HTTP client of a
remote server, a Ray Serve cluster) speaks this one protocol, so the bot, the
command line and the HTTP server never need to know which one they have.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Hashable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, runtime_checkable

from .results import Result


class JobState(str, Enum):
    QUEUED = "queued"
    LOADING = "loading"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class JobUpdate:
    """A snapshot of a job, for showing its state to the person waiting for it."""

    state: JobState
    position: int | None
    progress: tuple[int, int] | None
    elapsed_s: float


@dataclass
class ServiceStatus:
    """What ``/status`` and operators want to know. Models are named by their display
    name (a Hub id, or a local directory's last part), never by a filesystem path."""

    device: str
    uptime_s: float
    loaded_models: list[str]
    queued: dict[str, int]
    running: dict[str, int]
    failed_models: dict[str, str] = field(default_factory=dict)
    #: Memory of the loaded models, and the budget they live within (MODEL_MEMORY_MB).
    memory_used_mb: float = 0.0
    memory_budget_mb: float | None = None


@runtime_checkable
class JobHandle(Protocol):
    """One submitted request, wherever it runs."""

    id: str
    task: str

    @property
    def state(self) -> JobState: ...

    @property
    def position(self) -> int | None:
        """Requests ahead of this one in its queue; None once it has started."""

    @property
    def progress(self) -> tuple[int, int] | None: ...

    @property
    def done(self) -> bool: ...

    def snapshot(self) -> JobUpdate: ...

    def cancel(self) -> bool:
        """Cancel the job; False when it had already finished."""

    async def accepted(self) -> None:
        """Wait until the backend has taken the job in, and raise its refusal (``Busy``,
        say) when it failed before that. A remote backend answers only once the request
        reached it; in-process, ``submit`` itself refuses, so this returns at once."""

    async def result(self) -> Result:
        """Wait for the result; raises the job's ``InferenceError`` when it failed."""

    async def finished(self, timeout: float | None = None) -> bool:
        """Wait until the job has finished, at most ``timeout`` seconds; True if it has."""

    def updates(self) -> AsyncIterator[JobUpdate]:
        """A snapshot now and after every change, until the job has finished."""


@runtime_checkable
class Backend(Protocol):
    """Something that runs tasks: ``InferenceService`` in this process, or a client of
    one elsewhere. ``task(name)`` gives the task object (its parse rules, voices,
    languages) without loading any model."""

    async def start(self) -> Any: ...

    async def close(self) -> None: ...

    def submit(self, task: str, *, user: Hashable | None = None, **inputs: Any) -> JobHandle: ...

    async def run(self, task: str, *, user: Hashable | None = None, **inputs: Any) -> Result: ...

    async def preload(self, tasks: Sequence[str]) -> dict[str, str | None]: ...

    def task(self, name: str) -> Any: ...

    def job(self, job_id: str) -> JobHandle | None: ...

    def status(self) -> ServiceStatus: ...
