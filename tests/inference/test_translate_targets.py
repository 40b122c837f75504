"""Multi-target Marian models get their target-language token, read from the tokenizer.

The stand-ins are tiny Marian models whose vocabularies hold ``>>id<<`` tokens as
opus-mt-en-zh (``>>cmn_Hans<<``, ``>>cmn_Hant<<``, ``>>yue_Hans<<``) and group models
such as opus-mt-en-ROMANCE (``>>fr<<``, ``>>pt<<``...) do.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inference import InferenceSettings, InvalidInput
from inference.device import resolve_placement
from inference.tasks.base import NullContext
from inference.tasks.translate import OPUS_MT_TEMPLATE, TranslateTask
from inference.tasks.translate_pairs import GROUP_PAIRS, parse_pairs, target_token
from tests.tiny_models import build_marian

ZH = (">>cmn_Hans<<", ">>cmn_Hant<<", ">>yue_Hans<<", ">>yue_Hant<<")
ROMANCE = (">>fr<<", ">>es<<", ">>it<<", ">>pt<<", ">>pt_br<<", ">>ro<<")


@pytest.fixture(scope="module")
def marians(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("marian-targets")
    return {
        "zh": build_marian(root / "opus-mt-en-zh", "en", "zh", target_tokens=ZH),
        "romance": build_marian(root / "opus-mt-en-ROMANCE", "en", "fr", target_tokens=ROMANCE),
        "tatoeba": build_marian(root / "opus-mt-tc-en-pt", "en", "fr", target_tokens=(">>por<<",)),
    }


def task_for(pairs: dict[str, object]) -> TranslateTask:
    settings = InferenceSettings(_env_file=None, translate_pairs=pairs)
    return TranslateTask(OPUS_MT_TEMPLATE, resolve_placement("cpu"), settings)


def translate(task: TranslateTask, text: str, target: str) -> tuple[list[str], object]:
    """Translate en -> target; the first token of every row the encoder read, and the
    result (or error)."""
    request = task.parse(text=text, target=target, source="en")
    models = {step.model: task.load(step.model) for step in request.steps}
    seen: list[str] = []
    hooks = []
    for translator in models.values():

        def record(module: object, args: tuple, kwargs: dict, mt=translator) -> None:
            ids = kwargs.get("input_ids", args[0] if args else None)
            seen.extend(mt.tokenizer.convert_ids_to_tokens(ids[:, 0].tolist()))

        encoder = translator.model.get_encoder()
        hooks.append(encoder.register_forward_pre_hook(record, with_kwargs=True))
    try:
        (result,) = task.run_batch(models, [request], NullContext())
    except InvalidInput as exc:
        result = exc
    finally:
        for hook in hooks:
            hook.remove()
    return seen, result


TEXT = "The cat sleeps. The dog runs."


def test_chinese_gets_simplified_mandarin_from_the_tokenizer(marians: dict[str, Path]) -> None:
    task = task_for({"en-zh": str(marians["zh"])})
    seen, result = translate(task, TEXT, "zh")
    assert seen and set(seen) == {">>cmn_Hans<<"}
    assert result.target == "zh"


def test_a_group_model_gets_the_two_letter_token(marians: dict[str, Path]) -> None:
    task = task_for({"en-pt": str(marians["romance"]), "en-it": str(marians["romance"])})
    assert set(translate(task, TEXT, "pt")[0]) == {">>pt<<"}
    assert set(translate(task, TEXT, "it")[0]) == {">>it<<"}


def test_the_object_form_names_the_token(marians: dict[str, Path]) -> None:
    entry = {"model": str(marians["tatoeba"]), "target_token": ">>por<<"}
    task = task_for({"en-pt": entry})
    assert set(translate(task, TEXT, "pt")[0]) == {">>por<<"}
    # the code alone finds the three-letter token too
    assert set(translate(task_for({"en-pt": str(marians["tatoeba"])}), TEXT, "pt")[0]) == {
        ">>por<<"
    }


def test_a_token_the_model_lacks_is_a_clear_error(marians: dict[str, Path]) -> None:
    task = task_for({"en-pt": {"model": str(marians["romance"]), "target_token": ">>por<<"}})
    _, error = translate(task, TEXT, "pt")
    assert isinstance(error, InvalidInput) and "no target token >>por<<" in str(error)
    task = task_for({"en-de": str(marians["romance"])})
    _, error = translate(task, TEXT, "de")
    assert isinstance(error, InvalidInput) and "TRANSLATE_PAIRS" in str(error)
    assert ">>fr<<" in str(error)


def test_a_single_target_model_gets_no_token(tiny_models: dict[str, Path]) -> None:
    task = task_for({"en-fr": str(tiny_models["translate"] / "opus-mt-en-fr")})
    seen, _ = translate(task, TEXT, "fr")
    assert not any(token.startswith(">>") for token in seen)


def test_settings_take_both_forms_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "TRANSLATE_PAIRS",
        '{"en-ja": "Helsinki-NLP/opus-mt-en-jap",'
        ' "en-pt": {"model": "Helsinki-NLP/opus-mt-en-ROMANCE", "target_token": ">>por<<"}}',
    )
    pairs = parse_pairs(InferenceSettings(_env_file=None).translate_pairs)
    assert pairs[("en", "ja")].model == "Helsinki-NLP/opus-mt-en-jap"
    assert pairs[("en", "ja")].token is None
    assert (pairs[("en", "pt")].model, pairs[("en", "pt")].token) == (
        "Helsinki-NLP/opus-mt-en-ROMANCE",
        ">>por<<",
    )


def test_the_defaults_route_multi_target_pairs() -> None:
    task = task_for({})
    (step,) = task.route("en", "pt")
    assert (step.model, step.token) == GROUP_PAIRS[("en", "pt")]
    assert target_token(frozenset(ZH), "zh", None, "m") == ">>cmn_Hans<<"
    assert target_token(frozenset({">>ara<<", ">>arz<<"}), "ar", None, "m") == ">>ara<<"
