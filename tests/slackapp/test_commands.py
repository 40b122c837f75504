"""Every one of the nine commands, typed, end to end: the real Bolt app, tiny models,
the fake Slack. The placeholder acknowledges in the channel, shows the wait, and turns
into a "done" line with the reply in its thread (files uploaded there)."""

from __future__ import annotations

import io
import wave

import pytest
from PIL import Image

from tests.fakeslack import FakeSlack

from .conftest import ALICE, CHANNEL, AppFactory, all_texts, answer, texts

COMMANDS = [
    ("/sentiment", "What a lovely day!", "lovely day"),
    ("/ner", "Ada Lovelace was born in London.", "Named entities"),
    ("/classify", '"labels: sport, politics" The match ended 2-1.', "sport"),
    ("/qa", '"question: Where was Ada born?" Ada Lovelace was born in London.', "Where was Ada"),
    ("/summarize", "length:short " + "The cat sat on the mat. " * 10, "Summary"),
    ("/translate", "en>fr Hello, how are you?", "English → French"),
    ("/generate", "max_tokens:8 seed:1 Once upon a time", "Once upon a time"),
    ("/imagine", "steps:2 seed:3 size:64x64 a lighthouse", "a lighthouse"),
    ("/speak", "Hello from the bot!", "Hello from the bot"),
]


@pytest.mark.parametrize(("command", "text", "shown"), COMMANDS, ids=[c[0] for c in COMMANDS])
async def test_each_command_answers_in_a_thread(
    start_app: AppFactory, fake_slack: FakeSlack, command: str, text: str, shown: str
) -> None:
    await start_app()
    ack = await fake_slack.slash_command(command, text)
    assert ack == {}  # a bare ack: the placeholder is the app's own message
    top, replies = await answer(fake_slack)
    assert texts(top).startswith(f"*{command}*") or f"*{command}*" in texts(top)
    assert "Done" in texts(top) and not fake_slack.ephemerals_for(ALICE)
    assert top.edits, "the wait is shown before the result"
    assert any("Queued" in edit_text for edit_text in [e.text for e in top.edits])
    reply = all_texts(replies)
    assert shown in reply
    assert all(r.thread_ts == top.ts for r in replies)


async def test_imagine_uploads_its_png_into_the_thread_with_a_regenerate_button(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    await start_app()
    await fake_slack.slash_command("/imagine", "steps:2 seed:7 size:64x64 a red square")
    top, _ = await answer(fake_slack)
    upload = await fake_slack.wait_for(lambda: [f for f in fake_slack.files if f.thread_ts])
    (png,) = upload
    assert png.thread_ts == top.ts and png.channel == CHANNEL and png.name.endswith(".png")
    assert Image.open(io.BytesIO(png.data)).size == (64, 64)
    card = next(m for m in fake_slack.thread(CHANNEL, top.ts) if m.blocks)
    assert "`7`" in texts(card)  # the seed
    actions = [b for b in card.blocks if b["type"] == "actions"]
    assert actions[0]["elements"][0]["action_id"] == "imagine:again"


async def test_speak_uploads_a_wav_into_the_thread(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    await start_app()
    await fake_slack.slash_command("/speak", "Hello there")
    top, _ = await answer(fake_slack)
    (wav,) = await fake_slack.wait_for(lambda: [f for f in fake_slack.files if f.thread_ts])
    assert wav.thread_ts == top.ts and wav.name.endswith(".wav")
    with wave.open(io.BytesIO(wav.data)) as audio:
        assert audio.getnframes() > 0


async def test_a_bad_line_gets_the_usage_in_the_ack_and_nothing_public(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    await start_app()
    ack = await fake_slack.slash_command("/generate", "max_tokens:9999 Once upon a time")
    assert "max_tokens" in ack["text"] and "Usage: `/generate" in ack["text"]
    assert ack.get("response_type") == "ephemeral"
    ack = await fake_slack.slash_command("/classify", "no labels here")
    assert "labels" in ack["text"] and "Example:" in ack["text"]
    await fake_slack.settle()
    assert not [m for m in fake_slack.messages(CHANNEL) if m.bot_id]


async def test_an_unknown_language_is_a_usage_error(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    await start_app()
    await fake_slack.slash_command("/translate", "xx>fr Hello")
    (note,) = await fake_slack.wait_for(lambda: fake_slack.ephemerals_for(ALICE))
    assert "Usage: `/translate" in note.text
    assert not [m for m in fake_slack.messages(CHANNEL) if m.bot_id and not m.deleted]


async def test_an_unchecked_image_is_withheld_where_the_policy_forbids_it(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    await start_app(imagine_nsfw_policy="nowhere")  # the tiny model has no safety checker
    await fake_slack.slash_command("/imagine", "steps:2 size:64x64 a cat")
    (first,) = await fake_slack.wait_for(lambda: fake_slack.ephemerals_for(ALICE), 30)
    assert "no safety filter" in first.text
    await fake_slack.wait_for(
        lambda: all(m.deleted for m in fake_slack.messages(CHANNEL) if m.bot_id)
    )
    placeholders = len([m for m in fake_slack.messages(CHANNEL) if m.bot_id])
    # now the model is known to have none: refused before anything is public
    await fake_slack.slash_command("/imagine", "steps:2 size:64x64 a dog")
    await fake_slack.wait_for(lambda: len(fake_slack.ephemerals_for(ALICE)) == 2)
    assert len([m for m in fake_slack.messages(CHANNEL) if m.bot_id]) == placeholders
    assert not fake_slack.files


async def test_the_blocklist_refuses_a_prompt(start_app: AppFactory, fake_slack: FakeSlack) -> None:
    await start_app(imagine_blocklist="forbidden thing, other")
    await fake_slack.slash_command("/imagine", "a FORBIDDEN   thing at dusk")
    (note,) = await fake_slack.wait_for(lambda: fake_slack.ephemerals_for(ALICE))
    assert "“forbidden thing” are not allowed" in note.text
    assert not [m for m in fake_slack.messages(CHANNEL) if m.bot_id]


async def test_web_api_calls_share_kept_alive_connections(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    # slack_sdk opens a new connection (on slack.com: a TLS handshake on the event loop)
    # for every call unless it is given a session: the app keeps one
    await start_app()
    for n in range(3):  # (the cooldown allows 3)
        await fake_slack.slash_command("/sentiment", f"What a lovely day {n}!")
        await answer(fake_slack, n)
    calls = len(fake_slack.api.calls)
    assert calls >= 9  # a placeholder, its edits and its answer each
    assert len(fake_slack.api.connections) <= calls // 3
