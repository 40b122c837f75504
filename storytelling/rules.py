"""Whose turn it is, and who may undo, redo or skip.

- ``together``: people and the model alternate; nobody writes two people-turns in a row
  while others take part.
- ``solo``: only the starter writes and asks the model.
- ``people``: people take turns (nobody twice in a row while others take part); the
  model only offers ideas.

The starter and moderators may skip a turn: the next turn is then free for anyone. A
finished story refuses everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


class Refusal(Exception):
    """Why someone may not do that now; its message is shown to them as is."""


@dataclass(frozen=True)
class TurnView:
    #: Who wrote it (a person) or asked for it (the model's turn).
    user: str
    model: bool = False


@dataclass
class StoryState:
    mode: str
    starter: str
    turns: Sequence[TurnView] = field(default_factory=tuple)
    ended: bool = False
    #: The number of turns when a turn was last skipped (-1: never).
    skip_at: int = -1

    @property
    def skipped(self) -> bool:
        return self.skip_at == len(self.turns)

    @property
    def last(self) -> TurnView | None:
        return self.turns[-1] if self.turns else None

    def others_take_part(self, user: str) -> bool:
        return any(not t.model and t.user != user for t in self.turns)

    def last_person(self) -> str | None:
        return next((t.user for t in reversed(self.turns) if not t.model), None)


ENDED = "🏁 This story has ended. Start a new one with /story start."


def _open(state: StoryState) -> None:
    if state.ended:
        raise Refusal(ENDED)


def _solo(state: StoryState, user: str, moderator: bool) -> None:
    if state.mode == "solo" and user != state.starter and not moderator:
        raise Refusal(
            f"✋ This is <@{state.starter}>'s solo story: only they write it. "
            "Start your own with /story start."
        )


def check_write(state: StoryState, user: str, *, moderator: bool = False) -> None:
    """Raise ``Refusal`` unless ``user`` may write the next turn."""
    _open(state)
    _solo(state, user, moderator)
    if state.mode == "solo" or state.skipped:
        return
    last = state.last
    if state.mode == "together" and last is not None and not last.model:
        raise Refusal("⏳ It's the model's turn now: press **Continue**.")
    if state.last_person() == user and state.others_take_part(user):
        raise Refusal("⏳ You wrote the last turn: let someone else write the next one.")


def check_continue(
    state: StoryState, user: str, *, moderator: bool = False, retry: bool = False
) -> None:
    """Raise ``Refusal`` unless ``user`` may have the model write (``retry``: write its
    last turn again)."""
    _open(state)
    if state.mode == "people":
        raise Refusal("✍️ In this story only people write; press **Ideas** for suggestions.")
    _solo(state, user, moderator)
    last = state.last
    if retry:
        if last is None or not last.model:
            raise Refusal("There is no turn of the model to write again.")
        if user not in (last.user, state.starter) and not moderator:
            raise Refusal(
                f"🔒 Only <@{last.user}>, who asked for that turn, the story's starter or a "
                "moderator can redo it."
            )
        return
    if state.mode == "together" and last is not None and last.model and not state.skipped:
        raise Refusal("⏳ It's a person's turn now: press **Write**.")


def check_undo(state: StoryState, user: str, *, moderator: bool = False) -> None:
    """Raise ``Refusal`` unless ``user`` may take back the last turn: its author (or
    whoever asked the model for it), the starter or a moderator."""
    _open(state)
    last = state.last
    if last is None:
        raise Refusal("There is no turn to undo.")
    if user not in (last.user, state.starter) and not moderator:
        raise Refusal(
            f"🔒 Only <@{last.user}>, the story's starter or a moderator can undo the last turn."
        )


def check_starter(state: StoryState, user: str, *, moderator: bool = False, what: str) -> None:
    """Raise ``Refusal`` unless ``user`` started the story or moderates."""
    _open(state)
    if user != state.starter and not moderator:
        raise Refusal(f"🔒 Only the story's starter or a moderator can {what}.")
