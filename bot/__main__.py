"""``python -m bot``: start the bot with the settings from the environment and ``.env``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys

import aiohttp
import discord
from dotenv import load_dotenv
from pydantic import ValidationError

from store import Store, StoreError

from .client import PipelineBot, create_bot
from .settings import BotSettings

log = logging.getLogger("bot")

NO_TOKEN = (
    "DISCORD_TOKEN is not set: create an application at "
    "https://discord.com/developers/applications, copy the token from its Bot page, "
    "and put DISCORD_TOKEN=... in .env (see README.md)."
)
NO_DATABASE_URL = (
    "DATABASE_URL is not supported yet: unset it, and the bot keeps its state in SQLite "
    "under DATA_DIR (see README.md, Restarts and the store)."
)


def main() -> int:
    load_dotenv()
    try:
        settings = BotSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = f" {first['loc'][0]}" if first["loc"] else ""
        print(f"error: bad setting{where}: {first['msg']}", file=sys.stderr)
        return 2
    if settings.discord_token is None:
        print(f"error: {NO_TOKEN}", file=sys.stderr)
        return 2
    if os.environ.get("DATABASE_URL"):
        print(f"error: {NO_DATABASE_URL}", file=sys.stderr)
        return 2
    discord.utils.setup_logging(level=logging.getLevelName(settings.log_level.upper()))
    try:
        asyncio.run(_serve(settings))
    except StoreError as exc:
        log.error("Cannot start: %s", exc)
        return 2
    except discord.LoginFailure:
        log.error("Discord refused the token: check DISCORD_TOKEN.")
        return 2
    except aiohttp.ClientConnectionError as exc:
        log.error("Cannot reach Discord: %s", exc)
        return 1
    return 0


async def _serve(settings: BotSettings) -> None:
    # the store first: a database that cannot be used stops the bot before it logs in
    bot = create_bot(settings, store=await Store.open(settings.data_dir))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows has no signal handlers
            loop.add_signal_handler(sig, lambda s=sig: _shutdown(bot, s))
    async with bot:
        assert settings.discord_token is not None
        await bot.start(settings.discord_token.get_secret_value())


def _shutdown(bot: PipelineBot, sig: signal.Signals) -> None:
    log.info("received %s, shutting down", sig.name)
    asyncio.get_running_loop().create_task(bot.close())


if __name__ == "__main__":
    raise SystemExit(main())
