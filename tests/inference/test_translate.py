"""The translate task on tiny Marian models (en<->fr, en<->de, fr<->de, en<->es), one
directory per pair, reached through the TRANSLATE_MODEL template like Hub ids."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from inference import InferenceService, InferenceSettings, InvalidInput
from inference.device import resolve_placement
from inference.languages import close_matches, detect_language, resolve_language, suggest_languages
from inference.tasks.translate import (
    OPUS_MT_TEMPLATE,
    TranslateResult,
    TranslateTask,
    asks_for_detection,
)
from tests.inference.test_cli import cli


def template(tiny_models: dict[str, Path]) -> str:
    return f"{tiny_models['translate']}/opus-mt-{{src}}-{{tgt}}"


@pytest.fixture
async def service(tiny_models: dict[str, Path]):
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"translate": template(tiny_models)}
    ) as service:
        yield service


def steps(result: TranslateResult) -> list[tuple[str, str]]:
    return [(stage.source, stage.target) for stage in result.stages]


async def test_one_pair_result_is_json_safe(service: InferenceService) -> None:
    result = await service.run("translate", text="Hello, how are you?", target="fr")
    assert isinstance(result, TranslateResult)
    assert (result.source, result.target) == ("en", "fr")
    assert steps(result) == [("en", "fr")]
    assert result.stages[0].model.endswith("opus-mt-en-fr")
    assert isinstance(result.text, str) and result.text == result.stages[0].text
    data = json.loads(json.dumps(result.to_dict()))
    assert data["stages"][0] == {
        "source": "en",
        "target": "fr",
        "text": result.text,
        "model": result.stages[0].model,
    }


async def test_chain_shows_every_stage(service: InferenceService) -> None:
    result = await service.run("translate", text="Hello, how are you?", target="fr>de>en")
    assert steps(result) == [("en", "fr"), ("fr", "de"), ("de", "en")]
    assert [Path(s.model).name for s in result.stages] == [
        "opus-mt-en-fr",
        "opus-mt-fr-de",
        "opus-mt-de-en",
    ]
    assert result.target == "en"
    assert result.text == result.stages[-1].text


async def test_pair_without_a_model_pivots_through_english(service: InferenceService) -> None:
    # The tiny set has es-en and en-fr but no es-fr.
    result = await service.run("translate", text="Hola, ¿cómo estás?", source="es", target="fr")
    assert steps(result) == [("es", "en"), ("en", "fr")]
    assert result.source == "es" and result.target == "fr"


async def test_chain_written_from_the_source_and_names_for_codes(
    service: InferenceService,
) -> None:
    result = await service.run("translate", text="Hello", target="en>French>Deutsch")
    assert steps(result) == [("en", "fr"), ("fr", "de")]


async def test_translate_pairs_override_the_template(tiny_models: dict[str, Path]) -> None:
    # Any directory may serve a pair; here es-fr gets a direct model (no pivot).
    override = str(tiny_models["translate"] / "opus-mt-fr-de")
    settings = InferenceSettings(_env_file=None, translate_pairs={"es-fr": override})
    async with InferenceService(settings, models={"translate": template(tiny_models)}) as service:
        result = await service.run("translate", text="Hola", source="es", target="fr")
    assert steps(result) == [("es", "fr")]
    assert result.stages[0].model == override


async def test_batched_results_match_single_runs(
    service: InferenceService, caplog: pytest.LogCaptureFixture
) -> None:
    texts = ["Hello", "The weather is nice today, so we will go to the park.", "Berlin"]
    alone = [await service.run("translate", text=t, target="de") for t in texts]
    together = await asyncio.gather(
        *(service.run("translate", text=t, target="de") for t in texts),
        service.run("translate", text="Hello", source="es", target="fr"),  # another batch
    )
    assert [r.text for r in together[:3]] == [r.text for r in alone]
    assert steps(together[3]) == [("es", "en"), ("en", "fr")]
    assert "one by one" not in caplog.text  # it really ran as one batch


async def test_long_text_is_translated_in_chunks_and_keeps_its_lines(
    service: InferenceService,
) -> None:
    # The tiny models read 128 tokens; this is several times that, on three lines.
    sentence = "The quick brown fox jumps over the lazy dog. "
    text = f"{sentence * 8}\n\n{sentence * 8}"
    result = await service.run("translate", text=text, target="fr")
    lines = result.text.split("\n")
    assert len(lines) == 3 and lines[1] == ""
    assert lines[0] and lines[2]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"target": "fre"}, r"Unknown language 'fre'\. Did you mean fr \(French\)\?"),
        ({"target": "fr", "source": "englsh"}, r"Did you mean en \(English\)\?"),
        ({"target": "en"}, "both en"),
        ({"target": "fr>fr"}, "both fr"),
        ({"target": "it"}, "no translation model from English to Italian"),
        ({"target": ""}, "target language"),
        ({"target": "fr>>de"}, "Please give a language"),
        ({"target": "fr>de>fr>de>fr"}, "at most 4"),
        ({"target": "fr", "text": "x" * 5_001}, "too long"),
        ({"target": "fr", "text": " "}, "empty"),
        ({"target": "fr", "colour": "red"}, "no option 'colour'"),
    ],
)
async def test_bad_input(service: InferenceService, inputs: dict, message: str) -> None:
    inputs = {"text": "Hello", **inputs}
    with pytest.raises(InvalidInput, match=message):
        await service.run("translate", **inputs)


def test_hub_template_knows_published_pairs() -> None:
    task = TranslateTask(
        OPUS_MT_TEMPLATE, resolve_placement("cpu", "auto"), InferenceSettings(_env_file=None)
    )
    assert [s.model for s in task.route("es", "fr")] == ["Helsinki-NLP/opus-mt-es-fr"]
    assert [(s.source, s.target) for s in task.route("pl", "de")] == [("pl", "en"), ("en", "de")]
    with pytest.raises(InvalidInput, match="from English to Korean"):
        task.route("en", "ko")
    request = task.parse(text="Hi", source="pl", target="de>en")
    # pl>en>de>en: the en-... model appears once
    assert task.models_for(request) == (
        "Helsinki-NLP/opus-mt-pl-en",
        "Helsinki-NLP/opus-mt-en-de",
        "Helsinki-NLP/opus-mt-de-en",
    )
    assert task.default_models() == ["Helsinki-NLP/opus-mt-en-fr"]


def test_suggest_languages() -> None:
    assert suggest_languages("fr")[0] == ("fr", "French")
    assert suggest_languages("GER") == [("de", "German")]
    assert suggest_languages("deu") == [("de", "German")]  # Deutsch
    assert ("de", "German") in suggest_languages("man")  # inside a name
    assert suggest_languages("qqq") == []
    common = suggest_languages("")
    assert len(common) == 25 and common[0] == ("en", "English")
    assert len(suggest_languages("a", limit=5)) == 5
    assert all(len(suggest_languages(p)) <= 25 for p in ["", "a", "e", "n"])


def test_resolve_language_and_close_matches() -> None:
    assert resolve_language("FR") == "fr"
    assert resolve_language("Spanish") == "es"
    assert resolve_language("Español") == "es"
    assert close_matches("jp")[0] == "ja"
    assert close_matches("germn") == ["de"]
    with pytest.raises(InvalidInput, match="Did you mean ja"):
        resolve_language("jp")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Bonjour, comment allez-vous ? Il fait beau aujourd'hui.", "fr"),
        ("Wie spät ist es? Ich muss gleich zum Bahnhof.", "de"),
        ("The weather is lovely today, shall we go for a walk?", "en"),
        ("Сегодня хорошая погода, пойдём гулять в парк.", "ru"),
        ("今日はいい天気ですね。散歩に行きましょう。", "ja"),
        ("Jag vet inte än om jag kan komma imorgon.", "sv"),
        ("lol", None),  # too short to tell
        ("12345 !!! :) 👍", None),  # no words at all
    ],
)
def test_detect_language(text: str, code: str | None) -> None:
    assert detect_language(text) == code


def test_detect_source_refuses_what_it_cannot_tell() -> None:
    assert asks_for_detection(" Auto ") and not asks_for_detection("en")
    assert not asks_for_detection(None)
    assert TranslateTask.detect_source("  Où est la gare, s'il vous plaît ?  ") == "fr"
    with pytest.raises(InvalidInput, match="can't tell which language"):
        TranslateTask.detect_source("lol")
    with pytest.raises(InvalidInput, match="empty"):
        TranslateTask.detect_source("   ")


def test_cli_translates(tiny_models: dict[str, Path]) -> None:
    done = cli(
        "run", "translate", "Hello, how are you?", "--target", "fr", "--source", "en",
        "--model", template(tiny_models),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [(s["source"], s["target"]) for s in data["stages"]] == [("en", "fr")]
    assert data["text"] == data["stages"][-1]["text"]


def test_cli_bad_language_exits_2(tiny_models: dict[str, Path]) -> None:
    done = cli("run", "translate", "Hello", "--target", "fre", "--model", template(tiny_models))
    assert done.returncode == 2
    assert done.stderr.strip() == "error: Unknown language 'fre'. Did you mean fr (French)?"


def test_cli_detects_the_source_with_auto(tiny_models: dict[str, Path]) -> None:
    text = "Bonjour, comment allez-vous ? Il fait beau aujourd'hui."
    done = cli(
        "run", "translate", text, "--target", "en", "--source", "auto",
        "--model", template(tiny_models),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["source"] == "fr"
    assert [(s["source"], s["target"]) for s in data["stages"]] == [("fr", "en")]

    unsure = cli(
        "run", "translate", "lol", "--target", "fr", "--source", "auto",
        "--model", template(tiny_models),
    )  # fmt: skip
    assert unsure.returncode == 2 and "can't tell which language" in unsure.stderr
