"""The Discord renderer: cards as embeds and back, buttons as a view that discord.py does
not keep, messages as keyword arguments, choices as ``app_commands.Choice``s."""

from __future__ import annotations

import random
import re

import discord

from bot.render import app_choices, card_from_embed, embed, message_kwargs, view
from chat.cards import Button, Card, Message
from chat.render.base import escape


def full_card() -> Card:
    card = Card(
        title="Title",
        description="Text",
        colour=0x2ECC71,
        footer="Footer",
        author="🤖 Model",
        image="picture.png",
        url="https://example.com/x",
    )
    return card.add_field(name="Seed", value="`42`").add_field(name="Long", value="v", inline=False)


def test_a_card_goes_out_as_an_embed_and_comes_back_the_same() -> None:
    card = full_card()
    shown = embed(card)
    assert shown.image.url == "attachment://picture.png"
    assert shown.colour == discord.Colour.green() and shown.footer.text == "Footer"
    assert len(shown) == len(card)
    assert card_from_embed(shown) == card
    # as a message comes back from Discord (a dict), an attachment's image is a CDN link
    received = discord.Embed.from_dict(shown.to_dict() | {"image": {"url": "https://cdn/x.png"}})
    assert card_from_embed(received).image is None
    assert card_from_embed(discord.Embed()) == Card(colour=None)


async def test_buttons_go_out_in_a_view_that_discord_py_does_not_keep() -> None:
    buttons = [Button("generate:continue", "Continue", "➡️"), Button("x:y", "Undo", "", "danger")]
    shown = view(buttons)
    items = shown.children
    assert [(i.custom_id, i.label, str(i.emoji or "")) for i in items] == [  # type: ignore[attr-defined]
        ("generate:continue", "Continue", "➡️"),
        ("x:y", "Undo", ""),
    ]
    assert items[1].style is discord.ButtonStyle.danger  # type: ignore[attr-defined]
    # a finished view is not stored: a click goes to the DynamicItem its custom_id matches
    assert shown.timeout is None and shown.is_finished()


async def test_message_kwargs() -> None:
    message = Message(content="hi", cards=[Card(title="T")], files=[("a.png", b"png")])
    sent = message_kwargs(message)
    assert sent["content"] == "hi" and sent["embeds"][0].title == "T" and "view" not in sent
    assert [f.filename for f in sent["files"]] == ["a.png"]
    edited = message_kwargs(Message(buttons=[]), edit=True)
    assert edited["attachments"] == [] and edited["view"].children == []  # buttons removed


def test_app_choices() -> None:
    (choice,) = app_choices([("512x512 (square)", "512x512")])
    assert (choice.name, choice.value) == ("512x512 (square)", "512x512")


# What ``escape`` did when it called discord.py's escape_markdown: the same still.
_UNESCAPED = re.compile(r"(?<!\\)((?:\\\\)*)([*_~|`])")


def test_escape_escapes_as_discord_py_does() -> None:
    chars = "*_~|`\\>#-[]() ab\n"
    samples = random.Random(16)
    for _ in range(20_000):
        text = "".join(samples.choice(chars) for _ in range(samples.randint(0, 14)))
        discords = discord.utils.escape_markdown(text, ignore_links=False)
        assert escape(text) == _UNESCAPED.sub(r"\1\\\2", discords), text
