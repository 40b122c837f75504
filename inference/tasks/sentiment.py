"""Sentiment: is a text positive or negative (or whatever labels the model has)?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification

from ..errors import InferenceError
from ..results import Result
from .base import (
    BatchContext,
    LabelScore,
    LoadedModel,
    Task,
    as_int,
    clean_text,
    length_sorted_passes,
    reject_unknown,
    tokens_per_pass,
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

    def load(self, model_id: str) -> LoadedModel:
        return self.load_pretrained(AutoModelForSequenceClassification, model_id)

    def run_batch(
        self,
        models: Mapping[str, Any],
        requests: Sequence[SentimentRequest],
        ctx: BatchContext,
    ) -> list[SentimentResult | InferenceError]:
        clf: LoadedModel = models[self.model]
        texts = [r.text for r in requests]
        # Tokenise once, unpadded; each forward pass pads only to its own longest text.
        encoded = clf.tokenizer(texts, truncation=True, max_length=clf.max_tokens, verbose=False)
        ids: list[list[int]] = encoded["input_ids"]
        lengths = [len(row) for row in ids]
        truncated = [
            # only a text that fills the limit may have been cut: count its full length
            n >= clf.max_tokens
            and len(clf.tokenizer(text, verbose=False)["input_ids"]) > clf.max_tokens
            for text, n in zip(texts, lengths, strict=True)
        ]
        probabilities: list[torch.Tensor] = [torch.empty(0)] * len(requests)
        for indices in length_sorted_passes(lengths, tokens_per_pass(self.placement)):
            rows = {key: [values[i] for i in indices] for key, values in encoded.items()}
            inputs = clf.tokenizer.pad(rows, return_tensors="pt").to(clf.device)
            with torch.inference_mode():
                probs = clf.model(**inputs).logits.float().softmax(dim=-1).cpu()
            for i, row in zip(indices, probs, strict=True):
                probabilities[i] = row

        labels = clf.model.config.id2label
        results: list[SentimentResult | InferenceError] = []
        for request, probs, cut in zip(requests, probabilities, truncated, strict=True):
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
                    truncated=cut,
                )
            )
        return results
