"""/story's components: the buttons under every turn, the idea buttons and the Write
modal. Each button is a ``DynamicItem`` named after its story (``story:<action>:<id>``),
so buttons on old messages keep working after a restart; the cog does the work."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord

from bot.cog import CogButton
from chat.cards import Button
from inference.tasks.story import MAX_TURN_CHARS
from store import StoryRecord

if TYPE_CHECKING:
    from .story import Story

log = logging.getLogger(__name__)

ID = r"(?P<story_id>[0-9a-f]{12})"
#: The Write modal's custom_id: its submission is read from it (``Story.on_interaction``).
TURN_MODAL = re.compile(rf"story:turn:{ID}")


def controls(story: StoryRecord) -> list[Button]:
    """The buttons under a story's header and each of its turns."""
    buttons: list[type[StoryButton]] = [WriteButton]
    if story.mode != "people":
        buttons += [ContinueButton, RetryButton]
    buttons += [UndoButton, IdeasButton, EndButton]
    return [button(story.id).as_button() for button in buttons]


class TurnModal(discord.ui.Modal):
    """The Write modal. Its submission is handled by ``Story.on_interaction`` from its
    ``custom_id`` (so a modal opened before a restart still lands)."""

    def __init__(self, story_id: str, default: str = "") -> None:
        super().__init__(title="Your turn", custom_id=f"story:turn:{story_id}", timeout=900)
        self.add_item(
            discord.ui.Label(
                text="Your turn",
                description=f"Up to {MAX_TURN_CHARS:,} characters",
                component=discord.ui.TextInput(
                    style=discord.TextStyle.paragraph,
                    custom_id="text",
                    min_length=1,
                    max_length=MAX_TURN_CHARS,
                    default=default or None,
                ),
            )
        )


def modal_value(data: dict[str, Any], custom_id: str) -> str:
    """A text input's value from a modal submission (in a label or an action row)."""
    for component in data.get("components") or []:
        for inner in [component.get("component"), *(component.get("components") or [])]:
            if isinstance(inner, dict) and inner.get("custom_id") == custom_id:
                return str(inner.get("value") or "")
    return ""


async def give_back(interaction: discord.Interaction, message: str, text: str) -> None:
    """Refuse a written turn, handing the text back so that nothing typed is lost."""
    embed = (
        discord.Embed(title="Your text, to keep", description=text[:4096]) if text.strip() else None
    )
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(message, embed=embed, ephemeral=True)  # type: ignore[arg-type]
        else:
            await interaction.followup.send(message, embed=embed, ephemeral=True)  # type: ignore[arg-type]
    except discord.HTTPException:
        log.warning("could not refuse a story turn of user %s", interaction.user.id)


class StoryButton(CogButton, template=r"(?!)"):
    """A story's button: its ``custom_id`` is ``story:<action>:<story id>``."""

    cog_name = "Story"
    action: str

    def __init__(self, story_id: str) -> None:
        super().__init__(f"story:{self.action}:{story_id}")
        self.story_id = story_id


def _button(
    action: str,
    label: str,
    emoji: str,
    style: discord.ButtonStyle,
    clicked: Callable[[StoryButton, Story, discord.Interaction], Awaitable[None]],
) -> type[StoryButton]:
    """A story button class: ``clicked(button, cog, interaction)`` does its work (errors
    and refusals are answered by ``CogButton``)."""
    return type(
        f"{label}Button",
        (StoryButton,),
        {"action": action, "label": label, "emoji": emoji, "style": style, "clicked": clicked},
        template=rf"story:{action}:{ID}",
    )


primary, secondary, danger = (
    discord.ButtonStyle.primary,
    discord.ButtonStyle.secondary,
    discord.ButtonStyle.danger,
)
WriteButton = _button("write", "Write", "✍️", primary, lambda s, c, i: c.open_modal(i, s.story_id))
ContinueButton = _button(
    "continue", "Continue", "🤖", primary, lambda s, c, i: c.model_turn(i, s.story_id)
)
RetryButton = _button(
    "retry", "Retry", "🔁", secondary, lambda s, c, i: c.model_turn(i, s.story_id, retry=True)
)
UndoButton = _button("undo", "Undo", "↩️", secondary, lambda s, c, i: c.undo(i, s.story_id))
IdeasButton = _button(
    "ideas", "Ideas", "💡", secondary, lambda s, c, i: c.model_turn(i, s.story_id, ideas=True)
)
EndButton = _button("end", "End", "🏁", danger, lambda s, c, i: c.end(i, s.story_id))


class IdeaButton(CogButton, template=rf"story:idea:{ID}:(?P<n>[0-2])"):
    """One idea: its text is the button's label (read back from the message)."""

    cog_name = "Story"
    label = "Idea"
    emoji = "💡"
    style = discord.ButtonStyle.success

    def __init__(self, story_id: str, n: int | str, idea: str = "") -> None:
        super().__init__(f"story:idea:{story_id}:{n}")
        self.story_id = story_id
        self.item.label = idea[:80] or "Idea"

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> IdeaButton:
        return cls(match["story_id"], match["n"], getattr(item, "label", None) or "")

    async def clicked(self, cog: Story, interaction: discord.Interaction) -> None:
        await cog.idea(interaction, self.story_id, self.item.label or "")


BUTTONS: tuple[type[CogButton], ...] = (
    WriteButton,
    ContinueButton,
    RetryButton,
    UndoButton,
    IdeasButton,
    EndButton,
    IdeaButton,
)
