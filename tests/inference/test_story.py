"""The story task: the prompt within the model's real window, ideas, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inference import InferenceSettings, InvalidInput
from inference.device import resolve_placement
from inference.tasks.base import NullContext
from inference.tasks.story import MAX_TURNS, StoryResult, StoryTask, budget, clean_idea
from tests.inference.test_cli import cli
from tests.tiny_models import build_gpt2


def story_task(path: Path) -> StoryTask:
    return StoryTask(str(path), resolve_placement("cpu", "auto"), InferenceSettings(_env_file=None))


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GPT-2 reading 320 tokens: a story outgrows it in a few turns."""
    return build_gpt2(tmp_path_factory.mktemp("story") / "gpt2-320", max_length=320)


def run(task: StoryTask, model: object, **inputs: object) -> StoryResult:
    [result] = task.run_batch({task.model: model}, [task.parse(**inputs)], NullContext())
    assert isinstance(result, StoryResult), result
    return result


def test_turns_that_outgrow_the_window_are_left_out_newest_kept(small: Path) -> None:
    task = story_task(small)
    model = task.load(str(small))
    turns = [{"text": f"Part {n}: " + "the fog rolled in and " * 8} for n in range(12)]
    result = run(task, model, premise="A lighthouse", turns=turns, max_tokens=16, seed=1)
    assert result.left_out > 0 and result.fitted >= 1
    assert result.fitted + result.left_out == 12
    assert not result.truncated  # what it kept fits: the model read all of it
    assert 0 < result.tokens <= 16
    assert budget(model, 16) < model.window - 16
    short = run(task, model, premise="A lighthouse", turns=turns[:1], max_tokens=16, seed=1)
    assert (short.fitted, short.left_out) == (1, 0)


def test_ideas_are_three_short_rows_of_one_batch(tiny_models: dict[str, Path]) -> None:
    task = story_task(tiny_models["chat"])
    model = task.load(str(tiny_models["chat"]))
    requests = [
        task.parse(premise="A map", ideas=True, seed=5),
        task.parse(premise="A map", turns=["It was wet."], max_tokens=6, seed=5),
        task.parse(premise="A map", ideas=True, seed=5),
    ]
    ideas, turn, again = task.run_batch({task.model: model}, requests, NullContext())
    assert ideas.ideas == again.ideas  # seeded: the same ideas whatever the batch
    assert 1 <= len(ideas.ideas) <= 3 and ideas.text == ""
    assert all(0 < len(i) <= 80 and i.isprintable() for i in ideas.ideas)
    assert turn.ideas == [] and turn.tokens <= 6 and turn.fitted == 1


def test_clean_idea() -> None:
    assert clean_idea('\n1. "The keeper finds a boat."\nmore') == "The keeper finds a boat."
    assert clean_idea("Idea: - run\x07 away") == "run away"
    long = clean_idea("word " * 40)
    assert len(long) <= 80 and long.endswith("…")


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"form": "limerick"}, "Unknown form"),
        ({"genre": "western"}, "Unknown genre"),
        ({"turns": "one turn"}, "turns must be a list"),
        ({"turns": ["ok", "  "]}, "turn is empty"),
        ({"turns": ["x"] * (MAX_TURNS + 1)}, f"At most {MAX_TURNS} turns"),
        ({"memory": "m" * 1001}, "memory is too long"),
        ({"max_tokens": 0}, "max_tokens must be between"),
        ({"ideas": "maybe"}, "ideas must be yes or no"),
        ({"colour": "red"}, "no option 'colour'"),
    ],
)
def test_bad_input(tiny_models: dict[str, Path], inputs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        story_task(tiny_models["chat"]).parse(premise="A map", **inputs)


def test_defaults_follow_the_form(tiny_models: dict[str, Path]) -> None:
    task = story_task(tiny_models["chat"])
    haiku = task.parse(premise="Snow", form="haiku", turns=[{"text": "Cold.", "model": True}])
    assert haiku.max_tokens == 40 and haiku.story.turns[0].model and haiku.story.safe
    assert task.parse(premise="Snow", ideas=True).temperature == 1.0
    assert task.parse(premise="Snow", temperature=0).seed is None


def test_cli_writes_one_sijo_turn(tiny_models: dict[str, Path]) -> None:
    done = cli(
        "run",
        "story",
        "A lighthouse keeper finds a map",
        "--genre",
        "mystery",
        "--form",
        "sijo",
        "--max-tokens",
        "12",
        "--model",
        str(tiny_models["chat"]),
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["form"] == "sijo" and result["tokens"] <= 12 and result["ideas"] == []
    bad = cli("run", "story", "x", "--form", "limerick", "--model", str(tiny_models["chat"]))
    assert bad.returncode == 2 and "choose one of prose" in bad.stderr
