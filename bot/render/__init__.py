"""The Discord renderer: the neutral cards, buttons and choices of ``chat`` as embeds,
views and ``app_commands.Choice``s, and received embeds back as cards.

Buttons go out as plain ``discord.ui.Button``s whose ``custom_id`` is the button's
``action``. A click goes to the ``DynamicItem`` (a cog's ``CogButton``) whose template
matches that ``custom_id``, whatever view the message was sent with: discord.py's
``ViewStore.dispatch_view`` calls ``dispatch_dynamic_items`` for every click. The view
is stopped before it is sent, so that discord.py does not keep it (and each message's
buttons) in its view store: it only carries the buttons.

A result is rendered by the renderer its task registered with ``@renderer(task)`` (in
its cog: the buttons only Discord has), else by ``chat.render.render``; a job waits
with the Cancel button its task registered with ``@cancel_button(task)``, if any.
"""

from __future__ import annotations

import inspect
import io
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import discord
from discord import app_commands

from chat.cards import Button, Card, Field, Message, Reply
from chat.render import render
from inference import Result

from .meta import help_embed

ATTACHMENT = "attachment://"

#: ``renderer(result, render_args, max_bytes)``: the reply for a task's result.
Renderer = Callable[[Result, dict[str, Any], int], Reply | Awaitable[Reply]]
RENDERERS: dict[str, Renderer] = {}


def renderer(task: str) -> Callable[[Renderer], Renderer]:
    """Register how ``task``'s results are rendered (when ``render`` needs more than the
    JSON-safe ``render_args``: buttons, the upload limit)."""

    def register(fn: Renderer) -> Renderer:
        RENDERERS[task] = fn
        return fn

    return register


#: ``cancel(job_id)``: the Cancel button a task's job shows while it waits.
CANCEL_BUTTONS: dict[str, Callable[[str], Button]] = {}


def cancel_button(task: str) -> Callable[[Callable[[str], Button]], Callable[[str], Button]]:
    """Register the Cancel button that ``task``'s jobs show while they wait (in its cog,
    which handles the click)."""

    def register(fn: Callable[[str], Button]) -> Callable[[str], Button]:
        CANCEL_BUTTONS[task] = fn
        return fn

    return register


async def render_for(task: str, result: Result, args: dict[str, Any], max_bytes: int) -> Reply:
    fn = RENDERERS.get(task)
    reply = fn(result, args, max_bytes) if fn is not None else render(result, **args)
    if inspect.isawaitable(reply):
        reply = await reply
    return reply


def embed(card: Card) -> discord.Embed:
    """``card`` as an embed; its ``image`` names an attachment of the same message."""
    shown = discord.Embed(
        title=card.title, description=card.description, colour=card.colour, url=card.url
    )
    for field in card.fields:
        shown.add_field(name=field.name, value=field.value, inline=field.inline)
    if card.footer is not None:
        shown.set_footer(text=card.footer)
    if card.author is not None:
        shown.set_author(name=card.author)
    if card.image is not None:
        shown.set_image(url=ATTACHMENT + card.image)
    return shown


def card_from_embed(shown: discord.Embed) -> Card:
    """A received embed as the card it shows, for the readers of a message (Continue,
    Regenerate, Share)."""
    image = shown.image.url or ""
    return Card(
        title=shown.title,
        description=shown.description,
        colour=shown.colour.value if shown.colour is not None else None,
        fields=[Field(f.name or "", f.value or "", bool(f.inline)) for f in shown.fields],
        footer=shown.footer.text,
        author=shown.author.name,
        image=image.removeprefix(ATTACHMENT) if image.startswith(ATTACHMENT) else None,
        url=shown.url,
    )


def cards_of(message: discord.Message) -> list[Card]:
    """The cards a received message shows."""
    return [card_from_embed(shown) for shown in message.embeds]


def view(buttons: Iterable[Button]) -> discord.ui.View:
    """The buttons in a view that only carries them (see the module's docstring)."""
    shown = discord.ui.View(timeout=None)
    for button in buttons:
        shown.add_item(
            discord.ui.Button(
                custom_id=button.action,
                label=button.label,
                emoji=button.emoji or None,
                style=discord.ButtonStyle[button.style],
            )
        )
    shown.stop()  # (without a running loop there is nothing to stop, nor a store to keep it)
    return shown


def message_kwargs(message: Message, *, edit: bool = False) -> dict[str, Any]:
    """Keyword arguments for ``followup.send`` / ``channel.send`` (``edit``: for
    ``edit_original_response``, whose files are ``attachments``): content, embeds, the
    view when ``message.buttons`` is not None (an empty one removes buttons), files."""
    kwargs: dict[str, Any] = {
        "content": message.content,
        "embeds": [embed(card) for card in message.cards],
        "attachments" if edit else "files": [
            discord.File(io.BytesIO(data), filename=name) for name, data in message.files
        ],
    }
    if message.buttons is not None:
        kwargs["view"] = view(message.buttons)
    return kwargs


def app_choices(pairs: Iterable[tuple[str, str]]) -> list[app_commands.Choice[str]]:
    """(name, value) pairs, as ``chat.render.base.choices`` keeps them, as Discord's."""
    return [app_commands.Choice(name=name, value=value) for name, value in pairs]


__all__ = [
    "Renderer",
    "app_choices",
    "cancel_button",
    "card_from_embed",
    "cards_of",
    "embed",
    "help_embed",
    "message_kwargs",
    "render_for",
    "renderer",
    "view",
]
