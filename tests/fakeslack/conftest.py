"""The fake Slack's fixture, and the tiny bolt app connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from tests.fakeslack import FakeSlack
from tests.fakeslack.fixtures import fake_slack  # noqa: F401  (the fixture, for this directory)
from tests.fakeslack.tinyapp import tiny_app


@pytest_asyncio.fixture
async def running(
    fake_slack: FakeSlack,  # noqa: F811  (the fixture imported above)
) -> AsyncIterator[tuple[FakeSlack, list[dict[str, Any]], AsyncSocketModeHandler]]:
    """The tiny bolt app connected over Socket Mode (pings every second)."""
    seen: list[dict[str, Any]] = []
    app = tiny_app(fake_slack, seen)
    handler = AsyncSocketModeHandler(
        app, fake_slack.app_token, web_client=app.client, ping_interval=1
    )
    await handler.connect_async()
    await fake_slack.wait_for(lambda: fake_slack.socket.live)
    try:
        yield fake_slack, seen, handler
    finally:
        await handler.close_async()
