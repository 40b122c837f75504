"""The fake Slack driven by the real slack-sdk and slack-bolt clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakeslack import AckTimeout, FakeSlack

CHANNEL, USER = "C0CHAN0001", "U0USER0001"
MODAL = {
    "type": "modal",
    "callback_id": "imagine",
    "title": {"type": "plain_text", "text": "Imagine"},
    "submit": {"type": "plain_text", "text": "Go"},
    "private_metadata": "C0CHAN0001",
    "blocks": [
        {
            "type": "input",
            "block_id": "prompt",
            "label": {"type": "plain_text", "text": "Prompt"},
            "element": {"type": "plain_text_input", "action_id": "prompt"},
        },
        {
            "type": "input",
            "block_id": "steps",
            "optional": True,
            "label": {"type": "plain_text", "text": "Steps"},
            "element": {"type": "number_input", "is_decimal_allowed": False, "action_id": "steps"},
        },
    ],
}


def client_for(fake: FakeSlack, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url, **kwargs)


def button_message(text: str) -> list[dict[str, Any]]:
    return [
        {"type": "section", "block_id": "body", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": "buttons",
            "elements": [
                {
                    "type": "button",
                    "action_id": "regenerate",
                    "text": {"type": "plain_text", "text": "Regenerate"},
                    "value": "job-1",
                }
            ],
        },
    ]


def tiny_app(fake: FakeSlack, seen: list[dict[str, Any]]) -> AsyncApp:
    """A bolt app: /echo posts a placeholder, edits it, replies in the thread with a file."""
    app = AsyncApp(client=client_for(fake))

    @app.command("/echo")
    async def echo(ack: Any, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        seen.append(command)
        placeholder = await client.chat_postMessage(
            channel=command["channel_id"], text="working...", blocks=button_message("queued")
        )
        ts = placeholder["ts"]
        channel, text = command["channel_id"], command["text"]
        await client.chat_update(channel=channel, ts=ts, text=text, blocks=button_message(text))
        await client.files_upload_v2(
            channel=channel,
            thread_ts=ts,
            content=b"RIFF-fake-wav",
            filename="echo.wav",
            title="Echo",
        )

    @app.command("/imagine")
    async def imagine(ack: Any, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=command["trigger_id"], view=MODAL)

    @app.command("/usage")
    async def usage(ack: Any) -> None:
        await ack("Usage: /usage text")

    @app.command("/respond")
    async def respond_cmd(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        for i in range(int(command["text"] or 1)):
            await respond(f"private {i}")
        await respond(text="public", response_type="in_channel")

    @app.event("app_mention")
    async def mention(event: dict[str, Any]) -> None:
        seen.append(event)

    @app.command("/slow")
    async def slow(ack: Any) -> None:
        await asyncio.sleep(1)
        await ack()

    @app.view("imagine")
    async def submitted(ack: Any, view: dict[str, Any], body: dict[str, Any]) -> None:
        values = view["state"]["values"]
        if values["steps"]["steps"]["value"] == "0":
            await ack(response_action="errors", errors={"steps": "at least 1"})
            return
        await ack()
        seen.append(body)

    @app.action("regenerate")
    async def regenerate(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        seen.append(body)
        await respond(text="regenerated", replace_original=True)

    @app.shortcut("sentiment")
    async def sentiment(ack: Any, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        seen.append(shortcut)
        await client.chat_postEphemeral(channel=shortcut["channel"]["id"],
                                        user=shortcut["user"]["id"], text="positive")  # fmt: skip

    return app


@pytest_asyncio.fixture
async def running(
    fake_slack: FakeSlack,
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


async def test_slash_command_post_update_and_upload(running: Any) -> None:
    fake, seen, _ = running
    ack = await fake.slash_command("/echo", "fr>de Hello", user=USER, channel=CHANNEL)
    assert ack == {}
    assert seen[0]["command"] == "/echo" and seen[0]["text"] == "fr>de Hello"
    assert seen[0]["user_id"] == USER and seen[0]["team_id"] == fake.team_id
    upload = await fake.wait_for(lambda: fake.files)
    placeholder = fake.messages(CHANNEL)[0]
    assert placeholder.text == "fr>de Hello" and placeholder.bot_id == fake.bot_id
    assert [e.text for e in placeholder.edits] == ["working..."]
    assert placeholder.blocks[0]["text"]["text"] == "fr>de Hello"
    assert upload[0].name == "echo.wav" and upload[0].data == b"RIFF-fake-wav"
    assert (upload[0].channel, upload[0].thread_ts, upload[0].title) == (
        CHANNEL,
        placeholder.ts,
        "Echo",
    )
    (reply,) = fake.thread(CHANNEL, placeholder.ts)
    assert reply.files == upload
    # a reply's ts names its parent's thread, as in Slack
    client = client_for(fake)
    await client.chat_postMessage(channel=CHANNEL, thread_ts=reply.ts, text="more")
    assert [m.text for m in fake.thread(CHANNEL, placeholder.ts)] == ["", "more"]


async def test_ack_with_text_comes_back_and_shows_to_the_user(running: Any) -> None:
    fake, _, _ = running
    assert await fake.slash_command("/usage", "") == {"text": "Usage: /usage text"}
    assert [e.text for e in fake.ephemerals_for(USER)] == ["Usage: /usage text"]
    assert fake.messages(CHANNEL) == []


async def test_response_url_takes_five_posts(running: Any) -> None:
    fake, _, _ = running
    await fake.slash_command("/respond", "1")
    public = await fake.wait_for(lambda: fake.messages(CHANNEL))
    assert public[0].text == "public"
    assert [e.text for e in fake.ephemerals_for(USER)] == ["private 0"]
    await fake.slash_command("/respond", "5")  # the sixth post is refused
    refused = await fake.wait_for(lambda: fake.take_violations())
    assert refused == ["response_url: used_url: more than 5 posts"]
    assert len(fake.ephemerals_for(USER)) == 6


async def test_click_builds_block_actions_from_the_stored_message(running: Any) -> None:
    fake, seen, _ = running
    await fake.slash_command("/echo", "hi")
    await fake.wait_for(lambda: fake.files)
    ts = fake.messages(CHANNEL)[0].ts
    assert await fake.click(CHANNEL, ts, "regenerate", user="U0USER0002") == {}
    body = seen[-1]
    assert body["type"] == "block_actions" and body["user"]["id"] == "U0USER0002"
    assert body["actions"][0]["value"] == "job-1" and body["actions"][0]["block_id"] == "buttons"
    assert (
        body["container"]["message_ts"] == ts and body["message"]["blocks"][1]["type"] == "actions"
    )
    message = await fake.wait_for(
        lambda: fake.message(CHANNEL, ts).text == "regenerated" and fake.message(CHANNEL, ts)
    )
    assert message.edits[-1].text == "hi"  # respond(replace_original=True) edited it
    with pytest.raises(LookupError):
        await fake.click(CHANNEL, ts, "no-such-button")


async def test_message_shortcut_and_ephemeral(running: Any) -> None:
    fake, seen, _ = running
    ts = fake.post_as_user(CHANNEL, "I love it", user="U0USER0002")
    assert await fake.message_shortcut("sentiment", ts, user=USER) == {}
    assert seen[-1]["message"]["text"] == "I love it" and seen[-1]["callback_id"] == "sentiment"
    (eph,) = await fake.wait_for(lambda: fake.ephemerals_for(USER))
    assert eph.text == "positive" and eph.channel == CHANNEL


async def test_modal_open_and_submit(running: Any) -> None:
    fake, seen, _ = running
    await fake.slash_command("/imagine", "")
    (view,) = await fake.wait_for(lambda: list(fake.views.values()))
    assert view.user == USER and view.view["callback_id"] == "imagine"
    errors = await fake.submit_view(view.id, {"prompt": "a cat", "steps": "0"})
    assert errors == {"response_action": "errors", "errors": {"steps": "at least 1"}}
    assert not view.closed
    assert await fake.submit_view(view.id, {"prompt": "a cat", "steps": "4"}) == {}
    assert view.closed
    state = seen[-1]["view"]["state"]["values"]
    assert state["prompt"]["prompt"] == {"type": "plain_text_input", "value": "a cat"}
    assert seen[-1]["view"]["private_metadata"] == "C0CHAN0001"
    with pytest.raises(ValueError, match="closed"):
        await fake.submit_view(view.id, {"prompt": "again"})


async def test_missing_ack_is_caught(running: Any) -> None:
    fake, _, _ = running
    fake.socket.ack_deadline = 0.5  # the app acks /slow after 1 s (Slack waits 3 s)
    with pytest.raises(AckTimeout):
        await fake.slash_command("/slow", "")
    late = await fake.wait_for(lambda: len(fake.violations) == 2 and fake.take_violations())
    assert "no ack within 0.5 s" in late[0] and "expired envelope" in late[1]


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
    fake_slack.add_channel("C0SECRET01", "secret", is_private=True, is_member=False)
    assert (
        await refused(client.chat_postMessage, channel="C0SECRET01", text="x") == "not_in_channel"
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
    assert len(fake_slack.take_violations()) == 2
    # a view_submission ack must name input blocks in its errors
    fake_slack.responses.view_ack(
        MODAL["blocks"], {"response_action": "errors", "errors": {"x": "y"}}
    )
    assert "invalid_errors" in fake_slack.take_violations()[0]


async def test_chat_update_rate_limit(fake_slack: FakeSlack) -> None:
    fake_slack.rate_limits["chat.update"] = (5, 2.0)
    client = client_for(fake_slack)
    ts = (await client.chat_postMessage(channel=CHANNEL, text="0"))["ts"]
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


@pytest.mark.parametrize("how", ["disconnect", "cut", "drop", "zombie"])
async def test_the_client_reconnects(running: Any, how: str) -> None:
    fake, _, handler = running
    first = fake.socket.live[-1]
    if how == "disconnect":
        await fake.socket.send_disconnect()
    elif how == "zombie":  # pongs go on: the SDK never notices; only a watchdog would
        fake.socket.cut(answer_pings=True)
        await asyncio.sleep(2.5)
        assert fake.socket.opened_urls == 1
        await handler.client.connect_to_new_endpoint(force=True)  # what a watchdog does
    elif how == "cut":
        fake.socket.cut()  # no pongs: aiohttp's heartbeat notices after a ping interval
        fake.socket.ack_deadline = 0.5
        with pytest.raises(AckTimeout):  # meanwhile envelopes are lost, as on a dead link
            await fake.slash_command("/usage", "")
        assert "no ack" in fake.take_violations()[0]
        fake.socket.ack_deadline = 3.0
    else:
        fake.socket.drop()
    await fake.wait_for(lambda: [c for c in fake.socket.live if c is not first], timeout=10)
    assert fake.socket.opened_urls == 2
    assert await fake.slash_command("/usage", "") == {"text": "Usage: /usage text"}


async def test_events_api_envelope(running: Any) -> None:
    fake, seen, _ = running
    event = {"type": "app_mention", "user": USER, "text": "<@U0FAKEBOT1> hi", "ts": "1.000001",
             "channel": CHANNEL, "event_ts": "1.000001"}  # fmt: skip
    assert await fake.event(event) == {}
    assert (await fake.wait_for(lambda: seen))[0]["text"] == "<@U0FAKEBOT1> hi"
    assert fake.socket.envelopes[-1].type == "events_api"
