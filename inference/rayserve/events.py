"""The events a replica streams for one request, and errors as plain data.

The events have the shape of the HTTP protocol's NDJSON lines (``{"event": "queued",
"position": n}``, ``running``, ``progress``, ``result``, ``error``), except that a
result travels as its ``Result`` object (Ray pickles it, attachments included).
Errors travel as ``{"type", "message"}`` (``inference.wire``), because not every
``InferenceError`` can be rebuilt from its pickled arguments (``ModelUnavailable``
takes three).
"""

from __future__ import annotations

from typing import Any

from ..results import Result
from ..wire import error_to_dict

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
    """The error as the HTTP protocol writes it (``wire.error_to_dict``): anything but an
    ``InferenceError`` is an internal error, its details left in the replica's log."""
    return {"event": "error", "error": error_to_dict(exc)}
