"""Sentiment in every language: routing to the model of each language, through the
service, on stand-ins of each label scheme (tests/tiny_sentiment_models.py)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from transformers import AutoConfig, AutoTokenizer

from bot.__main__ import main as bot_main
from inference import InferenceService, InferenceSettings, InvalidInput, ModelUnavailable
from inference.languages import script_language
from inference.tasks.base import NullContext
from inference.tasks.sentiment import DEFAULT_MODELS, SentimentResult, SentimentTask
from tests.inference.test_cli import cli

KOREAN = "이 영화 정말 재미있어요"
ENGLISH = "I love this movie, it is wonderful and the actors are great!"
SPANISH = "Me encanta esta película, es maravillosa."
GERMAN = "Ich liebe diesen Film, er ist wunderbar."


def routed(tiny_models: dict[str, Path], sentiment_models: dict[str, Path]) -> dict[str, Any]:
    """English: the tiny SST-2 stand-in; Korean: the NSMC stand-in; German: the star
    model; everything else: the 3-class multilingual stand-in."""
    return {
        "sentiment_model": str(tiny_models["sentiment"]),
        "sentiment_models": {
            "ko": str(sentiment_models["korean"]),
            "de": str(sentiment_models["stars"]),
            "*": str(sentiment_models["three"]),
        },
    }


@pytest.fixture
async def service(
    tiny_models: dict[str, Path], sentiment_models: dict[str, Path]
) -> AsyncIterator[InferenceService]:
    settings = InferenceSettings(_env_file=None, **routed(tiny_models, sentiment_models))
    async with InferenceService(settings, limits={}) as service:
        yield service


def test_the_stand_ins_have_the_real_models_properties(sentiment_models: dict[str, Path]) -> None:
    korean = AutoTokenizer.from_pretrained(sentiment_models["korean"])
    assert korean.unk_token_id not in korean(KOREAN)["input_ids"]
    for key, labels in [
        ("korean", {0: "0", 1: "1"}),
        ("three", {0: "positive", 1: "neutral", 2: "negative"}),
        ("stars", {0: "1 star", 1: "2 stars", 2: "3 stars", 3: "4 stars", 4: "5 stars"}),
    ]:
        assert AutoConfig.from_pretrained(sentiment_models[key]).id2label == labels


@pytest.mark.parametrize(
    ("text", "model", "language", "scheme"),
    [
        (KOREAN, "korean", "ko", "2-class"),
        (ENGLISH, "sentiment", "en", "2-class"),
        (SPANISH, "three", "es", "3-class"),
        (GERMAN, "stars", "de", "5-star"),
    ],
)
async def test_each_language_goes_to_its_model(
    service: InferenceService, text: str, model: str, language: str, scheme: str
) -> None:
    result = await service.run("sentiment", text=text, top_k=0)
    assert isinstance(result, SentimentResult)
    assert (result.model, result.language, result.language_from) == (model, language, "detected")
    assert result.scheme == scheme
    assert result.label in {"negative", "neutral", "positive"}
    assert -1 <= result.polarity <= 1
    assert sum(s.score for s in result.scores) == pytest.approx(1, abs=1e-5)
    assert result.model_label == result.scores[0].label
    json.dumps(result.to_dict())


async def test_a_mixed_batch_is_split_by_model_and_keeps_its_order(
    service: InferenceService,
) -> None:
    texts = [KOREAN, ENGLISH, SPANISH, "굿 최고", GERMAN, "The food was okay.", SPANISH + " ¡Sí!"]
    alone = [await service.run("sentiment", text=t, top_k=0) for t in texts]
    together = await asyncio.gather(*(service.run("sentiment", text=t, top_k=0) for t in texts))
    assert [r.model for r in together] == [
        "korean", "sentiment", "three", "korean", "stars", "sentiment", "three"
    ]  # fmt: skip
    for a, b in zip(alone, together, strict=True):
        assert (a.model, a.model_label) == (b.model, b.model_label)
        assert a.polarity == pytest.approx(b.polarity, abs=1e-4)

    # a backend that hands the task a mixed batch gets its answers in input order too
    task: SentimentTask = service.task("sentiment")  # type: ignore[assignment]
    requests = [task.parse(text=t, top_k=0) for t in texts]
    models = {m: await asyncio.to_thread(task.load, m) for m in {r.model for r in requests}}
    mixed = await asyncio.to_thread(task.run_batch, models, requests, NullContext())
    for a, b in zip(alone, mixed, strict=True):
        assert isinstance(b, SentimentResult)
        assert (a.model, a.model_label) == (b.model, b.model_label)
        assert a.polarity == pytest.approx(b.polarity, abs=1e-4)


@pytest.mark.parametrize(
    ("text", "inputs", "model", "language", "decided"),
    [
        # short Hangul: the detector is unsure, the script is not
        ("굿", {}, "korean", "ko", "detected"),
        ("ㅋㅋㅋ", {}, "korean", "ko", "detected"),
        ("Best movie 최고 최고 재밌다", {}, "korean", "ko", "detected"),
        # too short to tell: the "*" model, or the server's default language
        ("lol", {}, "three", None, "undetected"),
        ("lol", {"default_language": "ko"}, "korean", "ko", "default"),
        ("lol", {"default_language": "English"}, "sentiment", "en", "default"),
        # a detected language wins over the default
        (SPANISH, {"default_language": "ko"}, "three", "es", "detected"),
    ],
)
async def test_short_and_ambiguous_text_falls_back(
    service: InferenceService,
    text: str,
    inputs: dict[str, str],
    model: str,
    language: str | None,
    decided: str,
) -> None:
    result = await service.run("sentiment", text=text, **inputs)
    assert (result.model, result.language, result.language_from) == (model, language, decided)


@pytest.mark.parametrize(
    ("text", "language", "model", "code"),
    [
        (KOREAN, "es", "three", "es"),
        (ENGLISH, "Korean", "korean", "ko"),
        (ENGLISH, "한국어", "korean", "ko"),
        (SPANISH, " DE ", "stars", "de"),
        (ENGLISH, "ja", "three", "ja"),  # no model of its own: the "*" model
    ],
)
async def test_the_language_option_overrides_detection(
    service: InferenceService, text: str, language: str, model: str, code: str
) -> None:
    result = await service.run("sentiment", text=text, language=language)
    assert (result.model, result.language, result.language_from) == (model, code, "given")


async def test_auto_or_empty_language_means_detect(service: InferenceService) -> None:
    for language in ("auto", " Auto ", ""):
        result = await service.run("sentiment", text=KOREAN, language=language)
        assert (result.model, result.language_from) == ("korean", "detected")


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"language": "kr"}, "Unknown language 'kr'. Did you mean ko (Korean)"),
        ({"language": "Klingon"}, "Unknown language 'Klingon'"),
        ({"default_language": "xx"}, "Unknown default language 'xx'"),
        ({"text": KOREAN, "default_language": "xx"}, "Unknown default language 'xx'"),
        ({"text": "12345 67"}, "no words"),
        ({"text": "👍👍🔥 😂"}, "no words"),
        ({"text": "100% !!! :-)"}, "no words"),
    ],
)
async def test_bad_input_gets_a_clear_answer(
    service: InferenceService, inputs: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        await service.run("sentiment", **{"text": "lol", **inputs})


async def test_the_neutral_band_holds_for_binary_models(
    tiny_models: dict[str, Path], sentiment_models: dict[str, Path]
) -> None:
    def settings(band: float) -> InferenceSettings:
        values = routed(tiny_models, sentiment_models)
        values["sentiment_models"]["ko"] = str(sentiment_models["korean_unsure"])
        values["sentiment_models"]["*"] = str(sentiment_models["three_neutral"])
        values["sentiment_models"]["de"] = str(sentiment_models["stars_four"])
        return InferenceSettings(_env_file=None, sentiment_neutral_band=band, **values)

    async with InferenceService(settings(0.2)) as service:
        unsure = await service.run("sentiment", text=KOREAN)  # P("1") = 0.55
        assert (unsure.label, unsure.model_label) == ("neutral", "1")
        assert unsure.score == pytest.approx(0.9, abs=1e-3)
        assert unsure.polarity == pytest.approx(0.1, abs=1e-3)
        three = await service.run("sentiment", text=SPANISH)
        assert (three.label, three.model_label, three.polarity) == (
            "neutral",
            "neutral",
            pytest.approx(0, abs=1e-5),
        )
        stars = await service.run("sentiment", text=GERMAN)
        assert (stars.label, stars.model_label) == ("positive", "4 stars")
        assert stars.score == pytest.approx(0.8, abs=1e-3)
        assert stars.polarity == pytest.approx(0.375, abs=1e-3)
    async with InferenceService(settings(0.05)) as service:
        leaning = await service.run("sentiment", text=KOREAN)
        assert leaning.label == "positive" and leaning.score == pytest.approx(0.55, abs=1e-3)


async def test_a_model_given_for_the_run_reads_every_language(
    sentiment_models: dict[str, Path],
) -> None:
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"sentiment": str(sentiment_models["stars"])}
    ) as service:
        for text in (KOREAN, ENGLISH, "lol"):
            assert (await service.run("sentiment", text=text)).model == "stars"


async def test_preload_loads_the_model_of_every_language(service: InferenceService) -> None:
    assert await service.preload(["sentiment"]) == {"sentiment": None}
    assert len(service.loaded_models("sentiment")) == 4


def test_defaults_and_settings(tiny_models: dict[str, Path]) -> None:
    settings = InferenceSettings(_env_file=None, sentiment_models={"ko": "", "fr": "my/french"})
    task = SentimentTask(settings.sentiment_model, None, settings)  # type: ignore[arg-type]
    assert task.model_for_language("en") == settings.sentiment_model
    assert task.model_for_language("fr") == "my/french"
    assert task.model_for_language("ko") == DEFAULT_MODELS["*"]  # "" took Korean's away
    assert task.model_for_language(None) == DEFAULT_MODELS["*"]
    default = SentimentTask(settings.sentiment_model, None, InferenceSettings(_env_file=None))  # type: ignore[arg-type]
    assert default.model_for_language("ko") == DEFAULT_MODELS["ko"]


def test_hangul_script_check() -> None:
    assert script_language("굿") == "ko"
    assert script_language("ㅋㅋㅋ ok") == "ko"
    assert script_language("정말 good movie") is None  # 2 of 11 letters
    assert script_language("12345") is None
    assert script_language("日本語のテキスト") is None


async def test_a_model_that_is_not_a_sentiment_scale_is_unavailable(
    tiny_models: dict[str, Path],
) -> None:
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"sentiment": str(tiny_models["classify"])}
    ) as service:
        with pytest.raises(ModelUnavailable, match="not a sentiment scale"):
            await service.run("sentiment", text=ENGLISH)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"kr": "some/model"}', "Unknown language 'kr'. Did you mean ko (Korean)"),
        ('["ko"]', "want a JSON object"),
        ('{"ko": 3}', "the value of 'ko' is not a string"),
    ],
)
def test_a_bad_sentiment_models_setting_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("SENTIMENT_MODELS", value)
    with pytest.raises(ValidationError, match=re.escape(message)):
        InferenceSettings(_env_file=None)


def test_a_bad_sentiment_models_setting_is_one_line_at_start_up(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SENTIMENT_MODELS", '{"kr": "some/model"}')
    assert bot_main([]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "SENTIMENT_MODELS" in line and "Did you mean ko (Korean)" in line
    monkeypatch.setenv("SENTIMENT_MODELS", "{not json")
    done = cli("run", "sentiment", "hi")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: setting SENTIMENT_MODELS: Value error, not valid JSON "
        "(Expecting property name enclosed in double quotes at character 1)"
    ]


def test_cli_routes_korean_and_prints_the_same_fields(
    monkeypatch: pytest.MonkeyPatch, tiny_models: dict[str, Path], sentiment_models: dict[str, Path]
) -> None:
    settings = routed(tiny_models, sentiment_models)
    monkeypatch.setenv("SENTIMENT_MODEL", settings["sentiment_model"])
    monkeypatch.setenv("SENTIMENT_MODELS", json.dumps(settings["sentiment_models"]))
    done = cli("run", "sentiment", KOREAN, "--top-k")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["model"], data["language"], data["language_from"]) == ("korean", "ko", "detected")
    assert {s["label"] for s in data["scores"]} == {"0", "1"}
    assert {"label", "score", "polarity", "model_label", "scheme", "truncated"} <= set(data)
    given = json.loads(cli("run", "sentiment", KOREAN, "--language", "es").stdout)
    assert (given["model"], given["language_from"]) == ("three", "given")


async def test_the_language_detector_loads_off_the_event_loop_when_the_service_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # parse detects the language on the event loop: the detector (some 50 ms to load)
    # must be loaded before the first request, and not on the loop
    loaded_in: list[str] = []
    monkeypatch.setattr(
        "inference.tasks.sentiment.warm_detector",
        lambda: loaded_in.append(threading.current_thread().name),
    )
    loop_thread = threading.current_thread().name
    async with InferenceService(InferenceSettings(_env_file=None)):
        assert len(loaded_in) == 1 and loaded_in[0] != loop_thread
