"""The HTTP API against the OpenAPI document: a real aiohttp server of the in-process
service with tiny models, spoken to with a plain HTTP client."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from inference import JobState
from inference.cli import main as cli_main
from inference.server import ExposedWithoutKey, check_exposure
from inference.tasks import TASKS
from tests.remote import TASK_INPUTS, Server, check_against_openapi, hold, ndjson, wait_for

JOBS = "/v1/jobs/{task}"
REPO = Path(__file__).resolve().parents[2]


async def post_job(
    http: aiohttp.ClientSession, server: Server, task: str, body: Any, **kwargs: Any
) -> tuple[int, Any, aiohttp.ClientResponse]:
    """POST a job; (status, events or error body, response)."""
    async with http.post(f"{server.url}/v1/jobs/{task}", json=body, **kwargs) as response:
        text = await response.text()
        if response.status == 200:
            assert response.headers["Content-Type"] == "application/x-ndjson"
            events = ndjson(text)
            for event in events:
                check_against_openapi(JOBS, "post", 200, event, "application/x-ndjson")
            return 200, events, response
        body = await response.json()
        check_against_openapi(JOBS, "post", response.status, body)
        return response.status, body, response


@pytest.mark.parametrize("task", list(TASKS))
async def test_every_task_streams_its_events_and_result(start_server, http, task) -> None:
    assert set(TASK_INPUTS) == set(TASKS)
    server = await start_server()
    status, events, _ = await post_job(http, server, task, {**TASK_INPUTS[task], "user": "u1"})

    assert status == 200
    kinds = [event["event"] for event in events]
    assert kinds[0] == "queued" and len(events[0]["id"]) >= 8
    assert "id" not in events[1]
    assert set(kinds[1:-1]) <= {"queued", "loading", "running", "progress"}
    assert "running" in kinds
    assert kinds[-1] == "result"
    result = events[-1]["result"]
    if task in ("imagine", "speak"):
        attachment = result["attachment"]
        data = base64.b64decode(attachment["data_base64"])
        magic = {"imagine": (b"\x89PNG", "image/png"), "speak": (b"RIFF", "audio/x-wav")}[task]
        assert data.startswith(magic[0])
        assert attachment["content_type"] == magic[1]
        assert attachment["filename"].endswith((".png", ".wav"))
        # the result as the in-process service gives it, bytes moved to the attachment
        assert {k: v for k, v in result.items() if k != "attachment"}.keys() >= {"model"}
    if task == "imagine":
        assert [e["done"] for e in events if e["event"] == "progress"][-1] == 2


async def test_queue_positions_are_streamed_as_they_change(start_server, http, gate) -> None:
    server = await start_server(task_limits={"sentiment": {"max_batch_size": 1}})
    await hold(server, "sentiment", gate)
    url = f"{server.url}/v1/jobs/sentiment"
    try:
        first = await http.post(url, json={"text": "one", "user": "a"})
        assert (await first.content.readline()).startswith(b'{"event":"queued"')
        await asyncio.to_thread(gate.entered.wait, 10)  # the first one runs, held
        second = await http.post(url, json={"text": "two", "user": "b"})
        third = await http.post(url, json={"text": "three", "user": "c"})
        assert ndjson(await third.content.readline())[0]["position"] == 1
        gate.opened.set()
        events = ndjson(await third.text())
        assert events[0] == {"event": "queued", "position": 0}  # moved up: 1 -> 0
        assert events[-1]["event"] == "result"
        assert ndjson(await second.text())[-1]["event"] == "result"
        first.close()
    finally:
        gate.opened.set()


# -- errors before a job exists ------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "body", "status", "error_type", "words"),
    [
        ("sentiment", {"text": "  "}, 400, "InvalidInput", "empty"),
        ("sentiment", {"text": "hi", "colour": "red"}, 400, "InvalidInput", "colour"),
        ("sentiment", {"text": "hi", "task": "ner"}, 400, "InvalidInput", "task"),
        ("sentiment", {"text": "hi", "user": 12}, 400, "InvalidInput", "user"),
        ("sentiment", ["not", "an", "object"], 400, "InvalidInput", "JSON object"),
        ("translate", {"text": "hi", "target": "xx-nowhere"}, 400, "InvalidInput", "language"),
        ("teleport", {"text": "hi"}, 404, "UnknownTask", "teleport"),
    ],
)
async def test_bad_requests_get_json_errors(
    start_server, http, task, body, status, error_type, words
) -> None:
    server = await start_server()
    got, error, _ = await post_job(http, server, task, body)
    assert got == status
    assert error["error"]["type"] == error_type
    assert words.lower() in error["error"]["message"].lower()


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe\x00", b'{"text": "a"'])
async def test_malformed_json_is_a_400(start_server, http, raw) -> None:
    server = await start_server()
    async with http.post(f"{server.url}/v1/jobs/sentiment", data=raw) as response:
        body = await response.json()
    assert response.status == 400
    check_against_openapi(JOBS, "post", 400, body)
    assert body["error"] == {
        "type": "InvalidInput",
        "message": "The request body is not valid JSON.",
    }


async def test_unknown_routes_and_methods_answer_json(start_server, http) -> None:
    server = await start_server()
    async with http.get(f"{server.url}/v1/nothing") as response:
        assert response.status == 404
        assert (await response.json())["error"]["type"] == "NotFound"
    async with http.get(f"{server.url}/v1/jobs/sentiment") as response:
        assert response.status == 405
        assert (await response.json())["error"]["type"] == "MethodNotAllowed"


async def test_a_huge_body_is_refused_with_413_and_the_server_keeps_serving(
    start_server, http
) -> None:
    server = await start_server(server_max_body_mb=0.05)
    huge = {"text": "word " * 200_000}  # ~1 MB of JSON

    async with http.post(f"{server.url}/v1/jobs/sentiment", json=huge) as response:
        body = await response.json()
    assert response.status == 413
    check_against_openapi(JOBS, "post", 413, body)
    assert "0.05 MB" in body["error"]["message"]

    async def chunks():  # no Content-Length: the limit holds while reading
        for _ in range(40):
            yield b"x" * 32_768

    async with http.post(f"{server.url}/v1/jobs/sentiment", data=chunks()) as response:
        assert response.status == 413
        assert (await response.json())["error"]["type"] == "InvalidInput"

    status, events, _ = await post_job(http, server, "sentiment", {"text": "still here"})
    assert status == 200 and events[-1]["event"] == "result"


async def test_busy_is_a_429_with_retry_after(start_server, http, gate) -> None:
    server = await start_server(max_per_user=1)
    await hold(server, "sentiment", gate)
    try:
        url = f"{server.url}/v1/jobs/sentiment"
        running = await http.post(url, json={"text": "a", "user": "u"})
        await running.content.readline()
        status, body, response = await post_job(
            http, server, "sentiment", {"text": "b", "user": "u"}
        )
        assert status == 429
        assert body["error"]["type"] == "Busy" and body["error"]["retry_after"] > 0
        assert int(response.headers["Retry-After"]) >= 1
        # someone else is still served
        other = await http.post(url, json={"text": "c", "user": "v"})
        gate.opened.set()
        assert ndjson(await other.text())[-1]["event"] == "result"
        running.close()
    finally:
        gate.opened.set()


async def test_a_model_that_cannot_load_fails_the_job_then_answers_503(
    start_server, http, tmp_path
) -> None:
    server = await start_server(sentiment_model=str(tmp_path / "missing-model"))
    english = {"text": "hi", "language": "en"}  # English reads with SENTIMENT_MODEL

    status, events, _ = await post_job(http, server, "sentiment", english)
    assert status == 200
    assert events[-1]["event"] == "error"
    assert events[-1]["error"]["type"] == "ModelUnavailable"
    assert str(tmp_path) not in events[-1]["error"]["message"]  # no paths leave the server

    status, body, _ = await post_job(http, server, "sentiment", english)
    assert status == 503
    assert body["error"]["type"] == "ModelUnavailable"
    assert "missing-model" in body["error"]["message"]
    assert str(tmp_path) not in body["error"]["message"]
    # other tasks are unaffected
    status, events, _ = await post_job(http, server, "ner", {"text": "Alice"})
    assert status == 200 and events[-1]["event"] == "result"


# -- auth ---------------------------------------------------------------------------------


async def test_a_key_is_required_when_set(start_server, http) -> None:
    server = await start_server(inference_api_key="s3cret-key")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-key"}):
        status, body, response = await post_job(
            http, server, "sentiment", {"text": "hi"}, headers=headers
        )
        assert status == 401, headers
        assert body["error"]["type"] == "Unauthorized"
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert "s3cret" not in str(body)
    for path in ("/metrics", "/v1/tasks", "/v1/status"):
        async with http.get(server.url + path) as response:
            assert response.status == 401, path
    for path in ("/healthz", "/readyz"):  # probes need no key
        async with http.get(server.url + path) as response:
            assert response.status == 200, path

    authorized = {"Authorization": "Bearer s3cret-key"}
    status, events, _ = await post_job(
        http, server, "sentiment", {"text": "hi"}, headers=authorized
    )
    assert status == 200 and events[-1]["event"] == "result"


def test_the_server_refuses_to_listen_beyond_loopback_without_a_key(capsys) -> None:
    from inference import InferenceSettings

    no_key = InferenceSettings(_env_file=None)
    with_key = InferenceSettings(_env_file=None, inference_api_key="k")
    for host in ("0.0.0.0", "::", "192.168.1.5", "bot.example.org", ""):
        with pytest.raises(ExposedWithoutKey):
            check_exposure(host, no_key)
        check_exposure(host, with_key)
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_exposure(host, no_key)
    assert cli_main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2


# -- cancelling -------------------------------------------------------------------------------


async def test_closing_the_connection_cancels_a_running_and_a_queued_job(
    start_server, http, gate
) -> None:
    server = await start_server()
    await hold(server, "sentiment", gate)
    url = f"{server.url}/v1/jobs/sentiment"
    try:
        running = await http.post(url, json={"text": "one", "user": "a"})
        running_job = server.service.job(ndjson(await running.content.readline())[0]["id"])
        await asyncio.to_thread(gate.entered.wait, 10)
        queued = await http.post(url, json={"text": "two", "user": "b"})
        queued_job = server.service.job(ndjson(await queued.content.readline())[0]["id"])
        assert queued_job.state is JobState.QUEUED

        queued.close()  # a silent wait in the queue: only the hang-up tells
        await wait_for(lambda: queued_job.state is JobState.CANCELLED)
        running.close()
        await wait_for(lambda: running_job.state is JobState.CANCELLED)
        assert server.service.status().queued["sentiment"] == 0
    finally:
        gate.opened.set()


async def test_delete_cancels_a_job_and_its_stream_says_so(start_server, http, gate) -> None:
    server = await start_server()
    await hold(server, "sentiment", gate)
    try:
        stream = await http.post(f"{server.url}/v1/jobs/sentiment", json={"text": "one"})
        job_id = ndjson(await stream.content.readline())[0]["id"]
        async with http.delete(f"{server.url}/v1/jobs/{job_id}") as response:
            body = await response.json()
        assert response.status == 200
        check_against_openapi("/v1/jobs/{id}", "delete", 200, body)
        assert body == {"id": job_id, "cancelled": True}
        events = ndjson(await stream.text())
        assert events[-1] == {"event": "cancelled", "message": "The request was cancelled."}

        async with http.delete(f"{server.url}/v1/jobs/{job_id}") as response:
            assert response.status == 404
            check_against_openapi("/v1/jobs/{id}", "delete", 404, await response.json())
    finally:
        gate.opened.set()


async def test_a_slow_client_that_reads_late_gets_everything(start_server, http) -> None:
    server = await start_server()
    # a result of megabytes: more than the socket buffers hold while nobody reads
    body = {"prompt": "a fox", "steps": 2, "seed": 7, "size": "768x768"}
    async with http.post(f"{server.url}/v1/jobs/imagine", json=body) as response:
        job_id = ndjson(await response.content.readline())[0]["id"]
        job = server.service.job(job_id)
        await wait_for(lambda: job.done, timeout=60)  # the whole job ran before we read on
        await asyncio.sleep(0.5)
        data = b""
        while chunk := await response.content.read(256 * 1024):  # then a trickle
            data += chunk
            await asyncio.sleep(0.01)
    events = ndjson(data)
    assert [e["done"] for e in events if e["event"] == "progress"][-1] == 2
    result = events[-1]["result"]
    assert events[-1]["event"] == "result" and result["size"] == "768x768"
    png = base64.b64decode(result["attachment"]["data_base64"])
    assert png.startswith(b"\x89PNG")
    assert len(data) > 1_000_000, len(data)


# -- the other endpoints ---------------------------------------------------------------------


async def test_tasks_health_readiness_and_status(start_server, http) -> None:
    server = await start_server(preload="sentiment")
    async with http.get(f"{server.url}/healthz") as response:
        assert response.status == 200
        check_against_openapi("/healthz", "get", 200, await response.json())
    # "starting" until PRELOAD has loaded and the service has settled, then ready
    for _ in range(200):
        async with http.get(f"{server.url}/readyz") as response:
            body = await response.json()
        if response.status == 200:
            break
        assert body == {"ready": False, "reason": "starting"}
        await asyncio.sleep(0.05)
    assert response.status == 200, body
    check_against_openapi("/readyz", "get", 200, body)
    assert any(name.startswith("sentiment") for name in body["loaded_models"])

    async with http.get(f"{server.url}/v1/tasks") as response:
        body = await response.json()
    check_against_openapi("/v1/tasks", "get", 200, body)
    by_name = {task["name"]: task for task in body["tasks"]}
    assert list(by_name) == list(TASKS)
    assert by_name["qa"]["main_input"] == "question"
    assert by_name["qa"]["options"] == ["question", "context"]
    assert by_name["sentiment"]["model"] == "sentiment"  # the directory's name, no path

    async with http.get(f"{server.url}/v1/status") as response:
        body = await response.json()
    check_against_openapi("/v1/status", "get", 200, body)


async def test_metrics_count_jobs_errors_and_queues(start_server, http) -> None:
    server = await start_server()

    def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    async def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        async with http.get(f"{server.url}/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            return samples(await response.text())

    before = await scrape()
    await post_job(http, server, "sentiment", {"text": "hi"})
    await post_job(http, server, "sentiment", {"text": ""})
    after = await scrape()

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("inference_job_seconds_count", task="sentiment", outcome="result") == 1
    assert grew("inference_errors_total", type="InvalidInput") == 1
    assert grew("inference_batch_size_count", task="sentiment") == 1  # the one batch it ran
    assert grew("inference_model_loads_total", task="sentiment") == 1  # loaded by the first job
    assert after[("inference_queue_depth", (("task", "sentiment"),))] == 0
    names = {name for name, _ in after}
    for family in (
        "inference_memory_used_bytes",
        "inference_memory_budget_bytes",
        "inference_running_jobs",
    ):
        assert family in names
    text = (await (await http.get(f"{server.url}/metrics")).read()).decode()
    for documented in ("inference_batch_size", "inference_model_loads", "inference_model_unloads"):
        assert f"# TYPE {documented}" in text


async def test_python_m_inference_serve_answers_and_stops_on_sigterm(
    tiny_models, http, unused_tcp_port
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "SENTIMENT_MODEL": str(tiny_models["sentiment"]),
        "SENTIMENT_MODELS": json.dumps({"*": str(tiny_models["sentiment"])}),
        "PRELOAD": "sentiment",
    }
    server = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "inference", "serve", "--port", str(unused_tcp_port)),
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{unused_tcp_port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.returncode is None and time.monotonic() < deadline
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{url}/readyz") as response:
                    if response.status == 200:
                        break
            await asyncio.sleep(0.2)
        async with http.post(f"{url}/v1/jobs/sentiment", json={"text": "I love it"}) as response:
            events = ndjson(await response.read())
        assert events[-1]["event"] == "result"
        server.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(server.wait(), 30) == 0
        log = (await server.stderr.read()).decode()
        assert f"serving the inference API on http://127.0.0.1:{unused_tcp_port}" in log
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
