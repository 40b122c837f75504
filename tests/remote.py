"""Helpers for tests of the HTTP server and its clients: a real server on 127.0.0.1,
its OpenAPI document, and a TCP proxy that can cut the line like a server going away."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import yaml
from aiohttp import web

from inference import InferenceService, InferenceSettings
from inference.server import create_app, start_site

if TYPE_CHECKING:
    from tests.bot.conftest import ModelGate

OPENAPI = Path(__file__).resolve().parents[1] / "inference" / "openapi.yaml"

#: Inputs every tiny model can answer, as a client would send them.
TASK_INPUTS: dict[str, dict[str, Any]] = {
    "sentiment": {"text": "I love it", "top_k": 2},
    "ner": {"text": "Alice lives in Paris."},
    "qa": {"question": "Where does Alice live?", "context": "Alice lives in Paris."},
    "summarize": {"text": "The cat sat on the mat. It was a sunny day. " * 3, "length": "short"},
    "translate": {"text": "Hello there.", "target": "fr"},
    "classify": {"text": "I love football", "labels": ["sports", "politics"]},
    "generate": {"prompt": "Hi", "max_tokens": 5, "temperature": 0},
    "imagine": {"prompt": "a fox", "steps": 2, "seed": 1},
    "speak": {"text": "Hello there."},
    "story": {
        "premise": "A fox finds a key.",
        "turns": [{"text": "The key was warm.", "model": False}],
        "max_tokens": 5,
        "temperature": 0,
    },
    "embed": {"texts": ["My car is red.", "Kettles boil water."], "kind": "passage"},
    "ask": {
        "question": "Where does Alice live?",
        "passages": [{"document": "a.txt", "text": "Alice lives in Paris.", "score": 0.5}],
    },
}


@dataclass
class Server:
    url: str
    service: InferenceService
    settings: InferenceSettings
    runner: web.AppRunner


@contextlib.asynccontextmanager
async def running_server(settings: InferenceSettings) -> AsyncIterator[Server]:
    """``python -m inference serve`` in this process: the in-process service behind the
    real app, on a free port of 127.0.0.1. Stopping it closes the service."""
    service = InferenceService(settings)
    runner, port = await start_site(create_app(service, settings), "127.0.0.1", 0)
    try:
        yield Server(f"http://127.0.0.1:{port}", service, settings, runner)
    finally:
        await runner.cleanup()


async def hold(server: Server, task: str, gate: ModelGate) -> None:
    """Load ``task``'s model and hold its forward passes at ``gate`` (closed)."""
    gate.opened.clear()
    await server.service.preload([task])
    for loaded in server.service.loaded_models(task):
        loaded.model.register_forward_pre_hook(gate.hook)


async def wait_for(predicate, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


# -- the OpenAPI document ------------------------------------------------------------------


@cache
def openapi() -> dict[str, Any]:
    return yaml.safe_load(OPENAPI.read_text())


def check_against_openapi(
    path: str, method: str, status: int, body: Any, content_type: str = "application/json"
) -> None:
    """Validate ``body`` (one NDJSON event for a stream) against the documented answer."""
    doc = openapi()
    answer = doc["paths"][path][method]["responses"][str(status)]
    if "$ref" in answer:
        answer = doc["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    schema = answer["content"][content_type]["schema"]
    jsonschema.Draft202012Validator(
        {**schema, "components": doc["components"]},
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    ).validate(body)


def ndjson(text: str | bytes) -> list[dict[str, Any]]:
    lines = text.decode() if isinstance(text, bytes) else text
    return [json.loads(line) for line in lines.splitlines() if line.strip()]


# -- a line that can be cut -------------------------------------------------------------------


class Proxy:
    """A TCP proxy on 127.0.0.1 in front of ``target_port``. ``cut()`` drops every
    connection and stops listening (the server is gone); ``restore()`` listens again on
    the same port (it is back)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, up_writer}
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def __aenter__(self) -> Proxy:
        await self.restore()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        with contextlib.suppress(Exception):
            await self.cut()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()
