"""``RemoteService``: the ``Backend`` of an inference server elsewhere, over HTTP.

It gives its callers what the in-process service gives: job handles with queue
position, progress, updates, cancel and a typed result (the task's own ``Result``
class, attachment bytes included), and the same typed errors. Task objects are built
here, without models, so that input is checked before anything is sent.

A server that cannot be reached, or goes away mid-job, fails the job with
``Unreachable``; every job opens its own request, so the next one works as soon as
the server is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Hashable, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from .device import resolve_placement
from .errors import InferenceError, InternalError, JobCancelled, UnknownTask, Unreachable
from .jobs import JobBase, JobState, ServiceStatus
from .results import Result
from .settings import InferenceSettings
from .tasks import TASKS
from .tasks.base import Task
from .wire import apply_event, error_from_dict, ndjson_lines, result_from_dict, result_type

log = logging.getLogger(__name__)

UNREACHABLE = "The inference server is unreachable."
#: Seconds to open a connection before the server counts as unreachable.
CONNECT_TIMEOUT_S = 10.0
#: A job's stream may end this long after the job's own time limit (network slack).
DEADLINE_MARGIN_S = 60.0
#: The longest event line read (a result with a large image, in base64).
MAX_EVENT_BYTES = 256 * 2**20
#: How old the status shown by ``status()`` may get before it is fetched again (a
#: finished job, which may have changed it, has it fetched at once).
STATUS_MAX_AGE_S = 5.0


class RemoteJob(JobBase):
    """A job running on the server. ``id`` is this client's own (known at once, for
    Cancel buttons); the server's id arrives with the first event."""

    def __init__(self, service: RemoteService, task: str, user: Hashable | None) -> None:
        super().__init__(task, user)
        self.remote_id: str | None = None
        self.position: int | None = None
        self._service = service
        self._accepted = asyncio.Event()  # the server's first event, or the end
        self._reader: asyncio.Task[None] | None = None

    async def accepted(self) -> None:
        await self._accepted.wait()
        if self.state is JobState.FAILED and self.remote_id is None:
            await self.result()  # refused before the server took it in: raises why

    # -- following the server's events ----------------------------------------------

    def apply(self, event: dict[str, Any]) -> None:
        """Take one event of the job's stream into account."""
        if self.done:
            return
        kind = event.get("event")
        self.remote_id = self.remote_id or event.get("id")
        self._accepted.set()
        if apply_event(self, event):
            return
        if kind == "result":
            try:
                result = result_from_dict(self._service.result_class(self.task), event["result"])
            except (ValueError, KeyError) as exc:
                log.warning("unreadable %s result from the inference server: %s", self.task, exc)
                raise InternalError(
                    "The inference server sent a result this bot cannot read."
                ) from None
            self._service.task(self.task).note_result(result)
            self._finish(JobState.DONE, result=result)
        elif kind == "error":
            self._finish(JobState.FAILED, error=error_from_dict(event.get("error")))
        elif kind == "cancelled":
            message = str(event.get("message") or "The request was cancelled.")
            self._finish(JobState.CANCELLED, error=JobCancelled(message))
        # anything else is an event of a newer server: nothing this client needs

    def _finish(
        self, state: JobState, result: Result | None = None, error: BaseException | None = None
    ) -> None:
        """Finish the job (cancelled: its stream is closed and it is deleted on the server)."""
        self.position = None
        if self._settle(state, result, error):
            self._accepted.set()
            self._service._job_finished(self)


def _timeout(total: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=total, sock_connect=CONNECT_TIMEOUT_S)


