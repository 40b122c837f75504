"""Errors the inference service raises.

Every error carries a short message that can be shown to an end user as is;
anything longer (tracebacks, library messages) belongs in the logs.
"""

from __future__ import annotations

from .naming import display_name, scrub_paths


class InferenceError(Exception):
    """Base class: a request could not be served. ``str(err)`` is user-readable."""

    #: Whether the person who sent the request can fix it by changing it or waiting.
    user_fixable = True

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(InferenceError):
    """The request itself is wrong: empty text, an unknown language, too many labels..."""


class UnknownTask(InvalidInput):
    """No task is registered under that name."""


class Busy(InferenceError):
    """A queue is full; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float = 5.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ModelUnavailable(InferenceError):
    """The task's model could not be loaded; ``reason`` says why in one line."""

    user_fixable = False

    def __init__(self, task: str, model: str, reason: str) -> None:
        # Users see the model's display name and a reason without paths; the log, which
        # gets ``model`` and ``reason`` as they are, keeps the details.
        reason_shown = scrub_paths(reason.replace(model, display_name(model)))
        super().__init__(f"The {task} model is unavailable ({display_name(model)}): {reason_shown}")
        self.task = task
        self.model = model
        self.reason = reason
        #: ``reason`` as users may see it.
        self.reason_shown = reason_shown


class JobTimeout(InferenceError):
    """The job did not finish within its task's time limit."""


class JobCancelled(InferenceError):
    """The job was cancelled before it finished."""


def short_reason(exc: BaseException) -> str:
    """One line from a library's (often very long) error message, for a load that failed."""
    text = str(exc).strip() or type(exc).__name__
    first = next((line.strip() for line in text.splitlines() if line.strip()), text)
    if "offline" in text.lower() or "couldn't connect" in text.lower():
        first = "not found locally and the Hugging Face Hub cannot be reached"
    elif "is not a local folder and is not a valid model identifier" in text:
        first = "no such model on the Hugging Face Hub"
    return first if len(first) <= 200 else first[:197] + "..."


# -- errors of remote backends (the HTTP client of ``python -m inference serve``) --------


class Unreachable(InferenceError):
    """The inference server could not be reached, or went away while a job ran. Trying
    again later may work: the next request opens a fresh connection."""


class InternalError(RuntimeError):
    """The inference server failed in a way it does not explain to users (a bug: its log
    has the details), refused this client (a wrong key), or answered something this
    client cannot read. Deliberately not an ``InferenceError``: like any unexpected
    error in this process, it is logged and the user gets an apology."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
