"""The neutral renderers: no platform library, cards within the limits, choices as pairs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from chat.cards import Button, Card
from chat.render import render
from chat.render.base import CHOICE_CHARS, MAX_CHOICES, choices, escape
from chat.render.generate import NOTHING_NEW, story_from_cards
from chat.render.imagine import request_from_card, size_choices
from chat.render.translate import language_choices
from inference.tasks.generate import GenerateResult

ROOT = Path(__file__).resolve().parents[2]


def test_chat_loads_no_platform_library() -> None:
    check = (
        "import sys, pkgutil, importlib, chat;"
        "[importlib.import_module(m.name) for m in pkgutil.walk_packages(chat.__path__, 'chat.')];"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('discord', 'slack_sdk', 'slack_bolt', 'bot', 'cogs', 'slackapp'));"
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_escape_escapes_every_markdown_character() -> None:
    assert escape("a*b_c~d|e`f") == r"a\*b\_c\~d\|e\`f"
    assert escape("2 * 3") == r"2 \* 3"  # a lone star too: a slice may be followed by **
    assert escape(r"back\slash") == r"back\\slash"
    assert escape("# Title\n> quote\n- item") == "\\# Title\n\\> quote\n\\- item"
    assert escape("[x*y](https://e.com)") == r"\[x\*y](https://e.com)"


def test_choices_are_pairs_within_the_limits() -> None:
    options = [("long " * 30, "a"), ("b", "x" * (CHOICE_CHARS + 1))]
    options += [(f"n{i}", f"v{i}") for i in range(40)]
    kept = choices(options)
    assert len(kept) == MAX_CHOICES
    assert len(kept[0][0]) <= CHOICE_CHARS and kept[0][1] == "a"
    assert all(len(value) <= CHOICE_CHARS for _, value in kept)


def test_autocomplete_helpers_give_name_value_pairs() -> None:
    assert size_choices("512", 1024)[0] == ("512x512 (square)", "512x512")
    assert ("fr>de (German)", "fr>de") in language_choices("fr>de", chain=True)


def test_a_generate_part_is_read_back_from_its_cards() -> None:
    result = GenerateResult(
        prompt="Once",
        text=" upon a time",
        full_text=" upon a time",
        tokens=4,
        finish_reason="length",
        seed=7,
        temperature=0.7,
        top_p=1.0,
        sampling="request",
        model="gpt2",
        chat=False,
        truncated=False,
    )
    buttons = [Button("generate:continue", "Continue", "➡️")]
    (message,) = render(result, max_tokens=4, buttons=buttons).messages
    assert message.buttons == buttons
    story = story_from_cards(message.cards)
    assert story is not None and (story.prompt, story.text) == ("Once", " upon a time")
    assert story_from_cards(message.cards[1:]) is None  # an edited message holds none


def test_a_part_with_nothing_visible_says_so_and_reads_back_empty() -> None:
    # the model ended the text at once, or wrote only control characters
    for text, finish in (("", "stop"), ("\x00\x07", "length")):
        result = GenerateResult(
            prompt="Once",
            text=text,
            full_text=" upon a time" + text,
            tokens=len(text),
            finish_reason=finish,
            seed=7,
            temperature=0.7,
            model="gpt2",
            chat=False,
            truncated=False,
        )
        (message,) = render(result, max_tokens=4).messages
        assert message.cards[-1].description == NOTHING_NEW
        story = story_from_cards(message.cards)
        assert story is not None and story.text == " upon a time"


def test_an_image_request_is_read_back_from_its_card() -> None:
    card = Card(description=r"a \*cat\*").add_field(name="Steps", value="4")
    card.add_field(name="Size", value="512x512")
    assert request_from_card(card) == {"prompt": "a *cat*", "steps": 4, "size": "512x512"}
    assert request_from_card(Card(description="no fields")) is None
