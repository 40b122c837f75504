"""The health watchdog: a Socket Mode connection that died silently is replaced, and
commands reach the app again."""

from __future__ import annotations

import logging

import pytest

from tests.fakeslack import FakeSlack

from .conftest import AppFactory, answer


def new_connection(fake: FakeSlack, before: list) -> list:
    return [c for c in fake.socket.live if c not in before]


async def test_a_zombie_connection_is_replaced(
    start_app: AppFactory, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_app(slack_watchdog_s=0.2, slack_quiet_s=1.0)
    before = list(fake_slack.socket.connections)
    fake_slack.socket.cut(answer_pings=True)  # pongs go on; envelopes are lost
    with caplog.at_level(logging.WARNING, logger="slackapp.watchdog"):
        await fake_slack.wait_for(lambda: new_connection(fake_slack, before), timeout=5)
    assert "nothing received" in caplog.text
    assert bot.watchdog.reconnects >= 1
    await fake_slack.slash_command("/sentiment", "back again")
    await answer(fake_slack)


async def test_a_dead_receive_loop_is_noticed(
    start_app: AppFactory, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_app(slack_watchdog_s=0.2)
    before = list(fake_slack.socket.connections)
    # what slack-sdk#1446 leaves behind: an open session that nothing reads
    bot.handler.client.message_receiver.cancel()
    with caplog.at_level(logging.WARNING, logger="slackapp.watchdog"):
        await fake_slack.wait_for(lambda: new_connection(fake_slack, before), timeout=5)
    assert "message receiver task has stopped" in caplog.text
    await fake_slack.slash_command("/sentiment", "still here")
    await answer(fake_slack)


async def test_a_client_that_cannot_reconnect_is_replaced_by_a_new_handler(
    start_app: AppFactory, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_app(slack_watchdog_s=0.2, slack_quiet_s=1.0)
    old = bot.handler
    old.client.app_token = "xapp-revoked"  # its own reconnections are refused
    before = list(fake_slack.socket.connections)
    fake_slack.socket.cut(answer_pings=True)
    with caplog.at_level(logging.INFO, logger="slackapp.watchdog"):
        await fake_slack.wait_for(lambda: new_connection(fake_slack, before), timeout=10)
        await fake_slack.wait_for(lambda: "with a new handler" in caplog.text)
    assert bot.handler is not old and old.client.closed
    assert any("invalid_auth" in v for v in fake_slack.take_violations())
    await fake_slack.slash_command("/sentiment", "through the new handler")
    await answer(fake_slack)
