"""One job's NDJSON event stream: its state as it changes, then its outcome.

A client that hangs up cancels the job (the handler is cancelled, or its next write
fails); a client that stops reading is given ``WRITE_TIMEOUT_S`` per write before it
is dropped, so that a stalled reader cannot hold a result in memory for ever.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiohttp import web

from .. import metrics
from ..errors import InferenceError, JobCancelled
from ..jobs import JobHandle, JobUpdate
from ..wire import NDJSON, encode, error_to_dict, events_between, result_to_dict

log = logging.getLogger(__name__)

#: Seconds one write may wait for a client that does not read.
WRITE_TIMEOUT_S = 60.0


async def stream_job(request: web.Request, job: JobHandle, arrived: float) -> web.StreamResponse:
    """Answer ``request`` with the events of ``job`` (submitted for it at ``arrived``)."""
    response = web.StreamResponse(
        headers={"Content-Type": NDJSON, "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    sender = _Sender(response, job.id)
    outcome = "cancelled"
    try:
        await response.prepare(request)
        before: JobUpdate | None = None
        async for update in job.updates():
            if update.state.finished:
                break
            for event in events_between(before, update):
                await sender.send(event)
            before = update
        final = await _outcome(job)
        outcome = final["event"]
        await sender.send(final)
        await response.write_eof()
    except (ConnectionError, asyncio.CancelledError) as exc:
        # The client hung up or stopped reading: nobody wants the job any more.
        if job.cancel():
            log.info("job %s cancelled: its client went away (%s)", job.id, type(exc).__name__)
        if isinstance(exc, asyncio.CancelledError):
            raise
    finally:
        metrics.job_finished(job.task, outcome, time.monotonic() - arrived)
    return response


class _Sender:
    """Writes events, the job's id in the first one."""

    def __init__(self, response: web.StreamResponse, job_id: str) -> None:
        self.response = response
        self.job_id: str | None = job_id

    async def send(self, event: dict[str, Any]) -> None:
        if self.job_id is not None:
            event = {"event": event["event"], "id": self.job_id, **event}
            self.job_id = None
        data = await _encode(event)
        # A timer, not wait_for (a task per event): a stalled reader cancels the handler.
        handler = asyncio.current_task()
        assert handler is not None
        stalled = asyncio.get_running_loop().call_later(WRITE_TIMEOUT_S, handler.cancel)
        try:
            await self.response.write(data)
        finally:
            stalled.cancel()


async def _encode(event: dict[str, Any]) -> bytes:
    if "attachment" in event.get("result", {}):  # megabytes of base64: off the loop
        return await asyncio.to_thread(encode, event)
    return encode(event)


async def _outcome(job: JobHandle) -> dict[str, Any]:
    """The last event: the result, the error or the cancellation."""
    try:
        result = await job.result()
    except JobCancelled as exc:  # by DELETE, or the server shutting down: it says which
        return {"event": "cancelled", "message": exc.message}
    except Exception as exc:
        if not isinstance(exc, InferenceError):
            log.error("job %s of %s failed", job.id, job.task, exc_info=exc)
        error = error_to_dict(exc)
        metrics.error(error["type"])
        return {"event": "error", "error": error}
    if result.attachment() is not None:  # base64 of megabytes: off the loop
        return {"event": "result", "result": await asyncio.to_thread(result_to_dict, result)}
    return {"event": "result", "result": result_to_dict(result)}
