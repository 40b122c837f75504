"""Prompt building within a context budget, measured with a tokenizer of known lengths
(one token per word)."""

from __future__ import annotations

import pytest

from storytelling import StoryInput, Turn, build_prompt
from storytelling.presets import UnknownChoice, form_of, genre_of, mode_of
from storytelling.prompt import (
    IDEA_QUESTION,
    SAFE,
    SEPARATOR,
    idea_prompt,
    instructions,
    summary_source,
)


def words(text: str) -> int:
    return len(text.split())


def turns(*sizes: int) -> tuple[Turn, ...]:
    """Turns of known lengths: turn n is ``size`` copies of the word ``t<n>``."""
    return tuple(Turn(" ".join([f"t{n}"] * size), model=n % 2 == 1) for n, size in enumerate(sizes))


STORY = StoryInput(
    premise="A lighthouse keeper finds a map",
    genre="mystery",
    form="sijo",
    memory="The keeper is called Ines",
    note="terse, present tense",
    summary="Ines found the map in a bottle",
    turns=turns(10, 10, 10, 10),
)


def test_every_part_is_in_the_instructions() -> None:
    head = instructions(STORY)
    for part in (STORY.premise, STORY.memory, STORY.note, STORY.summary, "sijo", "mystery", SAFE):
        assert part in head
    assert "14 to 16 syllables" in head and "twist" in head
    assert SAFE not in instructions(StoryInput("x", safe=False))


def test_the_newest_turns_that_fit_are_kept() -> None:
    head = words(build_prompt(StoryInput(STORY.premise), words, 10_000).instructions)
    full = build_prompt(STORY, words, 10_000)
    assert (full.fitted, full.left_out) == (4, 0)
    budget = words(full.instructions) + 25  # room for two turns of ten words, not three
    cut = build_prompt(STORY, words, budget)
    assert (cut.fitted, cut.left_out) == (2, 2)
    assert cut.story == SEPARATOR.join(["t2 " * 9 + "t2", "t3 " * 9 + "t3"]) + SEPARATOR
    assert words(cut.instructions) + words(cut.story) <= budget
    assert head < words(full.instructions)  # memory, note and summary cost tokens too


def test_turns_stay_contiguous_and_the_latest_is_always_kept() -> None:
    story = StoryInput("x", turns=turns(3, 50, 3))
    prompt = build_prompt(story, words, words(instructions(story)) + 40)
    assert prompt.fitted == 1  # the short oldest turn is not picked past the long one
    tiny = build_prompt(StoryInput("x", turns=turns(500)), words, 10)
    assert (tiny.fitted, tiny.left_out) == (1, 0)  # the model's own truncation cuts it


def test_ideas_leave_room_for_the_question() -> None:
    story = StoryInput("x", turns=turns(10, 10))
    turn = build_prompt(story, words, 10_000)
    ideas = build_prompt(story, words, 10_000, ideas=True)
    assert "Continue the story" in turn.instructions
    assert "Continue the story" not in ideas.instructions
    text = idea_prompt(ideas)
    assert text.endswith("suggest one way the story could go next.")
    assert "The story so far:" in text and "t1" in text
    budget = words(ideas.instructions + IDEA_QUESTION) + 15  # one turn of ten words
    assert build_prompt(story, words, budget, ideas=True).fitted == 1


def test_summary_source_puts_the_old_summary_first() -> None:
    assert summary_source("Before.", [Turn("One."), Turn("Two.")]) == "Before.\n\nOne.\n\nTwo."
    assert summary_source("", [Turn("One.")]) == "One."


def test_presets() -> None:
    assert genre_of(None) == "fantasy" and genre_of(" Sci_Fi ".replace("_", "-")) == "sci-fi"
    assert form_of("Free_Verse") == "free verse" and mode_of("PEOPLE") == "people"
    with pytest.raises(UnknownChoice, match="choose one of prose, free verse, haiku"):
        form_of("limerick")
