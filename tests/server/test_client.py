"""``RemoteService``: the same job handles, typed results and typed errors as the
in-process service, over a real HTTP server; and a server that goes away."""

from __future__ import annotations

import asyncio
import logging

import pytest

from inference import (
    Backend,
    Busy,
    InvalidInput,
    JobCancelled,
    JobHandle,
    JobState,
    ModelUnavailable,
    UnknownTask,
)
from inference.client import RemoteService
from inference.errors import InferenceError, InternalError, Unreachable
from inference.tasks import TASKS
from inference.wire import error_from_dict, error_to_dict
from tests.remote import TASK_INPUTS, Proxy, hold, wait_for


@pytest.mark.parametrize("task", list(TASKS))
async def test_every_task_gives_the_same_typed_result_as_in_process(start_server, task) -> None:
    server = await start_server()
    async with RemoteService(server.url, server.settings) as remote:
        assert isinstance(remote, Backend)
        got = await remote.run(task, **TASK_INPUTS[task])
    expected = await server.service.run(task, **TASK_INPUTS[task])

    assert type(got) is type(expected)
    if task == "imagine":  # seconds differ from run to run; all else is the same
        got.seconds = expected.seconds
    assert got == expected
    assert got.attachment() == expected.attachment()  # PNG and WAV bytes included


async def test_bad_input_and_unknown_tasks_fail_at_submit_without_a_request(start_server) -> None:
    server = await start_server()
    async with RemoteService(server.url, server.settings) as remote:
        with pytest.raises(InvalidInput, match="empty"):
            remote.submit("sentiment", text="   ")
        with pytest.raises(UnknownTask):
            remote.submit("teleport", text="hi")
        # autocomplete and cogs read task objects: built here, no model loaded
        assert remote.task("translate").name == "translate"
    assert server.service.loaded_models("sentiment") == []


async def test_position_progress_updates_and_result(start_server, gate) -> None:
    server = await start_server(task_limits={"sentiment": {"max_batch_size": 1}})
    await hold(server, "sentiment", gate)
    async with RemoteService(server.url, server.settings) as remote:
        try:
            first = remote.submit("sentiment", user=1, text="one")
            await asyncio.to_thread(gate.entered.wait, 10)
            second = remote.submit("sentiment", user=2, text="two")
            assert isinstance(second, JobHandle)
            await wait_for(lambda: second.position == 0)
            assert second.snapshot().state is JobState.QUEUED
            states = []

            async def follow() -> None:
                async for update in second.updates():
                    states.append(update.state)

            follower = asyncio.create_task(follow())
            await asyncio.sleep(0.05)
            gate.opened.set()
            result = await second.result()
            await follower
        finally:
            gate.opened.set()
        assert (await first.result()).label in ("negative", "neutral", "positive")
        assert result.label in ("negative", "neutral", "positive")
        assert states[0] is JobState.QUEUED and states[-1] is JobState.DONE
        assert JobState.RUNNING in states
        assert second.done and second.position is None
        assert remote.job(second.id) is None  # finished jobs are forgotten

        image = remote.submit("imagine", prompt="a fox", steps=3, seed=1)
        await image.result()
        assert image.progress == (3, 3)


async def test_typed_errors_come_back_typed(start_server, gate, tmp_path) -> None:
    server = await start_server(max_per_user=1, ner_model=str(tmp_path / "gone"))
    await hold(server, "sentiment", gate)
    async with RemoteService(server.url, server.settings) as remote:
        try:
            held = remote.submit("sentiment", user=7, text="one")
            await asyncio.to_thread(gate.entered.wait, 10)
            with pytest.raises(Busy) as busy:
                await remote.run("sentiment", user=7, text="two")
            assert busy.value.retry_after > 0
        finally:
            gate.opened.set()
        await held.result()

        for _ in range(2):  # an error event, then a 503 while the failure is remembered
            with pytest.raises(ModelUnavailable, match="gone") as unavailable:
                await remote.run("ner", text="Alice")
            assert str(tmp_path) not in str(unavailable.value)
            assert not unavailable.value.user_fixable


async def test_a_wrong_key_is_an_operator_error_and_the_right_one_works(start_server) -> None:
    server = await start_server(inference_api_key="right")
    async with RemoteService(server.url, server.settings, api_key="wrong") as remote:
        with pytest.raises(InternalError, match="API key") as error:
            await remote.run("sentiment", text="hi")  # logged, and the user gets an apology
        assert not isinstance(error.value, InferenceError)
    async with RemoteService(server.url, server.settings) as remote:  # INFERENCE_API_KEY
        assert (await remote.run("sentiment", text="hi")).label


async def test_cancel_stops_the_job_on_the_server(start_server, gate) -> None:
    server = await start_server()
    await hold(server, "sentiment", gate)
    async with RemoteService(server.url, server.settings) as remote:
        try:
            job = remote.submit("sentiment", text="one")
            await asyncio.to_thread(gate.entered.wait, 10)
            await wait_for(lambda: job.remote_id is not None)
            on_server = server.service.job(job.remote_id)
            assert remote.job(job.id) is job

            assert job.cancel() is True
            assert job.cancel() is False
            with pytest.raises(JobCancelled):
                await job.result()
            await wait_for(lambda: on_server.state is JobState.CANCELLED)
            assert remote.job(job.id) is None
        finally:
            gate.opened.set()


async def test_a_server_that_goes_away_mid_job_then_comes_back(start_server, gate, caplog) -> None:
    server = await start_server()
    await hold(server, "sentiment", gate)
    port = int(server.url.rsplit(":", 1)[1])
    async with Proxy(port) as line, RemoteService(line.url, server.settings) as remote:
        try:
            job = remote.submit("sentiment", text="one")
            await asyncio.to_thread(gate.entered.wait, 10)
            with caplog.at_level(logging.WARNING, logger="inference.client"):
                await line.cut()
                with pytest.raises(Unreachable) as error:
                    await job.result()
                assert str(error.value) == "The inference server is unreachable."
                with pytest.raises(Unreachable):  # still gone: refused at once
                    await asyncio.wait_for(remote.run("sentiment", text="two"), 15)
            assert any("unreachable" in r.getMessage() for r in caplog.records)
            assert all("Bearer" not in r.getMessage() for r in caplog.records)
        finally:
            gate.opened.set()

        await line.restore()
        assert (await remote.run("sentiment", text="back again")).label


def test_errors_travel_as_type_and_message() -> None:
    busy = error_from_dict(error_to_dict(Busy("Full.", retry_after=12.5)))
    assert isinstance(busy, Busy) and busy.retry_after == 12.5 and str(busy) == "Full."
    unavailable = error_from_dict({"type": "ModelUnavailable", "message": "No model."})
    assert isinstance(unavailable, ModelUnavailable) and str(unavailable) == "No model."
    newer = error_from_dict({"type": "SomethingNew", "message": "Hm."})
    assert isinstance(newer, InternalError) and str(newer) == "Hm."
    assert isinstance(error_from_dict("garbage"), InternalError)
    # a bug on the server never shows its details
    assert error_to_dict(KeyError("/secret/path")) == {
        "type": "InternalError",
        "message": "Something went wrong on the inference server.",
    }
