"""Named entities: who, where and which organisations a text mentions.

Long texts are not cut off: the token-classification pipeline reads them in
overlapping windows (``stride``) and merges the entities it finds across windows,
so an entity near the end of a 10,000-character text is found like one at the start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from transformers import AutoModelForTokenClassification, pipeline

from ..errors import InferenceError
from ..results import Result
from .base import BatchContext, Task, clean_text, reject_unknown

#: Tokens that consecutive windows of a long text share, at most (a quarter of the window
#: for small models), so that an entity cut by one window's edge is whole in the next.
WINDOW_OVERLAP = 128
#: Windows run through the model in one forward pass, at most.
WINDOWS_PER_PASS = 32


@dataclass(frozen=True)
class NerRequest:
    text: str


@dataclass
class Entity(Result):
    #: The entity as written in the text (``text[start:end]``).
    word: str
    #: The entity type, as the model names it: PER, LOC, ORG or MISC for CoNLL-2003 models.
    type: str
    #: The mean probability of the entity's tokens, in [0, 1].
    score: float
    #: Character offsets of the entity in the text.
    start: int
    end: int


@dataclass
class NerResult(Result):
    #: Every entity, in the order it appears in the text.
    entities: list[Entity]
    #: Entity type -> the distinct words of that type, in order of first appearance.
    groups: dict[str, list[str]]


class NerTask(Task[NerRequest, NerResult]):
    name = "ner"
    summary = "Find the people, places and organisations a text mentions."
    max_batch_size = 32  # a long text is many windows: bound the rows of one batch

    def parse(self, text: Any = None, **extra: Any) -> NerRequest:
        reject_unknown(self.name, extra)
        return NerRequest(text=clean_text(text))

    def load(self, model_id: str) -> Any:
        # Character offsets and windowed reading both need a fast tokenizer.
        loaded = self.load_pretrained(
            AutoModelForTokenClassification, model_id, fast_tokenizer=True
        )
        # The pipeline windows by the tokenizer's limit; some tokenizers have none set.
        loaded.tokenizer.model_max_length = loaded.max_tokens
        return pipeline(
            "token-classification",
            model=loaded.model,
            tokenizer=loaded.tokenizer,
            # "first": one tag per word, from its first piece ("simple" would split a
            # WordPiece word whose pieces are tagged differently into fragments).
            aggregation_strategy="first",
            stride=min(WINDOW_OVERLAP, loaded.max_tokens // 4),
            device=self.placement.device,
        )

    def run_batch(
        self,
        models: Mapping[str, Any],
        requests: Sequence[NerRequest],
        ctx: BatchContext,
    ) -> list[NerResult | InferenceError]:
        tagger = models[self.model]
        texts = [r.text for r in requests]
        # A list in, a list of entity lists out; the pipeline pads the windows of all
        # texts into batches of WINDOWS_PER_PASS.
        found = tagger(texts, batch_size=WINDOWS_PER_PASS)
        return [_result(text, raw) for text, raw in zip(texts, found, strict=True)]


def _result(text: str, raw: list[dict[str, Any]]) -> NerResult:
    """Turn the pipeline's entity dicts (numpy scores, decoded words) into a result."""
    entities = [
        Entity(
            # The pipeline's "word" is decoded from tokens ("U. S ."); the text is exact.
            word=text[item["start"] : item["end"]],
            type=str(item["entity_group"]),
            score=float(item["score"]),
            start=int(item["start"]),
            end=int(item["end"]),
        )
        for item in raw
    ]
    entities.sort(key=lambda e: (e.start, e.end))
    groups: dict[str, list[str]] = {}
    for entity in entities:
        words = groups.setdefault(entity.type, [])
        if entity.word not in words:
            words.append(entity.word)
    return NerResult(entities=entities, groups=groups)
