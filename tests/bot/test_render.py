"""Splitting and formatting within Discord's limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.render import app_choices
from chat.render.base import (
    CHOICE_CHARS,
    EMBED_DESCRIPTION,
    MAX_CHOICES,
    MESSAGE_CHARS,
    bar,
    byte_size,
    choices,
    clip,
    describe_wait,
    duration,
    plural,
    split_text,
    text_messages,
)
from inference import JobState, JobUpdate
from inference.naming import display_name


def test_short_text_is_one_chunk() -> None:
    assert split_text("hello") == ["hello"]


def test_chunks_respect_the_limit_and_keep_every_word() -> None:
    text = " ".join(f"word{i}" for i in range(2000))
    chunks = split_text(text)
    assert len(chunks) > 1
    assert all(len(c) <= MESSAGE_CHARS for c in chunks)
    assert " ".join(chunks).split() == text.split()


def test_splits_prefer_paragraphs() -> None:
    text = "a" * 1500 + "\n\n" + "b" * 1500
    assert split_text(text) == ["a" * 1500, "b" * 1500]


def test_a_word_longer_than_the_limit_is_cut() -> None:
    chunks = split_text("x" * 5000)
    assert [len(c) for c in chunks] == [1996, 1996, 1008]


def test_code_blocks_are_closed_and_reopened() -> None:
    code = "\n".join(f"print({i})" for i in range(400))
    text = f"Here:\n```python\n{code}\n```\nDone."
    chunks = split_text(text)
    assert len(chunks) > 1
    for chunk in chunks:
        assert len(chunk) <= MESSAGE_CHARS
        assert chunk.count("```") % 2 == 0, chunk[-50:]
    assert chunks[1].startswith("```python\n")
    body = "".join(chunks)
    assert all(f"print({i})" in body for i in range(400))


def test_text_messages_paginate_embeds() -> None:
    messages = text_messages("y " * 5000, title="Summary", footer="model x")
    assert len(messages) == 3
    assert messages[0].cards[0].title == "Summary"
    assert messages[-1].cards[0].footer == "model x"
    assert all(len(m.cards[0].description) <= EMBED_DESCRIPTION for m in messages)


def test_bar_and_clip() -> None:
    assert bar(0.0) == "░" * 10
    assert bar(0.31) == "███░░░░░░░"
    assert bar(2.0) == "█" * 10
    assert clip("abcdef", 4) == "abc…"
    assert clip("abc", 4) == "abc"


def test_sizes_durations_and_plurals() -> None:
    assert [byte_size(n) for n in (300, 512 * 2**10, 1000 * 2**10, 8 * 2**20 + 2**19)] == [
        "300 bytes",
        "512 KiB",
        "1000 KiB",
        "8.5 MiB",
    ]
    assert [duration(s) for s in (0, 65, 3605, 2 * 86400 + 3 * 3600)] == [
        "0 s",
        "1 min 5 s",
        "1 h 5 s",
        "2 d 3 h",
    ]
    assert [plural(1, "chunk"), plural(3, "chunk"), plural(2, "entity", "entities")] == [
        "1 chunk",
        "3 chunks",
        "2 entities",
    ]


def test_models_are_named_without_the_servers_paths(tmp_path: Path) -> None:
    assert display_name("Helsinki-NLP/opus-mt-en-fr") == "Helsinki-NLP/opus-mt-en-fr"
    assert display_name(str(tmp_path / "models" / "tiny-gpt2")) == "tiny-gpt2"


def test_choices_stay_within_discords_limits() -> None:
    options = [("long " * 30, "a"), ("b", "x" * (CHOICE_CHARS + 1))]
    options += [(f"n{i}", f"v{i}") for i in range(40)]
    answer = app_choices(choices(options))
    assert len(answer) == MAX_CHOICES
    assert len(answer[0].name) <= CHOICE_CHARS and answer[0].value == "a"
    assert all(len(c.value) <= CHOICE_CHARS for c in answer)  # the long value is left out


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        (JobUpdate(JobState.QUEUED, 0, None, 0.1), "next in line"),
        (JobUpdate(JobState.QUEUED, 1, None, 0.1), "1 request ahead of yours"),
        (JobUpdate(JobState.QUEUED, 4, None, 0.1), "4 requests ahead of yours"),
        (JobUpdate(JobState.LOADING, None, None, 0.1), "Loading the model"),
        (JobUpdate(JobState.RUNNING, None, (5, 20), 10.0), "Step 5/20"),
        (JobUpdate(JobState.RUNNING, None, (5, 20), 10.0), "about 30 s left"),
    ],
)
def test_wait_lines(update: JobUpdate, expected: str) -> None:
    assert expected in describe_wait(update)
