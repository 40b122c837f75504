"""QA_NULL_ANSWER: the SQuAD 2 "no answer" rule only for models that learnt it.

The stand-in has known logits: [CLS] scores 5 as start and end, "obama" 4, every other
token -5. A SQuAD 2 model would be saying "no answer"; a SQuAD 1.1 model's [CLS] score
is noise, and its best span, "obama", is the answer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inference import InferenceService, InferenceSettings
from tests.standins import build_logit_bert

QUESTION = "who visited paris ?"
CONTEXT = "barack obama visited paris ."


def build(path: Path) -> Path:
    return build_logit_bert(
        path,
        "qa",
        {
            "[CLS]": [5.0, 5.0],
            "obama": [4.0, 4.0],
            **{w: [-5.0, -5.0] for w in ("who", "visited", "paris", "?", "barack", ".")},
        },
        [-5.0, -5.0],
        lowercase=True,
    )


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("qa-null")
    return {"squad1": build(root / "qa-squad"), "squad2": build(root / "qa-squad2")}


async def ask(model: Path, **settings: object):
    async with InferenceService(
        InferenceSettings(_env_file=None, **settings), models={"qa": str(model)}
    ) as service:
        return await service.run("qa", question=QUESTION, context=CONTEXT)


async def test_auto_trusts_the_answer_of_a_squad1_model(models: dict[str, Path]) -> None:
    result = await ask(models["squad1"])
    assert (result.answer, result.answerable, result.note) == ("obama", True, None)
    assert result.score > 0.9  # [CLS] takes no probability away


async def test_auto_applies_the_rule_to_a_squad2_model(models: dict[str, Path]) -> None:
    result = await ask(models["squad2"])
    assert result.answer == "obama" and not result.answerable
    assert "does not answer" in result.note


@pytest.mark.parametrize(("setting", "answerable"), [("true", False), ("no", True)])
async def test_the_setting_overrides_the_model(
    models: dict[str, Path], setting: str, answerable: bool
) -> None:
    assert (await ask(models["squad1"], qa_null_answer=setting)).answerable is answerable
    assert (await ask(models["squad2"], qa_null_answer=setting)).answerable is answerable


def test_a_bad_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="qa_null_answer"):
        InferenceSettings(_env_file=None, qa_null_answer="maybe")
