"""The real bot, with tiny models, connected to the fake Discord.

Every test that starts a bot runs twice: with the models in the bot's process
("in-process"), and with them behind a real inference server on 127.0.0.1 that the bot
reaches through INFERENCE_URL ("remote")."""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.client import PipelineBot, create_bot
from bot.settings import BotSettings
from inference import InferenceService
from tests.fakediscord import FakeDiscord
from tests.remote import running_server

BotFactory = Callable[..., Awaitable[PipelineBot]]


def tiny_model_settings(tiny_models: dict[str, Path]) -> dict[str, Any]:
    """``<task>_model`` settings pointing at the tiny models that exist for each task."""
    names = {
        "sentiment": "sentiment",
        "ner": "ner",
        "qa": "qa",
        "summarize": "summarize",
        "classify": "classify",
        "speak": "speak",
        "imagine": "imagine",
        "generate": "generate",  # the tiny GPT-2; tests of chat models pass "chat"
        "story": "chat",  # a chat model, as the default SmolLM2-Instruct is
        "embed": "embed",  # (ask reads with the qa model)
    }
    settings: dict[str, Any] = {
        f"{task}_model": str(tiny_models[key]) for task, key in names.items()
    }
    settings["translate_model"] = f"{tiny_models['translate']}/opus-mt-{{src}}-{{tgt}}"
    # every language reads the tiny model (the defaults for Korean and the rest are Hub ids)
    tiny = settings["sentiment_model"]
    settings["sentiment_models"] = {"ko": tiny, "*": tiny}
    return settings


#: The service that runs the models of each bot: its own, or its inference server's.
_ENGINES: weakref.WeakKeyDictionary[PipelineBot, InferenceService] = weakref.WeakKeyDictionary()


def engine(bot: PipelineBot) -> InferenceService:
    """The in-process service that runs ``bot``'s models, wherever it lives (for tests
    that reach into the models)."""
    return _ENGINES[bot]


@pytest.fixture(params=["in-process", "remote"])
def inference_mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest_asyncio.fixture
async def start_bot(
    fake_discord: FakeDiscord,
    tiny_models: dict[str, Path],
    inference_mode: str,
    tmp_path: Path,
) -> AsyncIterator[BotFactory]:
    """``await start_bot(**settings)`` starts a PipelineBot against the fake Discord;
    commands are synced to the fake guild, as with DEV_GUILD_ID. Its store is a fresh
    SQLite file under the test's ``tmp_path`` (bots started again share it). In "remote"
    mode the settings also start an inference server, and the bot gets its INFERENCE_URL."""
    async with contextlib.AsyncExitStack() as servers:

        async def start(**overrides: Any) -> PipelineBot:
            values: dict[str, Any] = {
                "discord_token": "fake-token",
                "dev_guild_id": fake_discord.guild.id,
                "max_wait_ms": 1,
                "data_dir": tmp_path / "data",
                **tiny_model_settings(tiny_models),
            }
            values.update(overrides)
            settings = BotSettings(_env_file=None, **values)
            if inference_mode == "remote":
                server = await servers.enter_async_context(running_server(settings))
                settings = settings.model_copy(update={"inference_url": server.url})
                bot = create_bot(settings, guild_ready_timeout=0.05)
                _ENGINES[bot] = server.service
            else:
                service = InferenceService(settings)
                bot = create_bot(settings, service=service, guild_ready_timeout=0.05)
                _ENGINES[bot] = service
            await fake_discord.connect(bot, token=settings.discord_token.get_secret_value())
            return bot

        yield start


class ModelGate:
    """Holds a loaded model's forward pass until opened: a slow or stuck model, for tests
    of waiting users. It wraps the model (a torch forward hook), not our code."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.entered = threading.Event()
        self.delay = 0.0
        self.fail_next: BaseException | None = None

    def hook(self, module: Any, args: Any) -> None:
        self.entered.set()
        time.sleep(self.delay)
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        assert self.opened.wait(20), "the test never opened the gate"


@pytest.fixture
def gate() -> ModelGate:
    gate = ModelGate()
    gate.opened.set()
    return gate


async def install_gate(bot: PipelineBot, task: str, gate: ModelGate) -> None:
    """Load ``task``'s model now and hold its forward passes at ``gate``."""
    await engine(bot).preload([task])
    for loaded in engine(bot).loaded_models(task):
        loaded.model.register_forward_pre_hook(gate.hook)


async def final_message(inter: Any, timeout: float = 20) -> Any:
    """The interaction's original response once it holds a result (embeds or files), not
    just a progress line."""
    await inter.wait_until(
        lambda i: i.original is not None and (i.original.embeds or i.original.files),
        timeout,
    )
    return inter.original


async def reply_to_click(
    click: Any,
    clicked: Any,
    ready: Callable[[Any], object] = lambda message: message.embeds,
    timeout: float = 20,
) -> Any:
    """The message a button click made (its own, not the message clicked), once
    ``ready`` (default: it has embeds) holds for it."""
    await click.wait_until(
        lambda i: i.original is not clicked and i.original is not None and ready(i.original),
        timeout,
    )
    return click.original
