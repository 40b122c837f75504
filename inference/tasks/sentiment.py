"""Sentiment: is a text positive or negative (or whatever labels the model has)?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from ..errors import InferenceError
from ..results import Result
from .base import (
    BatchContext,
    LabelScore,
    Task,
    as_int,
    clean_text,
    max_input_tokens,
    reject_unknown,
)


@dataclass(frozen=True)
class SentimentRequest:
    text: str
    #: How many labels to return, best first; 0 means all of them.
    top_k: int = 1


@dataclass
class SentimentResult(Result):
    label: str
    score: float
    #: The best ``top_k`` labels with their scores, best first.
    scores: list[LabelScore]
    #: True when the text was longer than the model reads and only its start was used.
    truncated: bool


@dataclass
class TextClassifier:
    """A loaded sequence-classification model and its tokenizer."""

    tokenizer: Any
    model: Any
    max_tokens: int
    device: torch.device


class SentimentTask(Task[SentimentRequest, SentimentResult]):
    name = "sentiment"
    summary = "Tell whether a text is positive or negative."

    def parse(self, text: Any = None, top_k: Any = None, **extra: Any) -> SentimentRequest:
        reject_unknown(self.name, extra)
        if top_k is True:  # a bare --top-k flag on the command line: every label
            top_k = 0
        return SentimentRequest(
            text=clean_text(text), top_k=as_int(top_k, "top_k", low=0, high=100, default=1)
        )

    def load(self, model_id: str) -> TextClassifier:
        kwargs = self.pretrained_kwargs()
        tokenizer = AutoTokenizer.from_pretrained(model_id, **kwargs)
        model = AutoModelForSequenceClassification.from_pretrained(
            model_id, dtype=self.placement.dtype, **kwargs
        )
        model.to(self.placement.device).eval()
        return TextClassifier(
            tokenizer, model, max_input_tokens(tokenizer, model), self.placement.device
        )

    def run_batch(
        self,
        models: Mapping[str, Any],
        requests: Sequence[SentimentRequest],
        ctx: BatchContext,
    ) -> list[SentimentResult | InferenceError]:
        clf: TextClassifier = models[self.model]
        texts = [r.text for r in requests]
        lengths = [len(ids) for ids in clf.tokenizer(texts, verbose=False)["input_ids"]]
        inputs = clf.tokenizer(
            texts, padding=True, truncation=True, max_length=clf.max_tokens, return_tensors="pt"
        ).to(clf.device)
        with torch.inference_mode():
            probabilities = clf.model(**inputs).logits.float().softmax(dim=-1).cpu()

        labels = clf.model.config.id2label
        results: list[SentimentResult | InferenceError] = []
        for request, probs, length in zip(requests, probabilities, lengths, strict=True):
            ranked = sorted(
                (LabelScore(labels[i], float(p)) for i, p in enumerate(probs.tolist())),
                key=lambda item: item.score,
                reverse=True,
            )
            best = ranked[0]
            results.append(
                SentimentResult(
                    label=best.label,
                    score=best.score,
                    scores=ranked[: request.top_k or None],
                    truncated=length > clf.max_tokens,
                )
            )
        return results