class RemoteService:
    """A ``Backend`` that runs every task on the inference server at ``url``."""

    def __init__(
        self, url: str, settings: InferenceSettings | None = None, *, api_key: str | None = None
    ) -> None:
        self.settings = settings or InferenceSettings()
        self.url = url.rstrip("/")
        parts = urlsplit(self.url)
        #: The server as logs name it: no credentials, no path.
        self.where = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        self._api_key = api_key if api_key is not None else self.settings.api_key()
        self._placement = resolve_placement("cpu", "float32")  # tasks here never load models
        self._tasks: dict[str, Task[Any, Any]] = {}
        self._jobs: dict[str, RemoteJob] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._status = ServiceStatus("inference server (not contacted yet)", 0.0, [], {}, {})
        self._status_at = -STATUS_MAX_AGE_S
        self._status_refresh: asyncio.Task[None] | None = None
        self._status_stale = False  # changed while a fetch was under way: fetch again
        self._closing = False

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> RemoteService:
        """Open the connection pool and fetch the server's status once (a server that
        is not up yet is logged, not fatal: jobs say so until it is)."""
        self._closing = False
        if self._session is None:
            headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
            self._session = aiohttp.ClientSession(
                headers=headers,
                connector=aiohttp.TCPConnector(limit=512),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT_S),
            )
            await self._refresh_status()
        return self

    async def close(self) -> None:
        """Cancel the jobs still running (here and on the server) and close the pool."""
        self._closing = True
        for job in list(self._jobs.values()):
            job._finish(JobState.CANCELLED, error=JobCancelled("The service is shutting down."))
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while self._background and time.monotonic() < deadline:  # readers, then deletes
            await asyncio.wait(set(self._background), timeout=deadline - time.monotonic())
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> RemoteService:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- requests -------------------------------------------------------------------

    def submit(self, task: str, *, user: Hashable | None = None, **inputs: Any) -> RemoteJob:
        """Check the request here (``InvalidInput``/``UnknownTask`` at once), then send it;
        ``Busy`` and every later error come from the job's ``result()``."""
        if self._session is None:
            raise RuntimeError("RemoteService is not started: use 'async with' or start()")
        name = str(task).strip().lower()
        self.task(name).parse(**inputs)
        job = RemoteJob(self, name, user)
        body = dict(inputs)
        if user is not None:
            body["user"] = str(user)
        self._jobs[job.id] = job
        job._reader = self._spawn(self._follow(job, body))
        return job

    async def run(self, task: str, *, user: Hashable | None = None, **inputs: Any) -> Result:
        return await self.submit(task, user=user, **inputs).result()

    async def preload(self, tasks: Sequence[str]) -> dict[str, str | None]:
        """Nothing to do here: the server loads its models (its own PRELOAD setting)."""
        return {name: None for name in tasks}

    def task(self, name: str) -> Task[Any, Any]:
        """The task object of ``name``, built here without its model (parse rules,
        voices, languages), from this side's settings."""
        name = str(name).strip().lower()
        if name not in self._tasks:
            if name not in TASKS:
                raise UnknownTask(f"Unknown task {name!r}; known tasks: {', '.join(TASKS)}.")
            model = self.settings.model_for(name)
            self._tasks[name] = TASKS[name](model, self._placement, self.settings)
        return self._tasks[name]

    def result_class(self, task: str) -> type[Result]:
        return result_type(TASKS[task])

    def job(self, job_id: str) -> RemoteJob | None:
        return self._jobs.get(job_id)

    def status(self) -> ServiceStatus:
        """The server's status as last fetched (fetched again in the background when
        older than ``STATUS_MAX_AGE_S``, and after every job)."""
        if time.monotonic() - self._status_at > STATUS_MAX_AGE_S:
            self._fetch_status()
        return self._status

    def _fetch_status(self) -> None:
        """Fetch the status in the background: one fetch at a time, and one more after it
        when asked again meanwhile."""
        if self._closing or self._session is None:
            return
        if self._status_refresh is None:
            self._status_refresh = self._spawn(self._refresh_status())
        else:
            self._status_stale = True

    # -- internals ------------------------------------------------------------------

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _follow(self, job: RemoteJob, body: dict[str, Any]) -> None:
        """Send the request and apply its events until the job has finished."""
        assert self._session is not None
        url = f"{self.url}/v1/jobs/{quote(job.task, safe='')}"
        deadline = _timeout(self._deadline(job.task))
        try:
            async with self._session.post(url, json=body, timeout=deadline) as response:
                if response.status != 200:
                    raise await self._refusal(response)
                # to the end of the stream (just after the last event), so that the
                # connection goes back to the pool instead of being closed
                async for event in ndjson_lines(response.content.iter_any(), MAX_EVENT_BYTES):
                    if isinstance(event, dict):
                        job.apply(event)
            if not job.done:
                raise aiohttp.ServerDisconnectedError("the event stream ended early")
        except (InferenceError, InternalError) as exc:
            job._finish(JobState.FAILED, error=exc)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            if not job.done:
                log.warning("inference server %s unreachable (job %s): %r", self.where, job.id, exc)
                job._finish(JobState.FAILED, error=Unreachable(UNREACHABLE))
        except ValueError as exc:  # a line that is not JSON
            log.warning("unreadable event stream from %s: %s", self.where, exc)
            job._finish(JobState.FAILED, error=InternalError("The inference server misbehaved."))
        except asyncio.CancelledError:
            if job.remote_id is not None:  # the stream closes; delete it too, to be sure
                self._spawn(self._delete(job.remote_id))
            raise

    async def _refusal(self, response: aiohttp.ClientResponse) -> InferenceError | InternalError:
        """The typed error of a non-200 answer (``{"error": {"type", "message"}}``)."""
        try:
            data = (await response.json(content_type=None))["error"]
        except (ValueError, KeyError, TypeError, aiohttp.ClientError):
            message = f"The inference server answered {response.status}."
            data = {"type": "InternalError", "message": message}
        if response.status == 429 and "retry_after" not in data:
            with contextlib.suppress(TypeError, ValueError):
                data["retry_after"] = float(response.headers.get("Retry-After", ""))
        if response.status == 401 or response.status >= 500:
            log.warning("inference server %s answered %d: %s", self.where, response.status, data)
        return error_from_dict(data)

    async def _delete(self, remote_id: str) -> None:
        if self._session is None:
            return
        url = f"{self.url}/v1/jobs/{quote(remote_id, safe='')}"
        # RuntimeError: the session closed meanwhile (shutdown); the stream closed anyway
        with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError, RuntimeError):
            async with self._session.delete(url, timeout=_timeout(CONNECT_TIMEOUT_S)):
                pass

    def _deadline(self, task: str) -> float:
        """How long a job's stream may last: its time limit on the server, plus slack."""
        limits = self.settings.task_limits.get(task)
        limit = (limits and limits.timeout_s) or TASKS[task].timeout_s
        return (limit or self.settings.job_timeout_s) + DEADLINE_MARGIN_S

    async def _refresh_status(self) -> None:
        assert self._session is not None
        url = f"{self.url}/v1/status"
        try:
            async with self._session.get(url, timeout=_timeout(CONNECT_TIMEOUT_S)) as response:
                response.raise_for_status()
                data = await response.json()
            self._status = ServiceStatus(**{**data, "device": f"{data['device']} (remote)"})
        except (
            aiohttp.ClientError,
            OSError,
            asyncio.TimeoutError,
            ValueError,
            TypeError,
            KeyError,
        ) as exc:
            log.warning("inference server %s unreachable: %r", self.where, exc)
            self._status = ServiceStatus("inference server unreachable", 0.0, [], {}, {})
        finally:
            self._status_at = time.monotonic()
            self._status_refresh = None
            if self._status_stale:
                self._status_stale = False
                self._fetch_status()

    def _job_finished(self, job: RemoteJob) -> None:
        self._jobs.pop(job.id, None)
        self._fetch_status()  # a job changes what status() shows (queues, loaded models)
        reader = job._reader
        if reader is not None and reader is not asyncio.current_task() and not reader.done():
            reader.cancel()  # closes the stream: the server cancels the job
