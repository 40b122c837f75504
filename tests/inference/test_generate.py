"""The generate task on a tiny GPT-2 (no pad token) and a tiny Llama chat model."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from inference import InferenceService, InferenceSettings, InvalidInput
from inference.device import resolve_placement
from inference.tasks.base import NullContext
from inference.tasks.generate import GenerateResult, GenerateTask, prepare, render
from tests.inference.test_cli import cli


def make_task(path: Path) -> GenerateTask:
    return GenerateTask(
        str(path), resolve_placement("cpu", "auto"), InferenceSettings(_env_file=None)
    )


@pytest.fixture
async def gpt2(tiny_models: dict[str, Path]):
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"generate": str(tiny_models["generate"])}
    ) as service:
        yield service


@pytest.fixture
async def chat(tiny_models: dict[str, Path]):
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"generate": str(tiny_models["chat"])}
    ) as service:
        yield service


async def test_result_fields_and_json(gpt2: InferenceService, tiny_models: dict) -> None:
    result = await gpt2.run("generate", prompt="Once upon a time", max_tokens=12, seed=3)
    assert isinstance(result, GenerateResult)
    assert result.prompt == "Once upon a time"
    assert (result.tokens, result.finish_reason) == (12, "length")  # random weights never stop
    assert (result.seed, result.temperature) == (3, 0.7)
    assert result.full_text == result.text and result.text
    assert result.model == str(tiny_models["generate"])
    assert result.chat is False and result.truncated is False
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data) >= {"prompt", "text", "finish_reason", "tokens", "seed", "model"}


async def test_a_seed_is_picked_and_reported_when_absent(gpt2: InferenceService) -> None:
    first = await gpt2.run("generate", prompt="Hello", max_tokens=30)
    assert isinstance(first.seed, int)
    again = await gpt2.run("generate", prompt="Hello", max_tokens=30, seed=first.seed)
    assert again.text == first.text


async def test_same_seed_same_text_other_seed_other_text(gpt2: InferenceService) -> None:
    runs = [
        await gpt2.run("generate", prompt="Once upon a time", max_tokens=40, seed=seed)
        for seed in (1, 1, 2)
    ]
    assert runs[0].text == runs[1].text
    assert runs[0].text != runs[2].text


async def test_greedy_ignores_seeds(gpt2: InferenceService) -> None:
    a = await gpt2.run("generate", prompt="Hello", max_tokens=10, temperature=0, seed=1)
    b = await gpt2.run("generate", prompt="Hello", max_tokens=10, temperature="0", seed=2)
    assert a.text == b.text and a.seed is None


REQUESTS = [
    {"prompt": "Hi", "max_tokens": 8, "temperature": 0},
    {
        "prompt": "The quick brown fox jumps over the lazy dog and",
        "max_tokens": 20,
        "temperature": 0,
    },
    {"prompt": "Once upon a time", "max_tokens": 15, "seed": 5},
    {"prompt": "a b c", "max_tokens": 25, "temperature": 1.5, "seed": 9},
]


@pytest.fixture(params=["generate", "chat"])
async def either(request: pytest.FixtureRequest, tiny_models: dict[str, Path]):
    async with InferenceService(
        InferenceSettings(_env_file=None),
        models={"generate": str(tiny_models[request.param])},
    ) as service:
        yield service


async def test_batch_with_left_padding_matches_single_runs(
    either: InferenceService, caplog: pytest.LogCaptureFixture
) -> None:
    # Prompts of different lengths (left padding), greedy and seeded rows, different
    # token limits: one batch, and each row as if it ran alone.
    alone = [await either.run("generate", **inputs) for inputs in REQUESTS]
    together = await asyncio.gather(*(either.run("generate", **i) for i in REQUESTS))
    assert [r.text for r in together] == [r.text for r in alone]
    assert [r.tokens for r in together] == [8, 20, 15, 25]
    assert "one by one" not in caplog.text  # it really ran as one batch


async def test_chat_model_answers_inside_its_template(
    chat: InferenceService, tiny_models: dict
) -> None:
    result = await chat.run("generate", prompt="Hello there", max_tokens=5, temperature=0)
    assert result.chat is True and result.tokens <= 5

    task = make_task(tiny_models["chat"])
    lm = task.load(str(tiny_models["chat"]))
    text = render(lm, "Hello there")
    assert text == "<|im_start|>user\nHello there<|im_end|>\n<|im_start|>assistant\n"
    # continuing leaves the assistant's turn open after the text so far
    assert render(lm, "Hello there", " I am").endswith("<|im_start|>assistant\n I am")
    gpt2 = task.load(str(tiny_models["generate"]))
    assert render(gpt2, "Once upon", " a time") == "Once upon a time"


async def test_continue_extends_the_text(gpt2: InferenceService, tiny_models: dict) -> None:
    so_far = ", there was a little robot"
    result = await gpt2.run(
        "generate", prompt="Once upon a time", continue_from=so_far, max_tokens=6, seed=1
    )
    assert result.full_text == so_far + result.text
    # the model read prompt + text so far, as one text
    lm = make_task(tiny_models["generate"]).load(str(tiny_models["generate"]))
    request = make_task(tiny_models["generate"]).parse(
        prompt="Once upon a time", continue_from=so_far
    )
    assert prepare(lm, request).ids == lm.tokenizer("Once upon a time" + so_far)["input_ids"]


@pytest.mark.parametrize("so_far", [" a robot\r", " a robot\n\n", "\ta robot ", "a robot\r\n"])
async def test_continue_keeps_the_whitespace_around_the_text_so_far(
    gpt2: InferenceService, so_far: str
) -> None:
    # The next part follows exactly what was shown: a trailing line break is a new line.
    result = await gpt2.run(
        "generate", prompt="Once upon a time", continue_from=so_far, max_tokens=3, seed=1
    )
    assert result.full_text == so_far + result.text


async def test_long_input_is_cut_from_the_left(gpt2: InferenceService) -> None:
    # far more than the 1,024 tokens of the tiny GPT-2 (its vocabulary is small)
    result = await gpt2.run(
        "generate", prompt="Go on:", continue_from="the lazy dog " * 600, max_tokens=4, seed=1
    )
    assert result.truncated is True
    assert result.tokens == 4


async def test_stop_when_the_model_ends_its_text(tiny_models: dict, tmp_path: Path) -> None:
    # Make the first greedy token an end-of-text token: the text stops at once.
    lm = make_task(tiny_models["generate"]).load(str(tiny_models["generate"]))
    first = lm.model.generate(**lm.tokenizer("Hi", return_tensors="pt"), max_new_tokens=1)[0, -1]
    model_dir = shutil.copytree(tiny_models["generate"], tmp_path / "gpt2")
    config = json.loads((model_dir / "generation_config.json").read_text())
    config["eos_token_id"] = [0, int(first)]
    (model_dir / "generation_config.json").write_text(json.dumps(config))
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"generate": str(model_dir)}
    ) as service:
        result = await service.run("generate", prompt="Hi", max_tokens=10, temperature=0)
    assert (result.finish_reason, result.tokens, result.text) == ("stop", 0, "")


class CancelFirst(NullContext):
    """Request 0 is cancelled from the start; request 1 runs on."""

    def __init__(self) -> None:
        self.progress_seen: list[tuple[int, int, int]] = []

    def cancelled(self, index: int) -> bool:
        return index == 0

    def progress(self, index: int, done: int, total: int) -> None:
        self.progress_seen.append((index, done, total))


def test_cancelled_request_stops_early(tiny_models: dict) -> None:
    task = make_task(tiny_models["generate"])
    lm = task.load(task.model)
    requests = [task.parse(prompt="Hello", max_tokens=40, temperature=0) for _ in range(2)]
    ctx = CancelFirst()
    results = task.run_batch({task.model: lm}, requests, ctx)
    assert results[0].tokens == 1  # stopped after its first token
    assert results[1].tokens == 40
    assert (1, 32, 40) in ctx.progress_seen


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"prompt": ""}, "empty"),
        ({"prompt": None}, "Please give some prompt"),
        ({"prompt": "x" * 2_001}, "too long"),
        ({"max_tokens": 0}, "between 1 and 512"),
        ({"max_tokens": 513}, "between 1 and 512"),
        ({"max_tokens": "many"}, "whole number"),
        ({"temperature": 2.5}, "between 0 and 2"),
        ({"temperature": -1}, "between 0 and 2"),
        ({"seed": -1}, "seed must be between"),
        ({"continue_from": b"\x89PNG\r\n\x1a\n\x00"}, "binary"),
        ({"colour": "red"}, "no option 'colour'"),
    ],
)
async def test_bad_input(gpt2: InferenceService, inputs: dict, message: str) -> None:
    inputs = {"prompt": "Hello", **inputs}
    with pytest.raises(InvalidInput, match=message):
        await gpt2.run("generate", **inputs)


def test_cli_generates(tiny_models: dict[str, Path]) -> None:
    args = ["run", "generate", "Once upon a time", "--max-tokens", "40", "--seed", "1"]
    done = cli(*args, "--model", str(tiny_models["generate"]))
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["tokens"], data["seed"], data["finish_reason"]) == (40, 1, "length")
    assert data["prompt"] == "Once upon a time"


def test_cli_bad_length_exits_2(tiny_models: dict[str, Path]) -> None:
    done = cli(
        "run", "generate", "Hi", "--max-tokens", "9999", "--model", str(tiny_models["generate"])
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "error: max_tokens must be between 1 and 512."
