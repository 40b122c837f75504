"""Modals, message shortcuts and buttons, end to end against the fake Slack."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from slackapp.listeners import guarded
from tests.fakeslack import FakeSlack

from .conftest import ALICE, BOB, CHANNEL, AppFactory, all_texts, answer, at_least, texts


async def test_imagine_alone_opens_a_modal_whose_errors_show_in_it(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    await start_app()
    assert await fake_slack.slash_command("/imagine") == {}
    view = await fake_slack.wait_for(lambda: list(fake_slack.views.values()))
    (modal,) = view
    inputs = [b["block_id"] for b in modal.view["blocks"]]
    assert inputs == ["prompt", "negative", "steps", "seed", "size"]
    bad = await fake_slack.submit_view(modal.id, {"prompt": "a boat", "size": "huge"})
    assert bad["response_action"] == "errors"
    assert set(bad["errors"]) == {"size"} and "size" in bad["errors"]["size"]
    assert not modal.closed
    ok = await fake_slack.submit_view(
        modal.id, {"prompt": "a boat", "steps": "2", "seed": "5", "size": "64x64"}
    )
    assert ok == {} and modal.closed
    top, replies = await answer(fake_slack)
    assert "a boat" in texts(top)
    assert any("`5`" in texts(r) for r in replies)


async def test_classify_alone_opens_its_form_with_a_yes_no_choice(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    await start_app()
    await fake_slack.slash_command("/classify", "   ")
    (modal,) = await fake_slack.wait_for(lambda: list(fake_slack.views.values()))
    yes = {"text": {"type": "plain_text", "text": "yes"}, "value": "yes"}
    values = {"text": "The match ended 2-1.", "labels": "sport, politics", "multi_label": yes}
    assert await fake_slack.submit_view(modal.id, values) == {}
    _, replies = await answer(fake_slack)
    shown = all_texts(replies)
    assert "sport" in shown and "politics" in shown


async def test_a_message_shortcut_runs_on_the_message(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    await start_app()
    ts = fake_slack.post_as_user(CHANNEL, "I really love this new album!", user=BOB)
    assert await fake_slack.message_shortcut("sentiment", ts) == {}
    top, replies = await answer(fake_slack)
    assert "/sentiment" in texts(top)
    assert "love this new album" in all_texts(replies)


async def test_a_shortcut_on_a_message_without_text_says_so_to_the_user_alone(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    await start_app()
    ts = fake_slack.post_as_user(CHANNEL, "   ")
    await fake_slack.message_shortcut("speak", ts)
    (note,) = await fake_slack.wait_for(lambda: fake_slack.ephemerals_for(ALICE))
    assert "no text" in note.text
    assert not [m for m in fake_slack.messages(CHANNEL) if m.bot_id]


async def test_cancel_stops_a_waiting_image_for_its_requester_only(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    bot = await start_app()
    await fake_slack.slash_command("/imagine", "steps:50 size:64x64 a slow one")
    placeholder = await fake_slack.wait_for(
        lambda: next(
            (
                m
                for m in fake_slack.messages(CHANNEL)
                if m.bot_id and any(b["type"] == "actions" for b in m.blocks)
            ),
            None,
        ),
        timeout=20,
    )
    await fake_slack.click(CHANNEL, placeholder.ts, "job:cancel", user=BOB)
    (refused,) = await fake_slack.wait_for(lambda: fake_slack.ephemerals_for(BOB))
    assert "Only the person who asked" in refused.text and not placeholder.deleted
    # a job the app no longer knows (from before a restart, say)
    await fake_slack.click(CHANNEL, placeholder.ts, "job:cancel", value="0" * 32)
    (gone,) = await fake_slack.wait_for(lambda: fake_slack.ephemerals_for(ALICE))
    assert "already finished or expired" in gone.text and not placeholder.deleted
    await fake_slack.click(CHANNEL, placeholder.ts, "job:cancel", user=ALICE)
    await fake_slack.wait_for(lambda: placeholder.deleted, timeout=20)
    note = await fake_slack.wait_for(lambda: at_least(fake_slack.ephemerals_for(ALICE), 2))
    assert "cancelled" in note[-1].text.lower()
    await fake_slack.wait_for(lambda: not bot.runner.waiting)  # the request has ended


async def test_a_button_with_a_mangled_value_says_so(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    await start_app()
    await fake_slack.slash_command("/generate", "max_tokens:4 seed:1 Hello")
    _, replies = await answer(fake_slack)
    last = replies[-1] if replies[-1].blocks else replies[-2]
    await fake_slack.click(CHANNEL, last.ts, "generate:continue", value="{not json")
    (note,) = await fake_slack.wait_for(lambda: fake_slack.ephemerals_for(ALICE))
    assert "no longer holds its request" in note.text
    tops = [m for m in fake_slack.messages(CHANNEL) if m.bot_id and not m.thread_ts]
    assert len(tops) == 1
    (actions,) = [b for b in last.blocks if b["type"] == "actions"]
    story = json.loads(actions["elements"][0]["value"])  # the real value is compact JSON
    assert story["p"] == "Hello" and story["m"] == 4


async def test_a_channel_the_app_is_not_in_gets_a_word_to_the_user_alone(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    fake_slack.add_channel("C0PRIV0001", "secret", is_private=True, is_member=False)
    await start_app()
    assert await fake_slack.slash_command("/sentiment", "hello", channel="C0PRIV0001") == {}
    (note,) = await fake_slack.wait_for(lambda: fake_slack.ephemerals_for(ALICE))
    assert "Invite me" in note.text and note.channel == "C0PRIV0001"
    assert fake_slack.take_violations()  # the refused chat.postMessage, as Slack refuses it


async def test_a_form_in_a_channel_the_app_is_not_in_says_so_in_the_form(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    """A form's submission has no response URL, and an ephemeral message in a channel
    the app is not in is refused too: the form itself is the only way back."""
    fake_slack.add_channel("C0PRIV0001", "secret", is_private=True, is_member=False)
    await start_app()
    await fake_slack.slash_command("/imagine", channel="C0PRIV0001")
    (modal,) = await fake_slack.wait_for(lambda: list(fake_slack.views.values()))
    refused = await fake_slack.submit_view(modal.id, {"prompt": "a boat", "size": "64x64"})
    assert refused["response_action"] == "errors"
    assert "Invite me" in refused["errors"]["prompt"] and not modal.closed
    assert fake_slack.take_violations()  # the refused chat.postMessage, as Slack refuses it


async def test_a_form_on_cooldown_says_so_in_the_form(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    await start_app(cooldown_rate=1)
    await fake_slack.slash_command("/generate", "max_tokens:2 seed:1 Hello")
    await answer(fake_slack)
    await fake_slack.slash_command("/generate")
    (modal,) = await fake_slack.wait_for(lambda: list(fake_slack.views.values()))
    refused = await fake_slack.submit_view(modal.id, {"prompt": "Again", "max_tokens": "2"})
    assert refused["response_action"] == "errors"
    assert "Try again in" in refused["errors"]["prompt"] and not modal.closed
    assert len([m for m in fake_slack.messages(CHANNEL) if m.bot_id and not m.thread_ts]) == 1


async def test_a_listener_that_fails_after_its_ack_still_acks_and_apologises(
    start_app: AppFactory, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_app()

    async def broken(ack: Any, body: dict) -> None:
        await ack()
        raise RuntimeError("/secret/path/model.bin is corrupt")

    bot.app.command("/broken")(guarded(bot, "/broken", broken))
    with caplog.at_level(logging.ERROR, logger="chat.errors"):
        assert await fake_slack.slash_command("/broken", "anything") == {}
        (note,) = await fake_slack.wait_for(lambda: fake_slack.ephemerals_for(ALICE))
    assert "something went wrong on our side" in note.text and "error id" in note.text
    assert "/secret/path" not in note.text and "/secret/path" in caplog.text


async def test_translate_to_english_detects_the_language(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    await start_app()
    english = fake_slack.post_as_user(CHANNEL, "Good morning, how are you all doing today?")
    await fake_slack.message_shortcut("translate_to_english", english)
    (note,) = await fake_slack.wait_for(lambda: fake_slack.ephemerals_for(ALICE))
    assert "already in English" in note.text
    french = fake_slack.post_as_user(CHANNEL, "Bonjour à tous, comment allez-vous aujourd'hui ?")
    await fake_slack.message_shortcut("translate_to_english", french)
    _, replies = await answer(fake_slack)
    shown = all_texts(replies)
    assert "French → English" in shown and "Detected French" in shown


async def test_nobody_is_mentioned_whatever_the_text_says(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    await start_app()
    ts = fake_slack.post_as_user(CHANNEL, "<!channel> @here <!subteam^S123> big news everyone")
    await fake_slack.message_shortcut("sentiment", ts)
    await fake_slack.slash_command("/ner", "@everyone <!here> meet Ada in London")
    await answer(fake_slack)
    await answer(fake_slack, placeholder_count=1)
    # (the fake_slack fixture fails the test on any mass mention it saw)


async def test_a_direct_message_is_answered_where_the_app_may_post(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    fake_slack.add_channel("D0APPDM001", "alice")  # alice's direct messages with the app
    fake_slack.add_channel("D0PEOPLE01", "alice-bob", is_member=False)  # between two people
    await start_app()
    await fake_slack.slash_command("/sentiment", "hello", channel="D0PEOPLE01")
    (note,) = await fake_slack.wait_for(lambda: fake_slack.ephemerals_for(ALICE))
    assert "use me in a public channel" in note.text and note.channel == "D0PEOPLE01"
    assert fake_slack.take_violations()  # the refused chat.postMessage, as Slack refuses it
    await fake_slack.slash_command("/sentiment", "What a lovely day!", channel="D0APPDM001")
    (top,) = await fake_slack.wait_for(
        lambda: [m for m in fake_slack.messages("D0APPDM001") if "Done" in texts(m)], 30
    )
    replies = await fake_slack.wait_for(lambda: fake_slack.thread("D0APPDM001", top.ts))
    assert "lovely day" in all_texts(replies)
