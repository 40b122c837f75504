"""``serve --ray``: the HTTP server of inference/server, unchanged, in front of
RayBackend on the local Ray cluster (see conftest.py); the events are the documented
ones, backpressure is a 429, and a client that hangs up cancels its job in the replica."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from inference import JobState
from inference.client import RemoteService
from inference.rayserve import RayBackend
from inference.server import create_app, start_site
from inference.tasks.sentiment import SentimentResult
from inference.tasks.translate import TranslateResult
from tests.rayserve.conftest import TASKS, ray_settings
from tests.rayserve.test_rayserve import LONG_TEXT, eventually
from tests.remote import check_against_openapi, ndjson

pytestmark = pytest.mark.timeout(300)

JOBS = "/v1/jobs/{task}"


@pytest.fixture
async def server(ray_cluster: dict[str, str]) -> AsyncIterator[tuple[str, RayBackend]]:
    settings = ray_settings()
    backend = RayBackend(settings, tasks=TASKS, models=ray_cluster, deploy=False)
    runner, port = await start_site(create_app(backend, settings), "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):  # the backend starts in the background
                async with http.get(f"http://127.0.0.1:{port}/readyz") as answer:
                    if answer.status == 200:
                        break
                await asyncio.sleep(0.1)
        yield f"http://127.0.0.1:{port}", backend
    finally:
        await runner.cleanup()


async def test_a_job_streams_the_documented_events(server: tuple[str, RayBackend]) -> None:
    url, _ = server
    async with aiohttp.ClientSession() as http:
        body = {"text": "Hello, how are you?", "target": "fr>de", "user": "alice"}
        async with http.post(f"{url}/v1/jobs/translate", json=body) as answer:
            assert answer.status == 200
            assert answer.content_type == "application/x-ndjson"
            events = ndjson(await answer.read())
    for event in events:
        check_against_openapi(JOBS, "post", 200, event, "application/x-ndjson")
    kinds = [event["event"] for event in events]
    assert kinds[0] == "queued" and "id" in events[0]
    assert "running" in kinds and kinds[-1] == "result"
    progress = [(e["done"], e["total"]) for e in events if e["event"] == "progress"]
    assert progress[-1] == (2, 2)
    assert [stage["target"] for stage in events[-1]["result"]["stages"]] == ["fr", "de"]


async def test_a_full_deployment_queue_is_a_429(server: tuple[str, RayBackend]) -> None:
    url, _ = server

    async def post(i: int) -> tuple[int, dict[str, str], Any]:
        async with http.post(f"{url}/v1/jobs/ner", json={"text": LONG_TEXT[: 400 + i]}) as a:
            body = await a.json() if a.status != 200 else ndjson(await a.read())
            return a.status, dict(a.headers), body

    async with aiohttp.ClientSession() as http:
        answers = await asyncio.gather(*(post(i) for i in range(12)))
    statuses = [status for status, _, _ in answers]
    assert set(statuses) == {200, 429}, statuses
    for status, headers, body in answers:
        if status == 429:
            check_against_openapi(JOBS, "post", 429, body)
            assert body["error"]["type"] == "Busy" and int(headers["Retry-After"]) >= 1
        else:
            assert body[-1]["event"] == "result"


async def test_hanging_up_cancels_the_job_in_its_replica(
    server: tuple[str, RayBackend],
) -> None:
    url, backend = server
    before = (await backend.replica_stats())["translate"]["cancelled"]
    body = {"text": LONG_TEXT, "target": "fr>de>en>es"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/v1/jobs/translate", json=body) as answer,
    ):
        async for line in answer.content:
            if b'"running"' in line:
                break
        answer.connection.transport.abort()  # hang up mid-job

    async def replica_cancelled() -> bool:
        stats = (await backend.replica_stats())["translate"]
        return stats["cancelled"] == before + 1 and not stats["running"]

    await eventually(replica_cancelled)
    assert backend.status().running["translate"] == 0


async def test_the_bots_client_gets_the_same_jobs_from_serve_ray(
    server: tuple[str, RayBackend],
) -> None:
    url, _ = server
    async with RemoteService(url, ray_settings()) as remote:
        job = remote.submit("translate", text="Hello, how are you?", target="fr>de", user="42")
        seen = [update async for update in job.updates()]
        result = await job.result()
        sentiment = await remote.run("sentiment", text="I love it")
    assert isinstance(result, TranslateResult) and result.target == "de"
    assert JobState.RUNNING in {update.state for update in seen}
    assert (2, 2) in {update.progress for update in seen}
    assert isinstance(sentiment, SentimentResult)
