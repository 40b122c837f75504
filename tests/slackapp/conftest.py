"""The real Slack app (Bolt over Socket Mode), with tiny models, against the fake Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest_asyncio

from inference import InferenceService
from slackapp.app import SlackBot
from slackapp.settings import SlackSettings
from store import Store
from tests.bot.conftest import gate, tiny_model_settings  # noqa: F401  (gate: a fixture)
from tests.fakeslack import FakeSlack
from tests.fakeslack.fixtures import fake_slack  # noqa: F401  (the fixture, for this directory)

AppFactory = Callable[..., Awaitable[SlackBot]]
CHANNEL, ALICE, BOB = "C0CHAN0001", "U0USER0001", "U0USER0002"


class Running:
    """The apps a test started, each with its store; ``stop`` one as SIGTERM does."""

    def __init__(self) -> None:
        self.apps: dict[SlackBot, Store] = {}

    async def stop(self, bot: SlackBot) -> None:
        store = self.apps.pop(bot, None)
        if store is not None:
            await bot.close()
            await store.close()


@pytest_asyncio.fixture
async def running() -> AsyncIterator[Running]:
    apps = Running()
    yield apps
    for bot in list(apps.apps):
        await apps.stop(bot)


@pytest_asyncio.fixture
async def start_app(
    fake_slack: FakeSlack,  # noqa: F811
    tiny_models: dict[str, Path],
    tmp_path: Path,
    running: Running,
) -> AsyncIterator[AppFactory]:
    """``await start_app(**settings)`` starts a SlackBot connected to the fake Slack, its
    store under the test's ``tmp_path`` (apps started again share it)."""

    async def start(**overrides: Any) -> SlackBot:
        values: dict[str, Any] = {
            "slack_bot_token": fake_slack.bot_token,
            "slack_app_token": fake_slack.app_token,
            "slack_api_url": fake_slack.api_url,
            "max_wait_ms": 1,
            "data_dir": tmp_path / "data",
            "imagine_nsfw_policy": "anywhere",
            **tiny_model_settings(tiny_models),
        }
        values.update(overrides)
        settings = SlackSettings(_env_file=None, **values)
        bot = SlackBot(settings, service=InferenceService(settings))
        store = await Store.open(settings.data_dir)
        running.apps[bot] = store
        live = len(fake_slack.socket.live)
        await bot.start(store)
        await fake_slack.wait_for(lambda: len(fake_slack.socket.live) > live)
        return bot

    yield start


def at_least(items: list, count: int) -> list | None:
    """``items`` once there are ``count`` of them (a ``wait_for`` predicate)."""
    return items if len(items) >= count else None


def texts(message: Any) -> str:
    """Every text of a fake Slack message: its text and its blocks' texts."""
    parts = [message.text or ""]
    for block in message.blocks or []:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(text.get("text", ""))
        for item in [*(block.get("fields") or []), *(block.get("elements") or [])]:
            if isinstance(item, dict) and isinstance(item.get("text"), (str, dict)):
                inner = item["text"]
                parts.append(inner if isinstance(inner, str) else inner.get("text", ""))
    return "\n".join(parts)


def all_texts(messages: list) -> str:
    """Every text of ``messages`` (a thread's replies, say), one after the other."""
    return "\n".join(texts(message) for message in messages)


async def answer(fake: FakeSlack, placeholder_count: int = 0, timeout: float = 30) -> tuple:
    """The app's newest top-level message in CHANNEL once its thread holds a reply:
    (placeholder, replies)."""

    def done() -> tuple | None:
        tops = [m for m in fake.messages(CHANNEL) if m.bot_id and not m.thread_ts]
        if len(tops) <= placeholder_count:
            return None
        top = tops[placeholder_count]
        replies = fake.thread(CHANNEL, top.ts)
        return (top, replies) if replies and "Done" in texts(top) else None

    return await fake.wait_for(done, timeout)
