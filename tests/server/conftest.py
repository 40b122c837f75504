"""A real inference server on 127.0.0.1 with the tiny models, and clients of it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from inference import InferenceSettings
from tests.bot.conftest import ModelGate, tiny_model_settings
from tests.remote import Server, running_server

ServerFactory = Callable[..., Awaitable[Server]]


def server_settings(tiny_models: dict[str, Path], **overrides: Any) -> InferenceSettings:
    values: dict[str, Any] = {"max_wait_ms": 1, **tiny_model_settings(tiny_models)}
    return InferenceSettings(_env_file=None, **{**values, **overrides})


@pytest_asyncio.fixture
async def start_server(tiny_models: dict[str, Path]) -> AsyncIterator[ServerFactory]:
    """``await start_server(**settings)``: a server of the in-process service."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(**overrides: Any) -> Server:
            settings = server_settings(tiny_models, **overrides)
            return await stack.enter_async_context(running_server(settings))

        yield start


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def gate() -> ModelGate:
    """A model gate, open until a test holds a model with it."""
    gate = ModelGate()
    gate.opened.set()
    return gate
