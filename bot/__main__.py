"""``python -m bot``: start the bot with the settings from the environment and ``.env``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

import aiohttp
import discord

from chat.startup import StartupError, read_settings
from store import Store, StoreError

from .client import PipelineBot, create_bot
from .settings import BotSettings

log = logging.getLogger("bot")

NO_TOKEN = (
    "DISCORD_TOKEN is not set: create an application at "
    "https://discord.com/developers/applications, copy the token from its Bot page, "
    "and put DISCORD_TOKEN=... in .env (see README.md)."
)


def main(argv: list[str] | None = None) -> int:
    """``python -m bot`` runs the bot; ``python -m bot sync`` syncs its slash commands to
    Discord (DEV_GUILD_ID, else globally) and exits."""
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["sync"]):
        print("usage: python -m bot [sync]", file=sys.stderr)
        return 2
    try:
        settings = read_settings(BotSettings)
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if settings.discord_token is None:
        print(f"error: {NO_TOKEN}", file=sys.stderr)
        return 2
    discord.utils.setup_logging(level=logging.getLevelName(settings.log_level))
    try:
        asyncio.run(_sync(settings) if args == ["sync"] else _serve(settings))
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


async def _sync(settings: BotSettings) -> None:
    """Log in (which runs setup_hook: the cogs, then a forced sync) and leave; the
    inference service is not started."""
    bot = PipelineBot(settings)
    bot.sync_only = True
    async with bot:
        assert settings.discord_token is not None
        await bot.login(settings.discord_token.get_secret_value())


def _shutdown(bot: PipelineBot, sig: signal.Signals) -> None:
    log.info("received %s, shutting down", sig.name)
    asyncio.get_running_loop().create_task(bot.close())


if __name__ == "__main__":
    raise SystemExit(main())
