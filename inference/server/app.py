"""The HTTP API of any ``Backend`` (``inference/openapi.yaml`` describes it).

Written only against the ``Backend`` and ``JobHandle`` protocols: the in-process
``InferenceService`` and the Ray Serve backend plug in alike. Serve the app with
``handler_cancellation=True`` (as ``runner.start_site`` does) so that a client that
hangs up cancels its job at once, even while the job waits silently in a queue.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import inspect
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .. import metrics
from ..errors import Busy, InferenceError, InvalidInput, ModelUnavailable, UnknownTask
from ..jobs import Backend, JobHandle, JobState
from ..naming import display_name
from ..settings import InferenceSettings
from ..tasks import TASKS
from ..wire import error_to_dict
from .stream import stream_job

log = logging.getLogger(__name__)

BACKEND = web.AppKey("backend", Backend)
SETTINGS = web.AppKey("settings", InferenceSettings)
STARTUP = web.AppKey("startup", asyncio.Task)

#: Paths anyone may read, key or not: probes that reveal nothing.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})
#: The longest ``user`` a request may name (it is only a fairness key).
MAX_USER_CHARS = 200

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(backend: Backend, settings: InferenceSettings) -> web.Application:
    """The aiohttp application serving ``backend``. It starts the backend in the
    background when it starts (``/readyz`` says when that is done) and closes it when
    it shuts down."""
    middlewares = [_errors_as_json, _auth(settings.api_key())]  # the first is outermost
    app = web.Application(client_max_size=_max_body(settings), middlewares=middlewares)
    app[BACKEND] = backend
    app[SETTINGS] = settings
    app.on_startup.append(_start_backend)
    app.on_shutdown.append(_close_backend)
    app.router.add_post("/v1/jobs/{task}", post_job)
    app.router.add_delete("/v1/jobs/{job_id}", delete_job)
    app.router.add_get("/v1/tasks", get_tasks)
    app.router.add_get("/v1/status", get_status)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", get_metrics)
    return app


# -- errors and auth ------------------------------------------------------------------


class ApiError(Exception):
    """An error answered before any job exists: ``{"error": {"type", "message"}}``."""

    def __init__(
        self, status: int, error: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(error.get("message"))
        self.status = status
        self.error = error
        self.headers = headers

    def response(self) -> web.Response:
        return web.json_response({"error": self.error}, status=self.status, headers=self.headers)


def _status_of(error: InferenceError) -> int:
    if isinstance(error, UnknownTask):
        return 404
    if isinstance(error, InvalidInput):
        return 400
    if isinstance(error, Busy):
        return 429
    if isinstance(error, ModelUnavailable):
        return 503
    return 500


def api_error(error: InferenceError) -> ApiError:
    """The HTTP answer to an error raised while a job was being submitted."""
    headers = None
    if isinstance(error, Busy):
        headers = {"Retry-After": str(max(1, math.ceil(error.retry_after)))}
    return ApiError(_status_of(error), error_to_dict(error), headers)


def _plain_error(status: int, type_: str, message: str, **headers: str) -> ApiError:
    return ApiError(status, {"type": type_, "message": message}, headers or None)


@web.middleware
async def _errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Our errors and aiohttp's own (404 route, 405, 413) as JSON bodies; anything
    unexpected is logged and answered 500 without details."""
    try:
        return await handler(request)
    except ApiError as exc:
        error = exc
    except web.HTTPRequestEntityTooLarge:
        error = _too_large(request.app[SETTINGS])
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        error = _plain_error(exc.status, type(exc).__name__.removeprefix("HTTP"), exc.reason)
    except Exception:
        log.exception("error answering %s %s", request.method, request.path)
        error = ApiError(500, error_to_dict(RuntimeError()))
    metrics.error(str(error.error.get("type")))
    return error.response()


def _auth(key: str | None) -> Any:
    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        # inside _errors_as_json, which turns the ApiError into its answer
        if key is not None and request.path not in PUBLIC_PATHS:
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), key.encode()
            ):
                raise _plain_error(
                    401,
                    "Unauthorized",
                    "A valid API key is required (Authorization: Bearer ...).",
                    **{"WWW-Authenticate": "Bearer"},
                )
        return await handler(request)

    return check


def _max_body(settings: InferenceSettings) -> int:
    return int(settings.server_max_body_mb * 2**20)


def _too_large(settings: InferenceSettings) -> ApiError:
    return _plain_error(
        413,
        InvalidInput.__name__,
        f"The request is too large (at most {settings.server_max_body_mb:g} MB).",
    )


# -- lifecycle --------------------------------------------------------------------------


async def _start_backend(app: web.Application) -> None:
    # In the background: /healthz answers while PRELOAD loads; /readyz says when done.
    app[STARTUP] = asyncio.create_task(app[BACKEND].start(), name="backend-start")


async def _close_backend(app: web.Application) -> None:
    # On shutdown, before aiohttp waits for open requests: closing the backend cancels
    # its jobs, so their streams end at once (with "cancelled") instead of running on.
    startup = app[STARTUP]
    if not startup.done():
        startup.cancel()
    await asyncio.gather(startup, return_exceptions=True)
    await app[BACKEND].close()


