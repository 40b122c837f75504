"""/ner tags whole words, even when a WordPiece model tags a word's pieces differently
(as dbmdz/bert-large-cased-finetuned-conll03-english does on rarer names)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference import InferenceService, InferenceSettings
from tests.standins import build_logit_bert

LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"}
OUT, B_PER, I_PER, B_LOC = ([10.0 if i == k else 0.0 for i in range(5)] for k in range(4))


@pytest.fixture(scope="module")
def fragmenting_ner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # "Obama" is two pieces, "Ob" + "##ama", tagged I-PER and B-LOC: "simple" aggregation
    # makes "Barack Ob" a person and "ama" a place.
    return build_logit_bert(
        tmp_path_factory.mktemp("ner-wordpiece"),
        "ner",
        {
            "Barack": B_PER,
            "Ob": I_PER,
            "##ama": B_LOC,
            "visited": OUT,
            "Paris": B_LOC,
            "Par": B_LOC,
            "##is": I_PER,
            ".": OUT,
        },
        OUT,
        id2label=LABELS,
    )


async def test_entities_are_whole_words(fragmenting_ner: Path) -> None:
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"ner": str(fragmenting_ner)}
    ) as service:
        result = await service.run("ner", text="Barack Obama visited Paris.")
    assert [(e.word, e.type) for e in result.entities] == [
        ("Barack Obama", "PER"),
        ("Paris", "LOC"),
    ]
    assert result.groups == {"PER": ["Barack Obama"], "LOC": ["Paris"]}
