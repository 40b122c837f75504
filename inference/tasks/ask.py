"""Answering a question from passages a document library retrieved (``inference/docs``
retrieves them; this task reads them).

Optionally a cross-encoder (``RERANK_MODEL``) orders the passages first; then the best
``READ_PASSAGES`` are read by the extractive QA reader of ``/qa`` (``QaTask``, the same
windows and span decoder) and the most confident span wins. When no passage holds a
confident answer the result says so and lists the closest passages instead: with
retrieval in front, an honest "not found" matters more than a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification

from ..docs.chunks import sentence_around
from ..errors import InferenceError, InvalidInput
from ..results import Result
from .base import BatchContext, LoadedModel, Task, clean_text, reject_unknown
from .qa import MAX_QUESTION_CHARS, QaRequest, QaResult, QaTask

#: Passages a request may bring, and how many of them (after reranking) are read.
MAX_PASSAGES = 20
READ_PASSAGES = 3
#: Characters of a passage shown as a source when nothing answered.
EXCERPT_CHARS = 300
#: What an answer that is not in the documents says.
NOT_FOUND = "Not in your documents."


@dataclass(frozen=True)
class Passage:
    document: str
    text: str
    score: float


@dataclass(frozen=True)
class AskRequest:
    question: str
    passages: tuple[Passage, ...]


@dataclass
class Source(Result):
    document: str
    #: The sentence around the answer, or the start of a passage found.
    text: str
    score: float


@dataclass
class Readers:
    """What the ask task loads: the QA reader, and the reranker when there is one."""

    reader: LoadedModel
    reranker: LoadedModel | None


@dataclass
class AskResult(Result):
    #: The answer span ("" when the documents do not answer).
    answer: str
    score: float
    answerable: bool
    #: Where the answer is (first), or the closest passages when there is none.
    sources: list[Source]
    note: str | None = None


class AskTask(Task[AskRequest, AskResult]):
    name = "ask"
    summary = "Answer a question from your documents (see `docs add`)."
    main_input = "question"
    max_batch_size = 8

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reader = QaTask(self.model, self.placement, self.settings)
        self.reranker = self.settings.rerank_model.strip()

    def parse(self, question: Any = None, passages: Any = None, **extra: Any) -> AskRequest:
        reject_unknown(self.name, extra)
        question = clean_text(question, "question", max_chars=MAX_QUESTION_CHARS)
        if not isinstance(passages, (list, tuple)):
            raise InvalidInput("passages must be a list of {document, text, score}.")
        found = []
        for item in passages[:MAX_PASSAGES]:
            if not isinstance(item, Mapping):
                raise InvalidInput("passages must be a list of {document, text, score}.")
            read = self.reader.parse(question=question, context=item.get("text"))
            found.append(
                Passage(str(item.get("document") or "?"), read.context, _score(item.get("score")))
            )
        return AskRequest(question, tuple(found))

    def cost(self, request: AskRequest) -> float:
        return float(max(1, min(len(request.passages), READ_PASSAGES)))

    def load(self, model_id: str) -> Readers:
        """The reader ``model_id`` and RERANK_MODEL, as one model: every request needs
        both, so they load, and unload, together."""
        reranker = None
        if self.reranker:
            reranker = self.load_pretrained(AutoModelForSequenceClassification, self.reranker)
        return Readers(self.reader.load(model_id), reranker)

    def run_batch(
        self, models: Mapping[str, Any], requests: Sequence[AskRequest], ctx: BatchContext
    ) -> list[AskResult | InferenceError]:
        loaded: Readers = models[self.model]
        chosen = [
            _rerank(loaded.reranker, r) if loaded.reranker else list(r.passages) for r in requests
        ]
        reads = [(i, p) for i, passages in enumerate(chosen) for p in passages[:READ_PASSAGES]]
        answers = self.reader.run_batch(
            {self.model: loaded.reader},
            [QaRequest(requests[i].question, p.text) for i, p in reads],
            ctx,
        )
        results: list[AskResult | InferenceError] = []
        for index, passages in enumerate(chosen):
            mine = [
                (p, a)
                for (i, p), a in zip(reads, answers, strict=True)
                if i == index and isinstance(a, QaResult)
            ]
            results.append(_best(mine, passages))
        return results


def _score(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _rerank(scorer: LoadedModel, request: AskRequest) -> list[Passage]:
    """The passages in the cross-encoder's order, best first (its score replaces the
    retrieval score)."""
    if not request.passages:
        return []
    batch = scorer.tokenizer(
        [request.question] * len(request.passages),
        [p.text for p in request.passages],
        padding=True,
        truncation="only_second",
        max_length=scorer.max_tokens,
        return_tensors="pt",
    ).to(scorer.device)
    with torch.inference_mode():
        logits = scorer.model(**batch).logits.float().cpu()
    scores = logits[:, 0] if logits.shape[1] == 1 else logits.softmax(-1)[:, -1]
    ranked = sorted(zip(scores.tolist(), request.passages, strict=True), key=lambda x: -x[0])
    return [Passage(p.document, p.text, float(s)) for s, p in ranked]


def _best(read: list[tuple[Passage, QaResult]], passages: list[Passage]) -> AskResult:
    """The most confident answer of the passages read, or "not found" with the closest."""
    answered = [(p, a) for p, a in read if a.answerable]
    if answered:
        passage, answer = max(answered, key=lambda item: item[1].score)
        quote = sentence_around(passage.text, answer.start, answer.end)
        return AskResult(
            answer.answer,
            answer.score,
            True,
            [Source(passage.document, quote, answer.score)],
        )
    closest = [Source(p.document, _excerpt(p.text), p.score) for p in passages[:READ_PASSAGES]]
    best = max((a.score for _, a in read), default=0.0)
    return AskResult("", best, False, closest, NOT_FOUND)


def _excerpt(text: str) -> str:
    if len(text) <= EXCERPT_CHARS:
        return text
    return text[:EXCERPT_CHARS].rsplit(" ", 1)[0] + " …"
