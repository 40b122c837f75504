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
from .jobs import Backend, JobHandle, JobState, JobUpdate, ServiceStatus
from .results import Result
from .service import InferenceService, Job
from .settings import InferenceSettings, TaskLimits

__all__ = [
    "Backend",
    "Busy",
    "InferenceError",
    "InferenceService",
    "InferenceSettings",
    "InvalidInput",
    "Job",
    "JobCancelled",
    "JobHandle",
    "JobState",
    "JobTimeout",
    "JobUpdate",
    "ModelUnavailable",
    "Result",
    "ServiceStatus",
    "TaskLimits",
    "UnknownTask",
]
