"""The inference service: HuggingFace models behind an async API. Knows nothing of Discord."""

from .errors import (
    Busy,
    InferenceError,
    InvalidInput,
    JobCancelled,
    JobTimeout,
    ModelUnavailable,
    UnknownTask,
)
from .results import Result
from .service import InferenceService, Job, JobState, JobUpdate, ServiceStatus
from .settings import InferenceSettings, TaskLimits

__all__ = [
    "Busy",
    "InferenceError",
    "InferenceService",
    "InferenceSettings",
    "InvalidInput",
    "Job",
    "JobCancelled",
    "JobState",
    "JobTimeout",
    "JobUpdate",
    "ModelUnavailable",
    "Result",
    "ServiceStatus",
    "TaskLimits",
    "UnknownTask",
]
