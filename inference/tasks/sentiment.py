"""Sentiment: is a text negative, neutral or positive, in whatever language it is written?

Each language goes to a model trained on it (first match wins):

1. ``SENTIMENT_MODELS``, JSON ``{"ko": "...", "*": "..."}``, over the defaults below
   ("" takes a default away);
2. English: ``SENTIMENT_MODEL``;
3. every other language, and text whose language cannot be told: the ``"*"`` model,
   else ``SENTIMENT_MODEL``.

A model given for one run (the CLI's ``--model``, ``InferenceService(models=...)``)
reads every language. The language is, in order: the ``language`` input when given;
Korean when most of the letters are Hangul; the detector ``/translate`` uses, when it
is confident; ``default_language`` (a server's own language) when given; else unknown
(the ``"*"`` model). Requests run in batches per model.

Every model's labels are read onto one scale (``sentiment_scale``): the result has
negative / neutral / positive, a score, a polarity from -1 to 1, and the model's own
labels ("4 stars") beside them.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification

from ..device import Placement
from ..errors import InferenceError, InvalidInput, ModelUnavailable
from ..languages import (
    ANY_LANGUAGE,
    detect_language,
    resolve_language,
    script_language,
    warm_detector,
)
from ..naming import display_name
from ..results import Result
from ..settings import InferenceSettings
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
from .sentiment_scale import SentimentScale

#: The models of languages that SENTIMENT_MODEL (English) does not read well; see
#: README for why these: both safetensors, with clean licences.
DEFAULT_MODELS: dict[str, str] = {
    # KoELECTRA-small-v3 fine-tuned on NSMC (MIT; 14 M parameters; labels numbered as
    # NSMC's: 0 negative, 1 positive)
    "ko": "daekeun-ml/koelectra-small-v3-nsmc",
    # multilingual DistilBERT distilled for sentiment (Apache-2.0; positive / neutral /
    # negative)
    ANY_LANGUAGE: "lxyuan/distilbert-base-multilingual-cased-sentiments-student",
}

#: How a request's language was decided (``SentimentResult.language_from``).
GIVEN = "given"
DETECTED = "detected"
DEFAULT = "default"
UNDETECTED = "undetected"

#: ``language`` values that ask for detection, as leaving it out does.
AUTO = "auto"


@dataclass(frozen=True)
class SentimentRequest:
    text: str
    #: How many of the model's own labels to return, best first; 0 means all of them.
    top_k: int = 1
    #: The language code, or None when it could not be told.
    language: str | None = None
    language_from: str = UNDETECTED
    #: The model (Hub id or directory) that reads this language.
    model: str = ""


@dataclass
class SentimentResult(Result):
    #: "negative", "neutral" or "positive", whatever the model's own labels.
    label: str
    #: The probability of ``label`` (for a two-class model's neutral band, 1 - |polarity|).
    score: float
    #: From -1 (negative) to 1 (positive): the expected value over the model's classes.
    polarity: float
    #: The model's own best label ("4 stars", "1", "POSITIVE").
    model_label: str
    #: The model's own labels with their scores, the best ``top_k``, best first.
    scores: list[LabelScore]
    #: The model's label scheme: "2-class", "3-class", "5-class" or "5-star".
    scheme: str
    #: The language code the text was read as, None when it could not be told.
    language: str | None
    #: How: "given", "detected", "default" (the default_language input) or "undetected".
    language_from: str
    #: The model's display name (a Hub id, or a local directory's last part).
    model: str
    #: True when the text was longer than the model reads and only its start was used.
    truncated: bool


@dataclass
class SentimentModel(LoadedModel):
    """A loaded classifier and the scale its labels map onto."""

    scale: SentimentScale


def language_models(model: str, settings: InferenceSettings) -> dict[str, str]:
    """Language code (or "*") -> model, from the settings; ``model`` is the task's model:
    SENTIMENT_MODEL, or a model given for the run, which then reads every language."""
    if model != settings.sentiment_model:
        return {ANY_LANGUAGE: model}
    routes = {**DEFAULT_MODELS, "en": model, **settings.sentiment_models}
    return {code: target for code, target in routes.items() if target}


class SentimentTask(Task[SentimentRequest, SentimentResult]):
    name = "sentiment"
    summary = "Tell whether a text is negative, neutral or positive, in many languages."

    def __init__(self, model: str, placement: Placement, settings: InferenceSettings) -> None:
        super().__init__(model, placement, settings)
        self.models = language_models(model, settings)

    # -- parse --------------------------------------------------------------------

    def parse(
        self,
        text: Any = None,
        top_k: Any = None,
        language: Any = None,
        default_language: Any = None,
        **extra: Any,
    ) -> SentimentRequest:
        reject_unknown(self.name, extra)
        if top_k is True:  # a bare --top-k flag on the command line: every label
            top_k = 0
        top_k = as_int(top_k, "top_k", low=0, high=100, default=1)
        text = clean_text(text)
        if not any(char.isalpha() for char in text):
            raise InvalidInput(
                "There are no words in that text, only numbers, emoji or symbols: "
                "sentiment needs some words to read."
            )
        code, how = self.language_of(text, language, default_language)
        return SentimentRequest(text, top_k, code, how, self.model_for_language(code))

    def language_of(
        self, text: str, language: Any = None, default_language: Any = None
    ) -> tuple[str | None, str]:
        """The language ``text`` is read as and how that was decided (see the module
        docstring). Detection takes microseconds once the detector is loaded (``warm``
        loads it in a worker thread when the backend starts)."""
        if _given(language):
            return resolve_language(language), GIVEN
        # checked even when unused, so that a bad one is refused every time
        default = (
            resolve_language(default_language, name="default language")
            if _given(default_language)
            else None
        )
        found = script_language(text) or detect_language(text)
        if found is not None:
            return found, DETECTED
        return (default, DEFAULT) if default else (None, UNDETECTED)

    def model_for_language(self, code: str | None) -> str:
        """The model that reads ``code`` (None: a language that could not be told)."""
        found = self.models.get(code) if code is not None else None
        return found or self.models.get(ANY_LANGUAGE) or self.model

    def models_for(self, request: SentimentRequest) -> tuple[str, ...]:
        return (request.model,)

    def batch_key(self, request: SentimentRequest) -> Hashable:
        return request.model

    def default_models(self) -> list[str]:
        """What PRELOAD loads: the model of every language."""
        return list(dict.fromkeys([self.model_for_language("en"), *self.models.values()]))

    # -- load and run -------------------------------------------------------------

    @classmethod
    def warm(cls) -> None:
        warm_detector()  # some 50 ms: in a worker thread, not on first use in parse

    def load(self, model_id: str) -> SentimentModel:
        loaded = self.load_pretrained(AutoModelForSequenceClassification, model_id)
        scale = SentimentScale.of(loaded.model.config.id2label)
        return SentimentModel(**vars(loaded), scale=scale)

    def run_batch(
        self,
        models: Mapping[str, Any],
        requests: Sequence[SentimentRequest],
        ctx: BatchContext,
    ) -> list[SentimentResult | InferenceError]:
        # The service batches by model; a mixed batch (another backend's) is split here.
        results: list[SentimentResult | InferenceError] = [
            ModelUnavailable(self.name, r.model, "not loaded") for r in requests
        ]
        groups: dict[str, list[int]] = {}
        for index, request in enumerate(requests):
            groups.setdefault(request.model, []).append(index)
        for model_id, indices in groups.items():
            if model_id in models:
                answers = self._classify(models[model_id], [requests[i] for i in indices])
                for index, result in zip(indices, answers, strict=True):
                    results[index] = result
        return results

    def _classify(
        self, clf: SentimentModel, requests: Sequence[SentimentRequest]
    ) -> list[SentimentResult]:
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
        probabilities: list[list[float]] = [[] for _ in requests]
        for indices in length_sorted_passes(lengths, tokens_per_pass(self.placement)):
            rows = {key: [values[i] for i in indices] for key, values in encoded.items()}
            inputs = clf.tokenizer.pad(rows, return_tensors="pt").to(clf.device)
            with torch.inference_mode():
                probs = clf.model(**inputs).logits.float().softmax(dim=-1).cpu()
            for i, row in zip(indices, probs.tolist(), strict=True):
                probabilities[i] = row

        labels = clf.model.config.id2label
        name = display_name(requests[0].model)
        band = self.settings.sentiment_neutral_band
        results: list[SentimentResult] = []
        for request, probs, cut in zip(requests, probabilities, truncated, strict=True):
            ranked = sorted(
                (LabelScore(str(labels[i]), p) for i, p in enumerate(probs)),
                key=lambda item: item.score,
                reverse=True,
            )
            reading = clf.scale.read(probs, band)
            results.append(
                SentimentResult(
                    label=reading.label,
                    score=reading.score,
                    polarity=reading.polarity,
                    model_label=ranked[0].label,
                    scores=ranked[: request.top_k or None],
                    scheme=clf.scale.scheme,
                    language=request.language,
                    language_from=request.language_from,
                    model=name,
                    truncated=cut,
                )
            )
        return results


def _given(value: Any) -> bool:
    """Whether a language option was given (empty and "auto" ask for detection)."""
    if value is None:
        return False
    return not isinstance(value, str) or value.strip().casefold() not in {"", AUTO}
