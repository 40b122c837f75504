"""The showcase's buttons: Share under a result, ⭐ and Remove under a showcase post.

All are persistent ``DynamicItem``s: Share reads the result from the message it sits on,
⭐ and Remove carry their post's id, so they work after a restart. The Showcase cog
registers them; renderers add Share with ``with_share`` (the /story export too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from chat.cards import Reply

from ..cog import CogButton

if TYPE_CHECKING:
    from store import Post

    from .service import ShowcaseService


def _service(interaction: discord.Interaction) -> ShowcaseService:
    return interaction.client.showcase  # type: ignore[attr-defined,no-any-return]


class ShareButton(CogButton, template=r"showcase:share"):
    """Reposts the result it sits on in the server's showcase channel (its maker only)."""

    cog_name = "Showcase"
    label = "Share"
    emoji = "📣"
    style = discord.ButtonStyle.secondary

    def __init__(self) -> None:
        super().__init__("showcase:share")

    async def clicked(self, cog: Any, interaction: discord.Interaction) -> None:
        await _service(interaction).share(interaction)


class VoteButton(CogButton, template=r"showcase:vote:(?P<post_id>[0-9]{1,18})"):
    """One vote per member; a second click takes it back. Its label is the count."""

    cog_name = "Showcase"
    label = "0"
    emoji = "⭐"
    style = discord.ButtonStyle.secondary

    def __init__(self, post_id: str, votes: int = 0) -> None:
        super().__init__(f"showcase:vote:{post_id}")
        self.item.label = str(votes)
        self.post_id = int(post_id)

    async def clicked(self, cog: Any, interaction: discord.Interaction) -> None:
        await _service(interaction).vote(interaction, self.post_id)


class RemoveButton(CogButton, template=r"showcase:remove:(?P<post_id>[0-9]{1,18})"):
    """Takes a post off the showcase and the gallery (moderators: Manage Messages)."""

    cog_name = "Showcase"
    label = "Remove"
    emoji = "🗑️"
    style = discord.ButtonStyle.danger

    def __init__(self, post_id: str) -> None:
        super().__init__(f"showcase:remove:{post_id}")
        self.post_id = int(post_id)

    async def clicked(self, cog: Any, interaction: discord.Interaction) -> None:
        await _service(interaction).remove(interaction, self.post_id)


BUTTONS = (ShareButton, VoteButton, RemoveButton)


def post_view(post: Post) -> discord.ui.View:
    """The buttons of a showcase post, the vote count on ⭐."""
    view = discord.ui.View(timeout=None)
    view.add_item(VoteButton(str(post.id), post.votes))
    view.add_item(RemoveButton(str(post.id)))
    return view


def with_share(reply: Reply) -> Reply:
    """``reply`` with a Share button on its last message (beside any buttons it has).
    Renderers of shareable results call it: /imagine, /speak, /generate, /story export."""
    last = reply.messages[-1]
    last.buttons = [*(last.buttons or []), ShareButton().as_button()]
    return reply
