"""The fake Slack driven over Socket Mode by a real bolt app (``tinyapp.py``)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.fakeslack import AckTimeout
from tests.fakeslack.tinyapp import CHANNEL, USER, client_for


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
    assert await fake.submit_view(view.id, {"prompt": "a cat"}) == {}
    assert view.closed
    state = seen[-1]["view"]["state"]["values"]
    assert state["prompt"]["prompt"] == {"type": "plain_text_input", "value": "a cat"}
    assert state["steps"]["steps"] == {"type": "number_input", "value": "4"}  # the initial one
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
