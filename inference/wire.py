"""The wire format of the HTTP API (``inference/openapi.yaml``), shared by the server that
writes it and the client that reads it: job events, results with their attachment,
errors as ``{"type", "message"}``, and NDJSON lines."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import mimetypes
import typing
from collections.abc import AsyncIterator, Mapping
from typing import Any

from . import errors
from .errors import Busy, InferenceError, InternalError, ModelUnavailable
from .jobs import JobBase, JobState, JobUpdate
from .results import Result, from_dict

NDJSON = "application/x-ndjson"
#: A line longer than this (a result with a file, in base64) is parsed off the event loop.
LARGE_LINE_BYTES = 2**20
#: The ``type`` of errors that are not ``InferenceError`` (a bug, say): no details leave
#: the server.
INTERNAL_MESSAGE = "Something went wrong on the inference server."

#: Every error type a server may name, by class name.
ERROR_TYPES: dict[str, type[InferenceError]] = {
    cls.__name__: cls
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, InferenceError)
}


# -- errors ---------------------------------------------------------------------------


def error_to_dict(error: BaseException) -> dict[str, Any]:
    """``{"type", "message"}`` (and ``retry_after`` for ``Busy``). Anything but an
    ``InferenceError`` becomes an ``InternalError`` with a fixed message."""
    if not isinstance(error, InferenceError):
        return {"type": InternalError.__name__, "message": INTERNAL_MESSAGE}
    data: dict[str, Any] = {"type": type(error).__name__, "message": error.message}
    if isinstance(error, Busy):
        data["retry_after"] = round(error.retry_after, 1)
    return data


def error_from_dict(data: Any) -> InferenceError | InternalError:
    """The typed error that ``error_to_dict`` described; an ``InternalError`` for an
    internal error, a type this side does not know (``Unauthorized``, or one of a newer
    server) or a malformed description."""
    if not isinstance(data, Mapping):
        return InternalError(INTERNAL_MESSAGE)
    message = str(data.get("message") or INTERNAL_MESSAGE)
    cls = ERROR_TYPES.get(str(data.get("type")))
    if cls is None:
        return InternalError(message)
    if cls is Busy:
        try:
            retry_after = float(data.get("retry_after", 5.0))
        except (TypeError, ValueError):
            retry_after = 5.0
        return Busy(message, retry_after=retry_after)
    error = cls.__new__(cls)  # not every class takes just a message (ModelUnavailable)
    InferenceError.__init__(error, message)
    if isinstance(error, ModelUnavailable):
        error.task, error.model, error.reason = "", "", message
    return error


# -- results --------------------------------------------------------------------------


def result_to_dict(result: Result) -> dict[str, Any]:
    """``result.to_dict()`` plus its file, if any, as ``attachment``: ``{"filename",
    "content_type", "data_base64"}``."""
    data = result.to_dict()
    attachment = result.attachment()
    if attachment is not None:
        filename, blob = attachment
        data["attachment"] = {
            "filename": filename,
            "content_type": mimetypes.guess_type(filename)[0] or "application/octet-stream",
            "data_base64": base64.b64encode(blob).decode("ascii"),
        }
    return data


def result_from_dict(cls: type[Result], data: Mapping[str, Any]) -> Result:
    """The ``cls`` result that ``result_to_dict`` described, its file bytes included.
    Raises ``ValueError`` for data that does not fit ``cls``."""
    blob = None
    attachment = data.get("attachment")
    if isinstance(attachment, Mapping):
        try:
            blob = base64.b64decode(str(attachment.get("data_base64", "")), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("the attachment is not base64") from exc
    try:
        return from_dict(cls, data, blob)
    except (TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"not a {cls.__name__}: {exc}") from exc


def result_type(task_cls: type) -> type[Result]:
    """The result class of a task class (``SentimentTask`` -> ``SentimentResult``): its
    ``result_class`` when it names one (a task that extends another's, as StoryTask does
    GenerateTask), else read from the ``Task[Request, Result]`` it subclasses."""
    for klass in task_cls.__mro__:
        if isinstance(klass.__dict__.get("result_class"), type):
            return klass.__dict__["result_class"]
        for base in getattr(klass, "__orig_bases__", ()):
            args = typing.get_args(base)
            if len(args) == 2 and isinstance(args[1], type) and issubclass(args[1], Result):
                return args[1]
    return Result


# -- events ---------------------------------------------------------------------------


def events_between(before: JobUpdate | None, now: JobUpdate) -> list[dict[str, Any]]:
    """The events that tell a client how a job went from ``before`` to ``now`` (both
    unfinished): ``queued`` with a changed position, ``loading``, ``running``,
    ``progress``. Updates that change nothing a client sees give no event."""
    events: list[dict[str, Any]] = []
    old_state = before.state if before else None
    if now.state is JobState.QUEUED:
        if old_state is not JobState.QUEUED or before is None or before.position != now.position:
            events.append({"event": "queued", "position": now.position or 0})
        return events
    if now.state is JobState.LOADING and old_state is not JobState.LOADING:
        events.append({"event": "loading"})
    if now.state is JobState.RUNNING and old_state is not JobState.RUNNING:
        events.append({"event": "running"})
    if now.progress is not None and (before is None or before.progress != now.progress):
        done, total = now.progress
        events.append({"event": "progress", "done": done, "total": total})
    return events


def apply_event(job: JobBase, event: Mapping[str, Any]) -> bool:
    """Take a ``queued``, ``loading``, ``running`` or ``progress`` event (the reverse of
    ``events_between``) into ``job``'s state; False for any other event (the outcome,
    which each handle reads its own way, or one of a newer server)."""
    kind = event.get("event")
    if kind == "queued":
        job.state, job.position = JobState.QUEUED, int(event.get("position") or 0)
    elif kind in ("loading", "running"):
        job.state, job.position = JobState(kind), None
    elif kind == "progress":
        job.state, job.position = JobState.RUNNING, None
        job.progress = (int(event["done"]), int(event["total"]))
    else:
        return False
    job._changed.set()
    return True


def encode(event: Mapping[str, Any]) -> bytes:
    """One NDJSON line."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


async def ndjson_lines(chunks: AsyncIterator[bytes], max_line: int) -> AsyncIterator[Any]:
    """The JSON objects of an NDJSON byte stream. A line may be far longer than a
    stream reader's buffer (a result with an image); one over ``max_line`` bytes raises
    ``ValueError``, as does a line that is not JSON. Blank lines are skipped; a line over
    ``LARGE_LINE_BYTES`` is parsed in a thread."""
    pending = bytearray()
    async for chunk in chunks:
        pending += chunk
        while (end := pending.find(b"\n")) >= 0:
            line = bytes(pending[:end])
            del pending[: end + 1]
            if line.strip():
                yield await _decode(line)
        if len(pending) > max_line:
            raise ValueError(f"an event line is longer than {max_line} bytes")
    if pending.strip():
        yield await _decode(bytes(pending))


async def _decode(line: bytes) -> Any:
    if len(line) > LARGE_LINE_BYTES:  # megabytes of base64: off the loop
        return await asyncio.to_thread(json.loads, line)
    return json.loads(line)
