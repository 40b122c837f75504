"""Classify: zero-shot classification of a text into labels the user names.

An NLI model (``facebook/bart-large-mnli``) scores "does the text entail
'This example is {label}.'" for every label; ``pipeline("zero-shot-classification")``
builds the pairs and turns the entailment logits into scores.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from transformers import AutoModelForSequenceClassification, pipeline

from ..errors import InferenceError, InvalidInput, ModelUnavailable
from ..results import Result
from .base import (
    BatchContext,
    LabelScore,
    Task,
    as_bool,
    clean_text,
    reject_unknown,
)

#: Characters of text a request may hold (about the 1,024 tokens BART-MNLI reads).
MAX_CHARS = 4_000
#: Candidate labels a request may name, and characters per label.
MAX_LABELS = 10
MAX_LABEL_CHARS = 100
MAX_TEMPLATE_CHARS = 200
DEFAULT_TEMPLATE = "This example is {}."
#: (text, label) pairs one forward pass takes at most.
MAX_ROWS = 64


@dataclass(frozen=True)
class ClassifyRequest:
    text: str
    #: Distinct labels in the order given.
    labels: tuple[str, ...]
    #: Score each label on its own (several may fit) instead of sharing one distribution.
    multi_label: bool
    #: The NLI hypothesis; "{}" is replaced by each label.
    template: str


@dataclass
class ClassifyResult(Result):
    #: The best label and its score.
    label: str
    score: float
    #: Every label with its score, best first. Scores sum to 1 unless multi_label.
    scores: list[LabelScore]
    #: Whether labels were scored independently (always true for a single label).
    multi_label: bool
    template: str
    #: True when the text was longer than the model reads and only its start was used.
    truncated: bool


@dataclass
class ZeroShot:
    """A zero-shot pipeline over a loaded NLI model."""

    pipe: Any
    tokenizer: Any
    max_tokens: int


class ClassifyTask(Task[ClassifyRequest, ClassifyResult]):
    name = "classify"
    summary = "Sort a text into labels you choose (zero-shot)."
    max_batch_size = 16  # each request is one NLI pair per label: up to 160 rows

    def parse(
        self,
        text: Any = None,
        labels: Any = None,
        multi_label: Any = None,
        template: Any = None,
        **extra: Any,
    ) -> ClassifyRequest:
        reject_unknown(self.name, extra)
        return ClassifyRequest(
            text=clean_text(text, max_chars=MAX_CHARS),
            labels=_labels(labels),
            multi_label=as_bool(multi_label, "multi_label"),
            template=_template(template),
        )

    def batch_key(self, request: ClassifyRequest) -> Hashable:
        # The pipeline takes one set of labels and one template per call.
        return (request.labels, request.template, request.multi_label)

    def load(self, model_id: str) -> ZeroShot:
        nli = self.load_pretrained(AutoModelForSequenceClassification, model_id)
        # Without an "entailment" label the pipeline would silently score the wrong class.
        if not any(str(label).lower().startswith("entail") for label in nli.model.config.label2id):
            raise ModelUnavailable(
                self.name, model_id, "not an NLI model (it has no 'entailment' label)"
            )
        pipe = pipeline(
            "zero-shot-classification",
            model=nli.model,
            tokenizer=nli.tokenizer,
            device=self.placement.device,
        )
        return ZeroShot(pipe, nli.tokenizer, nli.max_tokens)

    def run_batch(
        self,
        models: Mapping[str, Any],
        requests: Sequence[ClassifyRequest],
        ctx: BatchContext,
    ) -> list[ClassifyResult | InferenceError]:
        zs: ZeroShot = models[self.model]
        first = requests[0]  # the batch key makes labels, template and mode equal
        texts = [r.text for r in requests]
        hypotheses = [first.template.format(label) for label in first.labels]
        longest = max(hypotheses, key=len)
        lengths = [
            len(ids)
            for ids in zs.tokenizer(texts, [longest] * len(texts), verbose=False)["input_ids"]
        ]
        # One call; batch_size makes the pipeline run the (text, label) pairs as padded
        # forward passes of up to MAX_ROWS pairs instead of one pass per pair.
        outputs = zs.pipe(
            texts,
            candidate_labels=list(first.labels),
            hypothesis_template=first.template,
            multi_label=first.multi_label,
            batch_size=min(MAX_ROWS, len(texts) * len(first.labels)),
        )
        if isinstance(outputs, dict):
            outputs = [outputs]

        results: list[ClassifyResult | InferenceError] = []
        for output, length in zip(outputs, lengths, strict=True):
            scores = [
                LabelScore(str(label), float(score))
                for label, score in zip(output["labels"], output["scores"], strict=True)
            ]
            scores.sort(key=lambda item: item.score, reverse=True)
            results.append(
                ClassifyResult(
                    label=scores[0].label,
                    score=scores[0].score,
                    scores=scores,
                    # the pipeline scores a single label on its own, whatever was asked
                    multi_label=first.multi_label or len(first.labels) == 1,
                    template=first.template,
                    truncated=length > zs.max_tokens,
                )
            )
        return results


def _labels(value: Any) -> tuple[str, ...]:
    """Candidate labels from "a, b, c" or a list: stripped, distinct, bounded."""
    if value is None or value is True:
        raise InvalidInput("Please give some labels, separated by commas.")
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise InvalidInput("labels must be a comma-separated list.")
    labels: dict[str, str] = {}  # casefolded -> as first written
    for item in items:
        if not isinstance(item, str):
            raise InvalidInput("Each label must be text.")
        label = " ".join(item.split())
        if not label:
            continue  # "a,,b" or a trailing comma
        if len(label) > MAX_LABEL_CHARS:
            raise InvalidInput(f"A label may have at most {MAX_LABEL_CHARS} characters.")
        label = clean_text(label, "label", max_chars=MAX_LABEL_CHARS)  # binary, broken text
        labels.setdefault(label.casefold(), label)
    if not labels:
        raise InvalidInput("Please give some labels, separated by commas.")
    if len(labels) > MAX_LABELS:
        raise InvalidInput(f"Please give at most {MAX_LABELS} labels ({len(labels)} given).")
    return tuple(labels.values())


def _template(value: Any) -> str:
    """A hypothesis template with exactly one "{}" and no other braces."""
    if value is None:
        return DEFAULT_TEMPLATE
    template = clean_text(value, "template", max_chars=MAX_TEMPLATE_CHARS)
    rest = template.replace("{}", "", 1)
    if "{}" not in template or "{" in rest or "}" in rest:
        raise InvalidInput('The template must contain "{}" once, where each label goes.')
    return template
