"""Whose turn it is in each mode; who may undo, redo and skip."""

from __future__ import annotations

import pytest

from storytelling import Refusal, StoryState, TurnView
from storytelling.rules import check_continue, check_starter, check_undo, check_write

A, B, C = "alice", "bob", "carol"
MODEL = True


def state(mode: str, *turns: tuple[str, bool], **kw: object) -> StoryState:
    return StoryState(mode, A, [TurnView(u, m) for u, m in turns], **kw)  # type: ignore[arg-type]


def test_together_alternates_people_and_the_model() -> None:
    s = state("together")
    check_write(s, A)
    check_continue(s, B)  # the model may open the story
    s = state("together", (A, False))
    with pytest.raises(Refusal, match="model's turn"):
        check_write(s, B)
    check_continue(s, B)
    s = state("together", (A, False), (B, MODEL))
    with pytest.raises(Refusal, match="person's turn"):
        check_continue(s, A)
    check_write(s, A)  # nobody else has written yet
    check_write(s, B)
    s = state("together", (A, False), (A, MODEL), (B, False), (B, MODEL))
    with pytest.raises(Refusal, match="let someone else"):
        check_write(s, B)
    check_write(s, A)
    check_write(s, C)  # a newcomer may join


def test_people_take_turns_and_the_model_only_offers_ideas() -> None:
    s = state("people", (A, False), (B, False))
    with pytest.raises(Refusal, match="Ideas"):
        check_continue(s, A)
    with pytest.raises(Refusal, match="let someone else"):
        check_write(s, B)
    check_write(s, A)


def test_solo_is_the_starters() -> None:
    s = state("solo", (A, False))
    check_write(s, A)
    check_continue(s, A)
    with pytest.raises(Refusal, match="solo story"):
        check_write(s, B)
    with pytest.raises(Refusal, match="solo story"):
        check_continue(s, B)
    check_write(s, B, moderator=True)


def test_undo_and_retry_belong_to_the_author_the_starter_and_moderators() -> None:
    s = state("together", (B, False), (C, MODEL))
    check_undo(s, C)  # C asked for the model's turn
    check_undo(s, A)  # the starter
    check_undo(s, B, moderator=True)
    with pytest.raises(Refusal, match="Only <@carol>"):
        check_undo(s, B)
    with pytest.raises(Refusal, match="Only <@carol>"):
        check_continue(s, B, retry=True)
    check_continue(s, C, retry=True)
    with pytest.raises(Refusal, match="no turn of the model"):
        check_continue(state("together", (B, False)), A, retry=True)
    with pytest.raises(Refusal, match="no turn to undo"):
        check_undo(state("together"), A)


def test_a_skip_frees_the_next_turn() -> None:
    s = state("together", (A, False), (B, MODEL), (B, False), (A, MODEL))
    with pytest.raises(Refusal):
        check_write(s, B)
    with pytest.raises(Refusal, match="Only the story's starter"):
        check_starter(s, B, what="skip a turn")
    s.skip_at = len(s.turns)
    check_write(s, B)
    check_continue(s, B)


def test_an_ended_story_refuses_everything() -> None:
    s = state("together", (A, False), ended=True)
    for check in (check_write, check_continue, check_undo):
        with pytest.raises(Refusal, match="has ended"):
            check(s, A)
