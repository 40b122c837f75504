"""Reading typed command lines and modal submissions from the catalogue."""

from __future__ import annotations

import pytest

from chat.catalogue import COMMANDS, command
from slackapp import forms
from slackapp.parse import UsageError, parse_command


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "translate",
            "fr&gt;de Hello there",
            {"source": "fr", "target": "de", "text": "Hello there"},
        ),
        ("translate", "de Hello", {"target": "de", "text": "Hello"}),
        ("translate", "en>fr>de Hi", {"source": "en", "target": "fr>de", "text": "Hi"}),
        (
            "translate",
            "target:de source:auto Hallo",
            {"target": "de", "source": "auto", "text": "Hallo"},
        ),
        ("classify", '"labels: a, b" The text', {"labels": "a, b", "text": "The text"}),
        (
            "classify",
            "labels:“a, b” multi_label:YES x",
            {"labels": "a, b", "multi_label": True, "text": "x"},
        ),
        (
            "classify",
            "labels:a multi_label:off x",
            {"labels": "a", "multi_label": False, "text": "x"},
        ),
        (
            "generate",
            "max_tokens:60 temperature:0.5 Once",
            {"max_tokens": 60, "temperature": 0.5, "prompt": "Once"},
        ),
        ("sentiment", "Note: this is great", {"text": "Note: this is great"}),
        ("sentiment", "text: named free text", {"text": "text: named free text"}),
        ("summarize", "length:SHORT a b", {"length": "short", "text": "a b"}),
        ("qa", "“question: Who?” Ada was", {"question": "Who?", "context": "Ada was"}),
        ("imagine", "  a &amp; b  ", {"prompt": "a & b"}),
    ],
)
def test_typed_lines(name: str, text: str, expected: dict) -> None:
    assert parse_command(command(name), text) == expected


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("imagine", "steps:0 x", "`steps` must be from 1 to 50"),
        ("generate", "max_tokens:abc x", "must be a whole number"),
        ("generate", "temperature:nan x", "`temperature` must be from"),
        ("classify", "text only", "Give the labels"),
        ("classify", "multi_label:maybe labels:a x", "yes or no"),
        ("summarize", "length:tiny x", "one of short, medium, long"),
        ("summarize", "file:x", "Discord only"),
        ("sentiment", "", "Give the text"),
        ("sentiment", "language:ko language:en x", "given twice"),
        ("qa", '"question: never closed', "never closed"),
        ("ner", "x" * 4001, "4,001 characters; the limit is 4,000"),
    ],
)
def test_errors_say_what_and_show_the_usage(name: str, text: str, problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_command(command(name), text)
    message = str(caught.value)
    assert problem in message
    assert f"Usage: `{command(name).usage}`" in message
    assert f"Example: `{command(name).example}`" in message


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda c: c.name)
def test_every_example_parses(spec) -> None:
    values = parse_command(spec, spec.example.removeprefix(f"/{spec.name}"))
    assert values[spec.text]


def submitted(view: dict, values: dict[str, str]) -> dict:
    state = {}
    for block in view["blocks"]:
        name = block["block_id"]
        kind = block["element"]["type"]
        raw = values.get(name)
        if kind == "static_select":
            entry = {"selected_option": {"value": raw} if raw else None}
        else:
            entry = {"value": raw}
        state[name] = {name: {"type": kind, **entry}}
    return {**view, "state": {"values": state}}


def test_a_modal_reads_back_like_a_typed_line() -> None:
    spec = command("imagine")
    view = forms.modal(spec, "C1")
    assert [b["block_id"] for b in view["blocks"]] == [
        "prompt",
        "negative",
        "steps",
        "seed",
        "size",
    ]
    steps = view["blocks"][2]["element"]
    assert (
        steps["type"] == "number_input"
        and steps["min_value"] == "1"
        and not steps["is_decimal_allowed"]
    )
    values = forms.read(spec, submitted(view, {"prompt": "a boat", "steps": "4", "size": "64x64"}))
    assert values == {"prompt": "a boat", "steps": 4, "size": "64x64"}
    assert forms.channel_of(view) == "C1"


def test_a_modals_errors_name_their_inputs() -> None:
    spec = command("generate")
    view = forms.modal(spec, "C1")
    with pytest.raises(forms.FormErrors) as caught:
        forms.read(spec, submitted(view, {"prompt": "x", "max_tokens": "0", "temperature": "9"}))
    assert set(caught.value.errors) == {"max_tokens", "temperature"}
    classify = forms.modal(command("classify"), "C1")
    multi = next(b for b in classify["blocks"] if b["block_id"] == "multi_label")
    assert [o["value"] for o in multi["element"]["options"]] == ["yes", "no"]
