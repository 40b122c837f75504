"""How a story looks: its pinned header, its turns, its ideas, and its Markdown export.
(The buttons are the platform's: ``cogs/story_controls.py`` on Discord.)"""

from __future__ import annotations

import re

from store import StoryRecord, TurnRecord
from storytelling import MODES

from ..cards import COLOUR, Card

PERSON_COLOUR = COLOUR
MODEL_COLOUR = 0x1ABC9C  # teal
HEADER_COLOUR = 0xF1C40F  # gold
#: A thread's name holds 100 characters.
THREAD_NAME_CHARS = 90


def thread_name(premise: str) -> str:
    name = " ".join(premise.split())
    if len(name) > THREAD_NAME_CHARS:
        name = name[: THREAD_NAME_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return f"📖 {name}"


def header_card(story: StoryRecord) -> Card:
    """The pinned first message of a story's thread: what it is, memory and note."""
    status = "🏁 The end" if story.ended else "Take turns with the buttons under any turn"
    card = Card(title="📖 A story", description=story.premise, colour=HEADER_COLOUR)
    card.add_field(name="Genre", value=story.genre)
    card.add_field(name="Form", value=story.form)
    card.add_field(name="Mode", value=f"{story.mode}: {MODES[story.mode]}", inline=False)
    card.add_field(
        name="🧠 Memory", value=story.memory or "(none yet: /story memory)", inline=False
    )
    card.add_field(
        name="✒️ Author's note", value=story.note or "(none yet: /story note)", inline=False
    )
    card.add_field(name="Started by", value=f"<@{story.starter_id}>")
    card.footer = f"{status} · /story export for the whole story"
    return card


def turn_card(story: StoryRecord, turn: TurnRecord, number: int) -> Card:
    """One turn: its text (up to 4,000 characters fit a card), by whom."""
    author = f"🤖 {turn.author_name}" if turn.model else f"✍️ {turn.author_name}"
    return Card(
        description=turn.text,
        colour=MODEL_COLOUR if turn.model else PERSON_COLOUR,
        author=author[:256],
        footer=f"Turn {number} · {story.genre} · {story.form}",
    )


def ideas_card(ideas: list[str]) -> Card:
    lines = "\n".join(f"{n}. {idea}" for n, idea in enumerate(ideas, 1))
    return Card(
        title="💡 Where could the story go?",
        description=f"{lines}\n\nPick one: the model follows it, or you write it.",
        colour=HEADER_COLOUR,
    )


def export_markdown(story: StoryRecord) -> str:
    """The whole story as Markdown: title, settings, authors, then each turn by whom."""
    authors = list(
        dict.fromkeys(t.author_name + (" (model)" if t.model else "") for t in story.turns)
    )
    lines = [
        f"# {_one_line(story.premise)}",
        "",
        f"*{story.genre} · {story.form} · {story.mode}*",
        "",
        f"**Authors:** {', '.join(authors) if authors else '(no turns yet)'}",
    ]
    if story.memory:
        lines += ["", f"**Memory:** {_one_line(story.memory)}"]
    if story.note:
        lines += ["", f"**Author's note:** {_one_line(story.note)}"]
    lines += ["", "---"]
    for number, turn in enumerate(story.turns, 1):
        by = f"{turn.author_name} (model)" if turn.model else turn.author_name
        lines += ["", f"## {number} · {_one_line(by)}", "", turn.text.strip()]
    if story.ended:
        lines += ["", "---", "", "*The end.*"]
    return "\n".join(lines) + "\n"


def export_filename(story: StoryRecord) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", story.premise.lower()).strip("-")[:40] or "story"
    return f"story-{slug}.md"


def _one_line(text: str) -> str:
    return " ".join(text.split())
