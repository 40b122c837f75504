"""What a reply is made of, on any platform: messages of text, cards, files and buttons.

The renderers (``chat.render``) build these from inference results; each platform turns
them into its own format: Discord embeds and views (``bot.render``), Slack
Block Kit (``slackapp.blocks``). Text is markdown as Discord writes it (``**bold**``,
``-# small print``); Slack's renderer translates it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# Colours, as Discord's embed sidebar shows them (Slack shows none).
COLOUR = 0x5865F2
POSITIVE = 0x2ECC71
NEGATIVE = 0xE74C3C
NEUTRAL = 0x979C9F


@dataclass
class Field:
    name: str
    value: str
    inline: bool = True


@dataclass
class Card:
    """A titled block of text with fields and a footer: a Discord embed, a few Slack
    blocks. ``image`` names a file of the same message to show in it."""

    title: str | None = None
    description: str | None = None
    colour: int | None = COLOUR
    fields: list[Field] = field(default_factory=list)
    footer: str | None = None
    author: str | None = None
    image: str | None = None
    url: str | None = None

    def add_field(self, *, name: str, value: str, inline: bool = True) -> Card:
        self.fields.append(Field(name, value, inline))
        return self

    def __len__(self) -> int:
        """Characters that count towards Discord's 6,000 per message."""
        parts = [self.title, self.description, self.footer, self.author]
        parts += [text for f in self.fields for text in (f.name, f.value)]
        return sum(len(part) for part in parts if part)


Style = Literal["primary", "secondary", "success", "danger"]


@dataclass(frozen=True)
class Button:
    """A button whose click is handled by whoever registered ``action`` (a Discord
    ``custom_id``, a Slack ``action_id``): everything a click needs is in ``action``
    and ``value`` or in the message it sits on, so buttons keep working after a
    restart."""

    action: str
    label: str
    emoji: str = ""
    style: Style = "primary"
    #: Extra data for the click (Slack's button value: at most 2,000 characters).
    value: str = ""


@dataclass
class Message:
    """One message to send, or to put in place of a placeholder.

    ``buttons`` None leaves a placeholder's buttons as they are; an empty list
    removes them.
    """

    content: str | None = None
    cards: list[Card] = field(default_factory=list)
    files: list[tuple[str, bytes]] = field(default_factory=list)
    buttons: list[Button] | None = None


@dataclass
class Reply:
    """What the bot answers to one command: one message or several."""

    messages: list[Message]

    @classmethod
    def one(cls, **fields: Any) -> Reply:
        return cls([Message(**fields)])
