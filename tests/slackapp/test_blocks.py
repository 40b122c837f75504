"""The Slack renderer: Discord markdown as mrkdwn, cards as Block Kit within every
limit (checked by slack_sdk's own models), split over messages rather than refused."""

from __future__ import annotations

import pytest
from slack_sdk.models.blocks import Block

from chat.cards import Button, Card, Field, Message
from slackapp.blocks import MAX_BLOCKS, SECTION_CHARS, button, payloads
from slackapp.mrkdwn import mrkdwn, plain


def valid(payload: dict) -> list[dict]:
    blocks = payload["blocks"]
    assert 0 < len(blocks) <= MAX_BLOCKS
    for block in blocks:
        Block.parse(block).validate_json()
        if block["type"] == "section" and "text" in block:
            assert 0 < len(block["text"]["text"]) <= SECTION_CHARS
        for field in block.get("fields", []):
            assert len(field["text"]) <= 2000
    assert payload["text"]
    return blocks


@pytest.mark.parametrize(
    ("markdown", "slack"),
    [
        ("**Positive** 98%", "*Positive* 98%"),
        ("*quite* sure and _this_", "_quite_ sure and _this_"),
        ("~~gone~~ ||hidden|| __under__", "~gone~ hidden under"),
        (r"a \*literal\* star", "a *literal* star"),
        ("x < y & z > w", "x &lt; y &amp; z &gt; w"),
        ("`a<b` **`c`**", "`a&lt;b` *`c`*"),
        ("```py\nif a<b: **no**\n```", "```if a&lt;b: **no**\n```"),
        ("[docs](https://x.org/?a=1&b=2)", "<https://x.org/?a=1&amp;b=2|docs>"),
        ("> quoted", "&gt; quoted"),
        ("# Title", "*Title*"),
        ("snake_case_name 2*3*4", "snake_case_name 2*3*4"),
        (
            "@here @channel @everyone <!channel>",
            "@\u200bhere @\u200bchannel @\u200beveryone &lt;!channel&gt;",
        ),
    ],
)
def test_markdown_becomes_mrkdwn(markdown: str, slack: str) -> None:
    assert mrkdwn(markdown) == slack


def test_plain_text_has_no_marks() -> None:
    assert plain(r"**Bold** \*x\* [a](http://b) @here") == "Bold *x* a @\u200bhere"


def test_a_card_is_a_header_sections_fields_and_small_print() -> None:
    card = Card(
        title="Sentiment",
        description="**Positive**\n-# small print one\n-# small print two\nmore",
        fields=[Field("Score", "98%"), Field("Label", "positive"), Field("Text", "long", False)],
        footer="model-x",
        author="by someone",
    )
    (payload,) = payloads(Message(cards=[card], buttons=[Button("imagine:again", "Again", "🔁")]))
    blocks = valid(payload)
    assert [b["type"] for b in blocks] == [
        "context", "header", "section", "context", "section",
        "section", "section", "context", "actions",
    ]  # fmt: skip
    assert blocks[3]["elements"][1]["text"] == "small print two"
    assert blocks[5]["fields"][0]["text"] == "*Score*\n98%"
    assert all(
        e.get("verbatim")
        for b in blocks
        for e in [b.get("text") or {}]
        if e.get("type") == "mrkdwn"
    )
    assert blocks[-1]["elements"][0]["action_id"] == "imagine:again"


def test_long_text_is_split_into_sections_and_messages() -> None:
    text = "\n\n".join(f"Paragraph {n}: " + "word & <b> " * 120 for n in range(60))
    pages = payloads(Message(content=text, buttons=[Button("generate:continue", "Continue")]))
    assert len(pages) >= 2
    shown = ""
    for page in pages:
        blocks = valid(page)
        shown += "".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert shown.count("Paragraph") == 60 and "&lt;b&gt;" in shown
    assert pages[-1]["blocks"][-1]["type"] == "actions"
    assert all(b["type"] != "actions" for p in pages[:-1] for b in p["blocks"])


def test_many_fields_and_long_ones_fit() -> None:
    fields = [Field(f"F{n}", "v" * 50) for n in range(23)] + [Field("Big", "x" * 2500)]
    (payload,) = payloads(Message(cards=[Card(title="t" * 400, fields=fields)]))
    blocks = valid(payload)
    assert len(blocks[0]["text"]["text"]) == 150  # the header, clipped
    assert [len(b.get("fields", [])) for b in blocks[1:4]] == [10, 10, 3]


def test_a_code_block_split_over_sections_stays_code() -> None:
    code = "```\n" + "\n".join(f"line {n} <tag>" for n in range(400)) + "\n```"
    (payload,) = payloads(Message(content=code))
    for block in valid(payload):
        text = block["text"]["text"]
        assert text.startswith("```") and text.endswith("```")


def test_a_message_of_files_only_has_no_blocks() -> None:
    assert payloads(Message(files=[("a.png", b"x")])) == []


def test_a_button_value_past_slacks_limit_is_refused_not_clipped() -> None:
    with pytest.raises(ValueError, match="too long"):
        button(Button("x", "X", value="v" * 2001))
    element = button(Button("x", "Cancel", "✖️", "secondary", value="v" * 2000))
    assert "style" not in element and element["text"]["text"] == "✖️ Cancel"


def test_text_that_grows_when_escaped_still_fits() -> None:
    pages = payloads(Message(content="&<>" * 3000, cards=[Card(description="<" * 9000)]))
    sections = [b for page in pages for b in valid(page) if b["type"] == "section"]
    assert sum(b["text"]["text"].count("&lt;") for b in sections) == 3000 + 9000
