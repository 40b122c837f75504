"""Translate: Marian (OPUS-MT) models, one per language pair, chained and pivoted.

``target`` may be one language or a chain such as ``fr>de>en``: the text goes
through each step and the result shows every stage. A pair without a model of its
own goes through English (``es>fr`` runs es->en->fr) when both halves have one.

Which model serves a pair, first match wins:

1. ``TRANSLATE_PAIRS``, a JSON object ``{"en-ja": "Helsinki-NLP/opus-mt-en-jap"}``
   (or ``{"en-pt": {"model": "...", "target_token": ">>pt<<"}}``, see translate_pairs);
2. ``TRANSLATE_MODEL``, a template with ``{src}`` and ``{tgt}``: for a local directory
   template the pair exists when its directory does; for the default
   ``Helsinki-NLP/opus-mt-{src}-{tgt}`` when it is in :data:`OPUS_MT_PAIRS` (pairs
   published on the Hub) or served by a group model (``GROUP_PAIRS``: en-pt by
   opus-mt-en-ROMANCE); any other Hub template is trusted for every pair.

Multi-target models get their target-language token (``>>cmn_Hans<<``) before each
chunk; see ``translate_pairs.target_token``.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForSeq2SeqLM, StoppingCriteriaList

from ..device import Placement
from ..errors import InferenceError, InvalidInput, JobCancelled
from ..languages import UNSPACED, describe, detect_language, language_name, resolve_language
from ..results import Result
from ..settings import InferenceSettings
from ..text import count_tokens, split_by_tokens
from .base import (
    BatchContext,
    LoadedModel,
    Task,
    clean_text,
    looks_like_path,
    reject_unknown,
)
from .steps import StepBoundary
from .translate_pairs import (
    GROUP_PAIRS,
    PairModel,
    language_tokens,
    pair_key,
    parse_pairs,
    target_token,
)

log = logging.getLogger(__name__)

#: The source language that asks for the text's language to be detected. Detection
#: happens before a request is made (``detect_source``, in a worker thread), so the
#: service itself always gets a language.
AUTO_SOURCE = "auto"


def asks_for_detection(source: object) -> bool:
    """Whether ``source`` is "auto" (any case, spaces around it)."""
    return isinstance(source, str) and source.strip().casefold() == AUTO_SOURCE


#: The default model template (the TRANSLATE_MODEL default).
OPUS_MT_TEMPLATE = "Helsinki-NLP/opus-mt-{src}-{tgt}"

# Pairs published as Helsinki-NLP/opus-mt-{src}-{tgt} (two-letter codes only; models
# named by language group, like opus-mt-en-ROMANCE, need TRANSLATE_PAIRS).
_FROM_ENGLISH = (
    "af", "ar", "az", "bg", "ca", "cs", "cy", "da", "de", "es", "et", "fi", "fr",
    "ga", "gl", "ha", "he", "hi", "ht", "hu", "hy", "id", "ig", "is", "it", "mk", "ml",
    "mr", "nl", "ro", "ru", "sk", "sq", "sv", "sw", "tl", "uk", "ur", "vi", "xh", "zh",
)  # fmt: skip
_TO_ENGLISH = (
    "af", "ar", "az", "bg", "bn", "ca", "cs", "cy", "da", "de", "es", "et", "fi",
    "fr", "ga", "gl", "ha", "he", "hi", "ht", "hu", "hy", "id", "ig", "is", "it", "ja",
    "ko", "mk", "ml", "mr", "nl", "pl", "ru", "sk", "sq", "sv", "sw", "th", "tl", "tr",
    "uk", "ur", "vi", "xh", "zh",
)  # fmt: skip
_OTHER_PAIRS = (
    "de-es", "de-fr", "es-de", "es-fr", "es-it", "es-ru", "fr-de", "fr-es", "fr-ro", "fr-ru",
    "it-es", "ro-fr", "ru-es", "ru-fr", "ru-uk", "uk-ru",
)  # fmt: skip
#: (source, target) pairs that have a model under :data:`OPUS_MT_TEMPLATE`.
OPUS_MT_PAIRS: frozenset[tuple[str, str]] = frozenset(
    [("en", code) for code in _FROM_ENGLISH]
    + [(code, "en") for code in _TO_ENGLISH]
    + [tuple(pair.split("-")) for pair in _OTHER_PAIRS]  # type: ignore[misc]
)

#: Characters of text a request may hold.
MAX_CHARS = 5_000
#: Languages a target chain may list (en>fr>de>es>it is four steps).
MAX_CHAIN = 4
#: Tokens per chunk at most: Marian translates sentences best, and attention cost
#: grows with length; the model's own limit applies when it is smaller.
CHUNK_TOKENS = 200
#: Chunks one generate call takes at most (a long batch is cut to bound memory).
MAX_ROWS = 64
#: The language pivots go through.
PIVOT = "en"


@dataclass(frozen=True)
class Step:
    """One model run of a chain: ``source`` -> ``target`` with ``model``."""

    source: str
    target: str
    model: str
    #: The target-language token TRANSLATE_PAIRS names for this pair (None: from the code).
    token: str | None = None


@dataclass
class Translator(LoadedModel):
    """A loaded Marian model and the target-language tokens it knows (none when it
    translates into one language only)."""

    language_tokens: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TranslateRequest:
    text: str
    source: str
    #: The languages asked for, in order (the last one is the result's language).
    targets: tuple[str, ...]
    #: The model runs that get there, pivots through English included.
    steps: tuple[Step, ...]


@dataclass
class TranslationStage(Result):
    """The text after one step of the chain."""

    source: str
    target: str
    text: str
    model: str


@dataclass
class TranslateResult(Result):
    #: The final translation (the last stage's text).
    text: str
    source: str
    #: The final language.
    target: str
    #: Every step in order; more than one for a chain or a pivot through English.
    stages: list[TranslationStage]


class TranslateTask(Task[TranslateRequest, TranslateResult]):
    name = "translate"
    summary = "Translate text between languages (a chain such as fr>de>en too)."
    max_batch_size = 32
    long_running = True

    def __init__(self, model: str, placement: Placement, settings: InferenceSettings) -> None:
        super().__init__(model, placement, settings)
        self.pairs = parse_pairs(settings.translate_pairs)
        #: TRANSLATE_ALLOWED_PAIRS: the only pairs users may load (None: all that exist).
        self.allowed = _parse_allowed(settings.translate_allowed_pairs)

    # -- parse --------------------------------------------------------------------

    def parse(
        self, text: Any = None, target: Any = None, source: Any = None, **extra: Any
    ) -> TranslateRequest:
        reject_unknown(self.name, extra)
        text = clean_text(text, max_chars=MAX_CHARS)
        known = {code for pair in self.pairs for code in pair}
        source = resolve_language(source or "en", known, name="source language")
        if not isinstance(target, str) or not target.strip():
            raise InvalidInput("Please give a target language, such as fr (or a chain: fr>de).")
        chain = [resolve_language(part, known, name="language") for part in target.split(">")]
        if len(chain) > 1 and chain[0] == source:  # "en>fr>de" written out in full
            chain = chain[1:]
        if len(chain) > MAX_CHAIN:
            raise InvalidInput(f"A chain may have at most {MAX_CHAIN} target languages.")
        steps: list[Step] = []
        for src, tgt in zip([source, *chain], chain, strict=False):
            if src == tgt:
                raise InvalidInput(f"The source and target language are both {describe(src)}.")
            steps += self.route(src, tgt)
        return TranslateRequest(text, source, tuple(chain), tuple(steps))

    @staticmethod
    def detect_source(text: str) -> str:
        """The language ``text`` is written in, for source "auto"; ``InvalidInput`` when
        it cannot be told. Blocking (see ``detect_language``): run it in a thread."""
        code = detect_language(clean_text(text, max_chars=MAX_CHARS))
        if code is None:
            raise InvalidInput(
                "I can't tell which language the text is in. Please give source: (fr, German…)."
            )
        return code

    def route(self, source: str, target: str) -> list[Step]:
        """The steps from ``source`` to ``target``: direct, else through English."""
        direct = self.model_for_pair(source, target)
        if direct is not None:
            return [Step(source, target, direct.model, direct.token)]
        if PIVOT not in (source, target):
            first = self.model_for_pair(source, PIVOT)
            second = self.model_for_pair(PIVOT, target)
            if first is not None and second is not None:
                return [
                    Step(source, PIVOT, first.model, first.token),
                    Step(PIVOT, target, second.model, second.token),
                ]
        raise InvalidInput(
            f"There is no translation model from {language_name(source)} "
            f"to {language_name(target)}"
            + (" enabled on this bot." if self.allowed is not None else ".")
        )

    def model_for_pair(self, source: str, target: str) -> PairModel | None:
        """The model (Hub id or directory) translating ``source`` -> ``target``, with
        the target token named for it, or None when no model is known for the pair or
        the pair is not allowed."""
        if self.allowed is not None and (source, target) not in self.allowed:
            return None
        if (source, target) in self.pairs:
            return self.pairs[(source, target)]
        model = self.model.format(src=source, tgt=target)
        if looks_like_path(self.model) or looks_like_path(model):
            return PairModel(model) if Path(model).expanduser().is_dir() else None
        if self.model == OPUS_MT_TEMPLATE:
            if (source, target) in OPUS_MT_PAIRS:
                return PairModel(model)
            group = GROUP_PAIRS.get((source, target))
            return PairModel(*group) if group else None
        # the operator's own Hub template: loading tells if a pair is missing
        return PairModel(model)

    def cost(self, request: TranslateRequest) -> float:
        return len(request.steps) * max(1.0, len(request.text) / 500)

    def models_for(self, request: TranslateRequest) -> tuple[str, ...]:
        return tuple(dict.fromkeys(step.model for step in request.steps))

    def batch_key(self, request: TranslateRequest) -> Hashable:
        return request.steps

    def default_models(self) -> list[str]:
        """What PRELOAD loads: the models of the pairs in TRANSLATE_PRELOAD."""
        models: list[str] = []
        for pair in self.settings.translate_preload.split(","):
            key = pair_key(pair)
            if key is None:
                continue
            try:
                models += [step.model for step in self.route(*key)]
            except InvalidInput:
                log.warning("TRANSLATE_PRELOAD: no model for %s", pair.strip())
        return list(dict.fromkeys(models))

    # -- load and run -------------------------------------------------------------

    def load(self, model_id: str) -> Translator:
        mt = self.load_pretrained(AutoModelForSeq2SeqLM, model_id)
        tokens = language_tokens(mt.tokenizer)
        return Translator(mt.tokenizer, mt.model, mt.max_tokens, mt.device, tokens)

    def run_batch(
        self,
        models: Mapping[str, Any],
        requests: Sequence[TranslateRequest],
        ctx: BatchContext,
    ) -> list[TranslateResult | InferenceError]:
        # Every request of a batch has the same steps (the batch key): run step by
        # step, each step one generate call over the chunks of all live requests.
        steps = requests[0].steps
        texts = [r.text for r in requests]
        stages: list[list[TranslationStage]] = [[] for _ in requests]
        live = list(range(len(requests)))
        for number, step in enumerate(steps, start=1):
            live = [i for i in live if not ctx.cancelled(i)]
            if not live:
                break
            boundary = StepBoundary(ctx, live)
            outputs = self._translate(models[step.model], [texts[i] for i in live], step, boundary)
            if boundary.all_cancelled():
                live = []
                break
            for i, output in zip(live, outputs, strict=True):
                texts[i] = output
                stages[i].append(TranslationStage(step.source, step.target, output, step.model))
                ctx.progress(i, number, len(steps))

        results: list[TranslateResult | InferenceError] = []
        for i, request in enumerate(requests):
            if i not in live:
                results.append(JobCancelled("The request was cancelled."))
                continue
            results.append(
                TranslateResult(
                    text=texts[i], source=request.source, target=steps[-1].target, stages=stages[i]
                )
            )
        return results

    def _translate(
        self, mt: Translator, texts: Sequence[str], step: Step, boundary: StepBoundary
    ) -> list[str]:
        """Translate whole texts: split into lines and chunks that fit the model, run
        them (the longest together, to pad little), and join them back."""
        token = target_token(mt.language_tokens, step.target, step.token, step.model)
        prefix = f"{token} " if token else ""
        budget = min(CHUNK_TOKENS, mt.max_tokens - 2) - (count_tokens(mt.tokenizer, prefix))
        # layout[t][l] = indices into `chunks` of line l of text t
        chunks: list[str] = []
        layout: list[list[list[int]]] = []
        for text in texts:
            lines = []
            for line in text.split("\n"):
                pieces = split_by_tokens(mt.tokenizer, line, budget) if line.strip() else []
                lines.append(list(range(len(chunks), len(chunks) + len(pieces))))
                chunks += pieces
            layout.append(lines)
        if not chunks:  # an earlier step gave nothing back
            return ["" for _ in texts]

        lengths = [len(ids) for ids in mt.tokenizer(chunks, verbose=False)["input_ids"]]
        order = sorted(range(len(chunks)), key=lambda i: lengths[i], reverse=True)
        translated = [""] * len(chunks)
        for start in range(0, len(order), MAX_ROWS):
            if boundary.all_cancelled():
                break
            rows = order[start : start + MAX_ROWS]
            batch = [prefix + chunks[i] for i in rows]
            for i, output in zip(rows, self._generate(mt, batch, boundary), strict=True):
                translated[i] = output

        space = "" if step.target in UNSPACED else " "
        return [
            "\n".join(space.join(translated[i] for i in line) for line in lines).strip()
            for lines in layout
        ]

    def _generate(self, mt: LoadedModel, chunks: list[str], step: StepBoundary) -> list[str]:
        inputs = mt.tokenizer(
            chunks,
            padding=True,
            truncation=True,
            max_length=mt.max_tokens,
            return_tensors="pt",
        ).to(mt.device)
        # A translation is rarely much longer than its source: each row may write twice
        # its own length (plus a little), which stops a model that loops. Rows end at
        # their own bound, cut below, so a text reads the same alone or in a batch.
        # max_length=None: the model's own max_length would cut long chunks short.
        bounds = [min(mt.max_tokens - 2, 2 * int(n) + 16) for n in inputs["attention_mask"].sum(1)]
        # One token more than any bound (the decoder's positions hold start + bound + 1):
        # a model forcing EOS at its last step (Marian does) forces it past every row's
        # cut, alone or batched.
        with torch.inference_mode():
            output = mt.model.generate(
                **inputs,
                max_new_tokens=max(bounds) + 1,
                max_length=None,
                stopping_criteria=StoppingCriteriaList([step]),
            )
        # +1: the decoder's start token comes first
        rows = [row[: bound + 1] for row, bound in zip(output, bounds, strict=True)]
        return [text.strip() for text in mt.tokenizer.batch_decode(rows, skip_special_tokens=True)]


def _parse_allowed(raw: str) -> frozenset[tuple[str, str]] | None:
    """TRANSLATE_ALLOWED_PAIRS ("en-fr, fr-en") as (source, target) tuples; None when unset."""
    if not raw.strip():
        return None
    allowed = set()
    for item in raw.split(","):
        pair = pair_key(item)
        if pair is None:
            log.warning("TRANSLATE_ALLOWED_PAIRS: ignoring %r (want en-fr)", item.strip())
            continue
        allowed.add(pair)
    return frozenset(allowed)
