"""Button values: what a click needs, within Slack's 2,000 characters, read back."""

from __future__ import annotations

from inference.tasks.generate import GenerateResult
from inference.tasks.imagine import ImagineResult
from slackapp.buttons import (
    continue_button,
    generate_request,
    imagine_request,
    regenerate_button,
)


def image(prompt: str, negative: str | None) -> ImagineResult:
    return ImagineResult(
        prompt=prompt, negative_prompt=negative, seed=1, width=64, height=64, steps=4,
        guidance=7.5, seconds=1.0, nsfw=False, safety_checker=True, model="m", png=b"x",
    )  # fmt: skip


def story(prompt: str, so_far: str) -> GenerateResult:
    return GenerateResult(
        prompt=prompt, text="new", full_text=so_far + "new", finish_reason="length", tokens=3,
        seed=1, temperature=0.7, model="m", chat=False, truncated=False,
    )  # fmt: skip


def test_regenerate_carries_the_request_without_its_seed() -> None:
    button = regenerate_button(image("a “quoted” lighthouse", "fog"))
    assert button.action == "imagine:again"
    assert imagine_request(button.value) == {
        "prompt": "a “quoted” lighthouse", "negative": "fog", "steps": 4, "size": "64x64",
    }  # fmt: skip


def test_the_longest_requests_fit_a_button_value() -> None:
    worst = '"\\' * 250  # every character escaped in JSON
    value = regenerate_button(image(worst, worst)).value
    assert len(value) <= 2000
    request = imagine_request(value)
    assert request is not None and request["prompt"] == worst  # the negative gave way first
    value = continue_button(story("p" * 2000, "\\" * 5000), 120).value
    assert len(value) <= 2000
    request = generate_request(value)
    assert request is not None and request["prompt"] == "p" * 600
    assert request["continue_from"].endswith("new") and request["max_tokens"] == 120


def test_values_that_are_not_ours_read_as_none() -> None:
    for value in ("", "{", "[]", '{"p": 3}', '{"p": "x", "x": "y"}'):
        assert generate_request(value) is None
    assert imagine_request('{"p": ""}') is None
