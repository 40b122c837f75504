"""The events a replica streams for one request, and errors as plain data.

The events have the shape of the HTTP protocol's NDJSON lines (``{"event": "queued",
"position": n}``, ``running``, ``progress``, ``result``, ``error``), except that a
result travels as its ``Result`` object (Ray pickles it, attachments included).
Errors travel as ``{"type", "message"}`` because not every ``InferenceError`` can be
rebuilt from its pickled arguments (``ModelUnavailable`` takes three).
"""

from __future__ import annotations

from typing import Any

from .. import errors
from ..errors import Busy, InferenceError
from ..results import Result

#: Events after which a request's stream ends.
FINAL = frozenset({"result", "error"})


def queued(position: int) -> dict[str, Any]:
    return {"event": "queued", "position": position}


def running() -> dict[str, Any]:
    return {"event": "running"}


def progress(done: int, total: int) -> dict[str, Any]:
    return {"event": "progress", "done": done, "total": total}


def result(value: Result) -> dict[str, Any]:
    return {"event": "result", "result": value}


def error(exc: BaseException) -> dict[str, Any]:
    return {"event": "error", "error": error_to_dict(exc)}


def error_to_dict(exc: BaseException) -> dict[str, Any]:
    """``{"type", "message"}`` (and ``retry_after`` for Busy). Anything that is not an
    ``InferenceError`` is a bug or a crash: its details stay in the replica's log."""
    if not isinstance(exc, InferenceError):
        return {"type": "InternalError", "message": "The inference server failed."}
    data: dict[str, Any] = {"type": type(exc).__name__, "message": exc.message}
    if isinstance(exc, Busy):
        data["retry_after"] = exc.retry_after
    return data


def error_from_dict(data: dict[str, Any]) -> Exception:
    """The error ``error_to_dict`` described: the same ``InferenceError`` subclass with
    the same message, or a ``RuntimeError`` for an internal error."""
    cls = getattr(errors, str(data.get("type")), None)
    message = str(data.get("message") or "The request failed.")
    if not (isinstance(cls, type) and issubclass(cls, InferenceError)):
        return RuntimeError(message)
    exc = cls.__new__(cls)
    InferenceError.__init__(exc, message)
    if isinstance(exc, Busy):
        exc.retry_after = float(data.get("retry_after") or 5.0)
    return exc