async def _started(app: web.Application) -> None:
    """Wait until the backend has started; a backend that failed to start answers 503."""
    startup = app[STARTUP]
    try:
        await asyncio.shield(startup)
    except Exception as exc:
        raise _plain_error(503, "Unavailable", "The inference backend failed to start.") from exc


# -- jobs -------------------------------------------------------------------------------


async def post_job(request: web.Request) -> web.StreamResponse:
    """``POST /v1/jobs/{task}``: submit, then stream the job's events as NDJSON."""
    arrived = time.monotonic()
    app = request.app
    settings = app[SETTINGS]
    inputs = await _read_inputs(request, settings)
    user = inputs.pop("user", None)
    if user is not None and (not isinstance(user, str) or len(user) > MAX_USER_CHARS):
        raise _plain_error(
            400, "InvalidInput", f"user must be a string of at most {MAX_USER_CHARS} characters."
        )
    task = request.match_info["task"]
    if "task" in inputs:  # would clash with submit()'s own argument
        raise api_error(InvalidInput(f"{task} has no option 'task'."))
    await _started(app)
    backend = app[BACKEND]
    try:
        _refuse_failed_model(backend, task)
        job = backend.submit(task, user=user, **inputs)
    except InferenceError as exc:
        raise api_error(exc) from None
    await _refuse_if_refused(job)
    return await stream_job(request, job, arrived)


async def _refuse_if_refused(job: JobHandle) -> None:
    """A job that failed before its first update (a Ray Serve deployment whose queue is
    full refuses it just after submit) gets its error's status, 429 for Busy, rather
    than a stream. In-process jobs have their first update at once."""
    updates = job.updates()
    try:
        first = await anext(updates)
    except asyncio.CancelledError:  # the client hung up meanwhile
        job.cancel()
        raise
    finally:
        await updates.aclose()
    if first.state is JobState.FAILED:
        try:
            await job.result()
        except InferenceError as exc:
            raise api_error(exc) from None


async def _read_inputs(request: web.Request, settings: InferenceSettings) -> dict[str, Any]:
    length = request.content_length
    if length is not None and length > _max_body(settings):
        raise _too_large(settings)
    body = await request.read()  # over client_max_size: HTTPRequestEntityTooLarge
    try:
        inputs = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _plain_error(400, "InvalidInput", "The request body is not valid JSON.") from None
    if not isinstance(inputs, dict):
        raise _plain_error(
            400, "InvalidInput", "The request body must be a JSON object of the task's inputs."
        )
    return inputs


def _refuse_failed_model(backend: Backend, task: str) -> None:
    """503 at once for a task whose one model failed to load moments ago (the backend
    remembers such failures for a while; every request would fail the same way)."""
    name = task.strip().lower()
    if name not in TASKS:
        return  # submit() says so
    model = getattr(backend.task(name), "model", None)
    if model is None:
        return
    failed = backend.status().failed_models
    for key in (f"{name}: {model}", f"{name}: {display_name(model)}"):
        if key in failed:
            raise ModelUnavailable(name, model, failed[key])


async def delete_job(request: web.Request) -> web.Response:
    """``DELETE /v1/jobs/{id}``: cancel a queued or running job."""
    job = request.app[BACKEND].job(request.match_info["job_id"])
    if job is None or not job.cancel():
        raise _plain_error(404, "NotFound", "No such job, or it has already finished.")
    return web.json_response({"id": job.id, "cancelled": True})


# -- the other endpoints ------------------------------------------------------------------


async def get_tasks(request: web.Request) -> web.Response:
    """``GET /v1/tasks``: every task with its summary, inputs and model."""
    backend = request.app[BACKEND]
    await _started(request.app)
    tasks = []
    for name, cls in TASKS.items():
        options = [
            p.name
            for p in inspect.signature(cls.parse).parameters.values()
            if p.name != "self" and p.kind is not p.VAR_KEYWORD
        ]
        tasks.append(
            {
                "name": name,
                "summary": cls.summary,
                "main_input": cls.main_input,
                "options": options,
                "model": display_name(backend.task(name).model),
            }
        )
    return web.json_response({"tasks": tasks})


async def get_status(request: web.Request) -> web.Response:
    """``GET /v1/status``: the backend's ``ServiceStatus`` (what ``/status`` shows)."""
    return web.json_response(dataclasses.asdict(request.app[BACKEND].status()))


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def readyz(request: web.Request) -> web.Response:
    """Ready once the backend has started, PRELOAD's models loaded (or failed: those are
    listed, and their tasks answer 503)."""
    startup = request.app[STARTUP]
    if not startup.done():
        return web.json_response({"ready": False, "reason": "starting"}, status=503)
    if startup.cancelled() or startup.exception() is not None:
        return web.json_response({"ready": False, "reason": "failed to start"}, status=503)
    status = request.app[BACKEND].status()
    loaded, failed = status.loaded_models, status.failed_models
    return web.json_response({"ready": True, "loaded_models": loaded, "failed_models": failed})


async def get_metrics(request: web.Request) -> web.Response:
    body = metrics.render(request.app[BACKEND].status())
    return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})
