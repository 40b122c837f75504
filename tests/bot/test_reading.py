"""/qa, /summarize and the "Summarize" message menu, end to end through the fake Discord,
text given inline or as an attached file. The tiny models are random: the tests check
the structure of the replies, and force a model's output where the reply depends on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from bot.attachments import MAX_TEXT_FILE_BYTES
from bot.client import PipelineBot
from chat.render import render
from chat.render.base import EMBED_DESCRIPTION, EMBED_TOTAL
from inference.tasks.summarize import SummarizeResult
from tests.bot.conftest import BotFactory, engine, final_message
from tests.fakediscord import FakeDiscord

CONTEXT = "Rome is old. Paris is the capital of France. It has many bridges."
STORY = (
    "The river rose all night. By morning the bridge was closed, and the town council met "
    "in the school hall. They agreed to open the old ferry until the water went down. "
)


async def ephemeral_error(inter: Any) -> str:
    """The ephemeral error a command ended with; checks that nothing public is left (a
    command that deferred before failing has its "thinking…" placeholder deleted)."""
    await inter.wait_until(lambda i: i.followups or (i.original and i.original.ephemeral), 20)
    message = inter.followups[-1] if inter.followups else inter.original
    assert message.ephemeral
    assert inter.original is None or inter.original.ephemeral or inter.original.deleted
    return message.content


def public_messages(fake: FakeDiscord) -> list[Any]:
    return [
        m
        for m in fake.channel_messages(fake.channel)
        if m.kind != "user" and not m.deleted and not m.ephemeral
    ]


async def force_qa_span(bot: PipelineBot, where: Callable[[list[int], int], int]) -> None:
    """Make the QA model put all its start and end probability on one token of each window,
    ``where(input_ids, sep_id)`` (it wraps the model, not our code)."""
    await engine(bot).preload(["qa"])
    (qa,) = engine(bot).loaded_models("qa")
    sep = qa.tokenizer.sep_token_id

    def peak(module: Any, args: Any, kwargs: dict[str, Any], output: Any) -> Any:
        logits = torch.full_like(output.start_logits, -1e4)
        for row, ids in enumerate(kwargs["input_ids"].tolist()):
            logits[row, where(ids, sep)] = 1e4
        output["start_logits"], output["end_logits"] = logits, logits.clone()
        return output

    qa.model.register_forward_hook(peak, with_kwargs=True)


def first_context_token(ids: list[int], sep: int) -> int:
    return ids.index(sep) + 1


def cls_token(ids: list[int], sep: int) -> int:
    return 0


# -- /qa ------------------------------------------------------------------------------


async def test_qa_shows_the_answer_its_score_and_its_sentence(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    bot = await start_bot()
    await force_qa_span(bot, first_context_token)
    inter = await fake_discord.invoke_slash(
        "qa", {"question": "What is the capital of France?", "context": CONTEXT}
    )
    message = await final_message(inter)
    assert inter.deferred and not inter.ephemeral and inter.response_time < 3
    embed = message.embeds[0]
    assert embed["title"] == "Answer"
    lines = embed["description"].splitlines()
    assert lines[0] == "> What is the capital of France?"
    assert lines[1].startswith("**") and lines[1].endswith("**")
    assert lines[2].endswith("100.0% confidence") and "█" in lines[2]
    # the sentence that holds the answer (the context's first token), answer in bold
    assert lines[-1].startswith("> **") and lines[-1].endswith("is old.")


async def test_qa_without_a_likely_answer_shows_a_labelled_guess(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    bot = await start_bot()
    await force_qa_span(bot, cls_token)
    inter = await fake_discord.invoke_slash("qa", {"question": "Who won?", "context": CONTEXT})
    embed = (await final_message(inter)).embeds[0]
    assert embed["title"] == "No answer found"
    assert "probably does not answer" in embed["description"]
    assert "Best guess, low confidence: *" in embed["description"]


async def test_qa_about_an_attached_document(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    document = (CONTEXT + "\n\n") * 20
    inter = await fake_discord.invoke_slash(
        "qa",
        {"question": "What is the capital of France?"},
        attachments={"file": ("notes.md", document.encode())},
    )
    message = await final_message(inter)
    assert inter.deferred and not inter.ephemeral and inter.response_time < 3
    embed = message.embeds[0]
    assert embed["title"] in {"Answer", "No answer found"}
    assert embed["footer"]["text"].startswith("From notes.md · The text was read in ")
    assert "> " in embed["description"] and "**" in embed["description"]


@pytest.mark.parametrize(
    ("filename", "data", "expected"),
    [
        ("report.pdf", b"%PDF-1.7 ...", "Attach a text file (.txt, .md"),
        ("data.txt", b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00", "data.txt is not UTF-8 text."),
        ("huge.txt", b"a" * (MAX_TEXT_FILE_BYTES + 1), "the limit is 512 KiB"),
        ("nul.txt", b"text\x00with\x00nul", "looks like binary data"),
        ("long.txt", b"word " * 5000, "too long: 24,999 characters (at most 20,000)"),
    ],
)
async def test_qa_bad_file_gives_an_ephemeral_error_and_nothing_public(
    fake_discord: FakeDiscord, start_bot: BotFactory, filename: str, data: bytes, expected: str
) -> None:
    await start_bot()
    inter = await fake_discord.invoke_slash(
        "qa", {"question": "Why?"}, attachments={"file": (filename, data)}
    )
    error = await ephemeral_error(inter)
    assert error.startswith("⚠️ ") and expected in error
    assert not public_messages(fake_discord)


async def test_qa_needs_a_context_or_a_file_but_not_both(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    inter = await fake_discord.invoke_slash("qa", {"question": "Why?"})
    assert "Give the context: type it, or attach" in await ephemeral_error(inter)
    assert not inter.deferred
    inter = await fake_discord.invoke_slash(
        "qa", {"question": "Why?", "context": "Because."}, attachments={"file": ("a.txt", b"x")}
    )
    assert "as text or as a file, not both" in await ephemeral_error(inter)
    inter = await fake_discord.invoke_slash("qa", {"question": "  ", "context": "Because."})
    assert await ephemeral_error(inter) == "⚠️ The question is empty."
    assert not public_messages(fake_discord)


# -- /summarize -----------------------------------------------------------------------


async def test_summarize_text(fake_discord: FakeDiscord, start_bot: BotFactory) -> None:
    await start_bot()
    inter = await fake_discord.invoke_slash("summarize", {"text": STORY, "length": "short"})
    message = await final_message(inter)
    assert inter.deferred and not inter.ephemeral and inter.response_time < 3
    embed = message.embeds[0]
    assert embed["title"] == "Summary"
    assert embed["description"]
    footer = embed["footer"]["text"]
    assert footer.startswith("1 chunk, 1 round · ")
    assert footer.endswith(" tokens · summarize")  # the model's directory, not its path
    assert "/" not in footer


async def test_summarize_an_attached_document_in_chunks(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    inter = await fake_discord.invoke_slash(
        "summarize",
        {"length": "short"},
        attachments={"file": ("minutes.txt", (STORY * 6).encode())},
    )
    message = await final_message(inter, timeout=60)
    assert inter.response_time < 3
    footer = message.embeds[-1]["footer"]["text"]
    assert footer.startswith("From minutes.txt · ")
    chunks, rounds = (int(part.split()[0]) for part in footer.split(" · ")[1].split(", "))
    assert chunks > 1 and rounds > 1


async def test_summarize_bad_input(fake_discord: FakeDiscord, start_bot: BotFactory) -> None:
    await start_bot()
    inter = await fake_discord.invoke_slash("summarize", {"text": " \n "})
    assert await ephemeral_error(inter) == "⚠️ The text is empty."
    inter = await fake_discord.invoke_slash(
        "summarize", attachments={"file": ("story.docx", b"PK\x03\x04")}
    )
    assert "Attach a text file" in await ephemeral_error(inter)
    inter = await fake_discord.invoke_slash("summarize")
    assert "Give the text: type it, or attach" in await ephemeral_error(inter)
    assert not public_messages(fake_discord)


async def test_summarize_menu(fake_discord: FakeDiscord, start_bot: BotFactory) -> None:
    await start_bot()
    posted = await fake_discord.post_message(STORY)
    inter = await fake_discord.invoke_message_command("Summarize", posted)
    embed = (await final_message(inter)).embeds[0]
    assert embed["title"] == "Summary" and "chunk" in embed["footer"]["text"]


def test_a_long_summary_is_split_within_the_limits() -> None:
    summary = " ".join(f"Sentence number {i} of a long summary." for i in range(400))
    result = SummarizeResult(
        summary, 12, 2, 12_000, 3_000, truncated=True, model="/srv/models/distilbart"
    )
    messages = render(result, source="book.txt").messages
    assert len(messages) > 1
    embeds = [m.cards[0] for m in messages]
    assert all(len(e.description) <= EMBED_DESCRIPTION and len(e) <= EMBED_TOTAL for e in embeds)
    assert embeds[0].title == "Summary"
    assert embeds[-1].footer == (
        "From book.txt · 12 chunks, 2 rounds · 12,000 → 3,000 tokens · distilbart"
    )
    assert "too long to summarise in full" in embeds[-1].description
    assert " ".join(e.description for e in embeds).startswith(summary[:5000])


def test_an_empty_summary_still_gives_a_message() -> None:
    (message,) = render(SummarizeResult("", 1, 1, 5, 0, False)).messages
    assert message.cards[0].description == "*The model gave an empty summary.*"
