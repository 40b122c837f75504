"""pytest fixtures for the fake Discord.

Register them with ``pytest_plugins = ["tests.fakediscord.fixtures"]`` in ``tests/conftest.py``.

``fake_discord`` yields a started :class:`FakeDiscord` with discord.py pointed at it.
At teardown it closes any bot connected with ``fake.connect(bot)`` and fails the test if
a request broke Discord's OpenAPI schema (``fake.violations``) or was refused by a Discord
rule (``fake.rejections``: limits, 3 s deadline, expired token, unknown route). A test that
provokes refusals on purpose asserts on ``fake.take_rejections()`` (which clears them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest
import pytest_asyncio
import yarl

from .server import FakeDiscord


@pytest_asyncio.fixture
async def fake_discord(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """A started fake Discord; ``discord.http.Route.BASE`` and ``DEFAULT_GATEWAY`` point at it."""
    fake = FakeDiscord()
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url)
    )
    try:
        yield fake
    finally:
        await fake.close()
    assert not fake.violations, "requests that break Discord's OpenAPI schema:\n" + "\n".join(
        fake.violations
    )
    assert not fake.rejections, "requests Discord would refuse:\n" + "\n".join(
        map(repr, fake.rejections)
    )
