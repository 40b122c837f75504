"""What the model reads for a story's next turn (or its ideas), within its context budget.

The instructions (genre, form, premise, memory, author's note, summary of earlier parts,
an optional direction) always come first; then as many of the latest turns as fit, the
newest kept. Turns that do not fit are reported (``left_out``) so that the caller can
fold them into the summary for the next turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .presets import FORMS, GENRES

#: Turns are separated by a blank line in what the model reads.
SEPARATOR = "\n\n"
SAFE = "Keep it suitable for all ages: no sexual content, no graphic violence, no slurs."


@dataclass(frozen=True)
class Turn:
    text: str
    #: Whether the model wrote it.
    model: bool = False


@dataclass(frozen=True)
class StoryInput:
    premise: str
    genre: str = "fantasy"
    form: str = "prose"
    memory: str = ""
    note: str = ""
    summary: str = ""
    #: The turns not yet folded into ``summary``, oldest first.
    turns: Sequence[Turn] = field(default_factory=tuple)
    #: Keep it safe for work (outside age-restricted channels).
    safe: bool = True
    #: Where the next part should go (an idea someone picked).
    direction: str = ""


@dataclass(frozen=True)
class Prompt:
    #: The instructions: a chat model's user message, or a completion model's opening.
    instructions: str
    #: The story so far (the last turns that fit), which the model continues.
    story: str
    #: How many of the latest turns are in ``story``.
    fitted: int
    #: How many older turns did not fit (the oldest ``left_out`` of ``turns``).
    left_out: int


#: What the model is asked for its turn (after the instructions, before the story).
CONTINUE_ASK = "Continue the story from where it stops; write only the next part."
#: What the model is asked for ideas (after the story so far).
IDEA_QUESTION = "In one short sentence, suggest one way the story could go next."


def instructions(story: StoryInput) -> str:
    form = FORMS[story.form]
    lines = [
        f"You are co-writing {GENRES[story.genre]}, taking turns with people.",
        form.instruction,
    ]
    if story.safe:
        lines.append(SAFE)
    lines.append(f"Premise: {story.premise}")
    if story.memory:
        lines.append(f"Always keep in mind: {story.memory}")
    if story.note:
        lines.append(f"Author's note (style to keep to): {story.note}")
    if story.summary:
        lines.append(f"What happened earlier: {story.summary}")
    if story.direction:
        lines.append(f"Where the next part goes: {story.direction}")
    return "\n".join(lines) + "\n"


def build_prompt(
    story: StoryInput, count: Callable[[str], int], budget: int, *, ideas: bool = False
) -> Prompt:
    """The prompt for ``story`` whose instructions and story take at most ``budget``
    tokens as ``count`` measures them (the newest turns first; the latest turn is always
    kept, even when it alone is over: the model's own truncation cuts its start)."""
    head = instructions(story) + ("" if ideas else CONTINUE_ASK + SEPARATOR)
    room = budget - count(head + IDEA_QUESTION if ideas else head)
    kept: list[str] = []
    for turn in reversed(story.turns):
        cost = count(turn.text + SEPARATOR)
        if kept and cost > room:
            break
        kept.append(turn.text)
        room -= cost
    kept.reverse()
    text = SEPARATOR.join(kept)
    if text and not ideas:
        text += SEPARATOR  # the next part starts a paragraph of its own
    return Prompt(head, text, len(kept), len(story.turns) - len(kept))


def idea_prompt(prompt: Prompt) -> str:
    """The whole question for one idea: the instructions, the story so far, the ask."""
    story = f"The story so far:\n{prompt.story}{SEPARATOR}" if prompt.story else ""
    return prompt.instructions + story + IDEA_QUESTION


def summary_source(summary: str, turns: Sequence[Turn]) -> str:
    """The text to summarise when ``turns`` are folded into ``summary``."""
    return SEPARATOR.join(
        [summary, *(t.text for t in turns)] if summary else [t.text for t in turns]
    )
