"""Slash commands end to end: the real Bolt app, tiny models, the fake Slack."""

from __future__ import annotations

from tests.fakeslack import FakeSlack

from .conftest import AppFactory, answer, texts


async def test_sentiment_posts_a_placeholder_then_the_reply_in_its_thread(
    start_app: AppFactory, fake_slack: FakeSlack
) -> None:
    await start_app()
    ack = await fake_slack.slash_command("/sentiment", "What a lovely day!")
    assert ack == {}
    top, replies = await answer(fake_slack)
    assert "/sentiment" in texts(top) and "Done" in texts(top)
    assert any(edit for edit in top.edits)  # the wait was shown before the result
    reply = "\n".join(texts(r) for r in replies)
    assert "lovely day" in reply
