"""The fake Slack's Web API checks, driven by the real slack-sdk AsyncWebClient."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler

from tests.fakeslack import FakeSlack
from tests.fakeslack.tinyapp import CHANNEL, MODAL, USER, button_message, client_for


async def test_refusals_are_answered_and_recorded(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)

    async def refused(call: Any, **kwargs: Any) -> str:
        with pytest.raises(SlackApiError) as info:
            await call(**kwargs)
        assert fake_slack.take_violations(), "a refusal must be recorded"
        return info.value.response["error"]

    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    assert (
        await refused(client.chat_postMessage, channel=CHANNEL, text="x", blocks=[section])
        == "invalid_blocks"
    )
    ok = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    assert (
        await refused(client.chat_postMessage, channel=CHANNEL, text="x", blocks=[ok] * 51)
        == "invalid_blocks"
    )
    long_value = button_message("x")
    long_value[1]["elements"][0]["value"] = "v" * 2001
    assert (
        await refused(client.chat_postMessage, channel=CHANNEL, text="x", blocks=long_value)
        == "invalid_blocks"
    )
    assert (
        await refused(client.chat_postMessage, channel=CHANNEL, text="x", blocks=[{"type": "nope"}])
        == "invalid_blocks"
    )
    assert (
        await refused(client.chat_postMessage, channel=CHANNEL, text="x" * 40_001) == "msg_too_long"
    )
    with pytest.warns(UserWarning, match="top-level `text`"):  # slack_sdk warns as well
        assert await refused(client.chat_postMessage, channel=CHANNEL) == "no_text"
    assert await refused(client.chat_postMessage, channel="C0NOPE", text="x") == "channel_not_found"
    assert (
        await refused(client.chat_update, channel=CHANNEL, ts="1.000001", text="x")
        == "message_not_found"
    )
    assert (
        await refused(client.views_open, trigger_id="made-up", view=MODAL) == "invalid_trigger_id"
    )
    files = json.dumps(["not-an-object"])
    malformed = await refused(client.api_call, api_method="files.completeUploadExternal",
                              params={"files": files})  # fmt: skip
    assert malformed == "invalid_arguments"
    fake_slack.add_channel("C0SECRET01", "secret", is_private=True, is_member=False)
    assert (
        await refused(client.chat_postMessage, channel="C0SECRET01", text="x") == "not_in_channel"
    )
    # a public channel the app has not joined takes its posts (chat:write.public)...
    fake_slack.add_channel("C0OPEN0001", "open", is_member=False)
    assert (await client.chat_postMessage(channel="C0OPEN0001", text="x"))["ok"]
    fake_slack.bot_scopes.discard("chat:write.public")  # ...but only with that scope
    assert (
        await refused(client.chat_postMessage, channel="C0OPEN0001", text="x") == "not_in_channel"
    )
    bad = client_for(fake_slack)
    bad.token = "xoxb-wrong"
    assert await refused(bad.auth_test) == "invalid_auth"
    assert await refused(client.apps_connections_open, app_token="xapp-wrong") == "invalid_auth"
    wrong_kind = await refused(client.apps_connections_open, app_token=fake_slack.bot_token)
    assert wrong_kind == "not_allowed_token_type"
    # the limits are the ones that fit: 50 blocks of 3,000 characters go through
    posted = await client.chat_postMessage(channel=CHANNEL, text="x", blocks=[
        {"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3000}}] * 50)  # fmt: skip
    assert len(fake_slack.message(CHANNEL, posted["ts"]).blocks) == 50


async def test_mass_mentions_are_recorded(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    await client.chat_postMessage(channel=CHANNEL, text="hey <!here> and <@U0USER0001>")
    assert fake_slack.take_violations() == ["a message pings '<!here>'"]
    await client.chat_postMessage(channel=CHANNEL, text="mail me@here.com about @channel")
    assert fake_slack.take_violations() == []


async def test_trigger_ids_expire_after_3_s_and_are_single_use(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    trigger = fake_slack.new_trigger(USER)
    opened = await client.views_open(trigger_id=trigger, view=MODAL)
    assert opened["view"]["id"] in fake_slack.views and opened["view"]["callback_id"] == "imagine"
    with pytest.raises(SlackApiError, match="exchanged_trigger_id"):
        await client.views_open(trigger_id=trigger, view=MODAL)
    late = fake_slack.new_trigger(USER)
    fake_slack.clock.advance(3.1)
    with pytest.raises(SlackApiError, match="expired_trigger_id"):
        await client.views_open(trigger_id=late, view=MODAL)
    updated = await client.views_update(
        view_id=opened["view"]["id"], view=MODAL | {"callback_id": "v2"}
    )
    assert updated["view"]["callback_id"] == "v2"
    with_external = MODAL | {"external_id": "job-7"}
    with pytest.raises(SlackApiError, match="not_found"):  # no view has that external_id yet
        await client.views_update(external_id="job-7", view=with_external)
    await client.views_update(view_id=opened["view"]["id"], view=with_external)
    by_external = await client.views_update(external_id="job-7", view=with_external)
    assert by_external["view"]["id"] == opened["view"]["id"]
    assert len(fake_slack.take_violations()) == 3
    # a view_submission ack must name input blocks in its errors
    view = fake_slack.views[opened["view"]["id"]]
    fake_slack.responses.view_ack(view, {"response_action": "errors", "errors": {"x": "y"}})
    assert "invalid_errors" in fake_slack.take_violations()[0]
    fake_slack.responses.view_ack(
        view, {"response_action": "update", "view": MODAL | {"callback_id": "v3"}}
    )
    assert view.view["callback_id"] == "v3" and not view.closed
    fake_slack.responses.view_ack(view, {})
    assert view.closed


async def test_chat_update_rate_limit(fake_slack: FakeSlack) -> None:
    fake_slack.rate_limits["chat.update"] = (5, 2.0)
    client = client_for(fake_slack)
    ts = (await client.chat_postMessage(channel="#general", text="0"))["ts"]  # by name too
    for i in range(5):
        await client.chat_update(channel=CHANNEL, ts=ts, text=str(i))
    # by default slack_sdk does not retry a 429: it raises SlackApiError
    with pytest.raises(SlackApiError) as info:
        await client.chat_update(channel=CHANNEL, ts=ts, text="6")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "2"
    assert [r.method for r in fake_slack.take_rate_limited()] == ["chat.update"]
    fake_slack.clock.advance(2.0)  # the window slides
    await client.chat_update(channel=CHANNEL, ts=ts, text="7")


async def test_rate_limit_retry_handler_waits_for_retry_after(fake_slack: FakeSlack) -> None:
    fake_slack.rate_limits["chat.update"] = (1, 1.0)
    client = client_for(
        fake_slack, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)]
    )
    ts = (await client.chat_postMessage(channel=CHANNEL, text="0"))["ts"]
    await client.chat_update(channel=CHANNEL, ts=ts, text="1")
    await client.chat_update(channel=CHANNEL, ts=ts, text="2")  # 429, then retried after 1 s
    assert fake_slack.message(CHANNEL, ts).text == "2"
    assert len(fake_slack.take_rate_limited()) == 1
