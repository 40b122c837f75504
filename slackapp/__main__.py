"""``python -m slackapp``: run the Slack app with the settings from the environment and
``.env``; ``python -m slackapp manifest`` prints the app manifest to create it from."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable

from slack_sdk.errors import SlackApiError

from chat.startup import StartupError, read_settings
from store import Store, StoreError

from .app import SlackBot
from .manifest import manifest_yaml
from .settings import SlackSettings

log = logging.getLogger("slackapp")

NO_TOKENS = (
    "{missing} not set: create the app from `python -m slackapp manifest` at "
    "https://api.slack.com/apps, install it to your workspace, and put SLACK_BOT_TOKEN=xoxb-... "
    "(OAuth & Permissions) and SLACK_APP_TOKEN=xapp-... (Basic Information, App-Level "
    "Tokens, scope connections:write) in .env (see README.md, Slack)."
)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["manifest"]:
        print(manifest_yaml(), end="")
        return 0
    if args:
        print("usage: python -m slackapp [manifest]", file=sys.stderr)
        return 2
    try:
        settings = read_settings(SlackSettings)
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    missing = [
        name
        for name, value in (
            ("SLACK_BOT_TOKEN", settings.slack_bot_token),
            ("SLACK_APP_TOKEN", settings.slack_app_token),
        )
        if value is None or not value.get_secret_value().strip()
    ]
    if missing:
        names = " and ".join(missing) + (" are" if len(missing) > 1 else " is")
        print(f"error: {NO_TOKENS.format(missing=names)}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        asyncio.run(serve(settings))
    except StoreError as exc:
        log.error("Cannot start: %s", exc)
        return 2
    except SlackApiError as exc:  # a token Slack refuses (invalid_auth, not_allowed_token_type)
        log.error("Slack refused to connect: %s", exc.response.get("error", "error"))
        return 2
    return 0


async def serve(settings: SlackSettings) -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly (waiting jobs resume on start)."""
    # the store first: a database that cannot be used stops the app before it connects
    store = await Store.open(settings.data_dir)
    bot = SlackBot(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows has no signal handlers
            loop.add_signal_handler(sig, _stopper(stop, sig))
    try:
        await bot.client.auth_test()  # a bad bot token fails here, with one line
        await bot.start(store)
        await stop.wait()
    finally:
        await bot.close()
        await store.close()


def _stopper(stop: asyncio.Event, sig: signal.Signals) -> Callable[[], None]:
    def handler() -> None:
        log.info("received %s, shutting down", sig.name)
        stop.set()

    return handler


if __name__ == "__main__":
    raise SystemExit(main())
