"""Prometheus metrics of the inference service and its HTTP server (``GET /metrics``).

The metrics live in their own registry, ``REGISTRY``, so that nothing else in the
process (a library's default collectors) lands on the endpoint. Counters and
histograms are updated where things happen: the service calls ``batch_ran``,
``model_loaded`` and ``model_unloaded``; the server calls ``job_finished`` and
``error``. Gauges (queues, memory) are read from ``Backend.status()`` at scrape time
by ``render``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .jobs import ServiceStatus

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST

QUEUE_DEPTH = Gauge(
    "inference_queue_depth", "Requests waiting in a task's queue.", ["task"], registry=REGISTRY
)
RUNNING = Gauge(
    "inference_running_jobs", "Requests of a task running now.", ["task"], registry=REGISTRY
)
BATCH_SIZE = Histogram(
    "inference_batch_size",
    "Requests per batch run.",
    ["task"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
    registry=REGISTRY,
)
JOB_SECONDS = Histogram(
    "inference_job_seconds",
    "Seconds from a request's arrival to its last event, by outcome (result, error, cancelled).",
    ["task", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
    registry=REGISTRY,
)
MODEL_LOADS = Counter(
    "inference_model_loads", "Models loaded, by task.", ["task"], registry=REGISTRY
)
MODEL_UNLOADS = Counter(
    "inference_model_unloads",
    "Models unloaded to stay within the memory budget, by task.",
    ["task"],
    registry=REGISTRY,
)
MEMORY_USED = Gauge(
    "inference_memory_used_bytes", "Memory of the loaded models.", registry=REGISTRY
)
MEMORY_BUDGET = Gauge(
    "inference_memory_budget_bytes",
    "The memory budget of the loaded models (MODEL_MEMORY_MB); NaN when unbounded.",
    registry=REGISTRY,
)
ERRORS = Counter(
    "inference_errors",
    "Requests that ended in an error, by error type (InvalidInput, Busy...).",
    ["type"],
    registry=REGISTRY,
)

MB = 2**20


def batch_ran(task: str, size: int) -> None:
    BATCH_SIZE.labels(task).observe(size)


def model_loaded(task: str) -> None:
    MODEL_LOADS.labels(task).inc()


def model_unloaded(task: str) -> None:
    MODEL_UNLOADS.labels(task).inc()


def job_finished(task: str, outcome: str, seconds: float) -> None:
    JOB_SECONDS.labels(task, outcome).observe(seconds)


def error(error_type: str) -> None:
    ERRORS.labels(error_type).inc()


def render(status: ServiceStatus) -> bytes:
    """The Prometheus text of every metric, with the gauges set from ``status``."""
    for gauge, counts in ((QUEUE_DEPTH, status.queued), (RUNNING, status.running)):
        gauge.clear()  # a task that is gone from the status must not keep its last value
        for task, count in counts.items():
            gauge.labels(task).set(count)
    MEMORY_USED.set(status.memory_used_mb * MB)
    budget = status.memory_budget_mb
    MEMORY_BUDGET.set(float("nan") if budget is None else budget * MB)
    return generate_latest(REGISTRY)
