"""Summaries of long texts with a seq2seq model (``AutoModelForSeq2SeqLM.generate``).

transformers 5 has no summarization pipeline. A text longer than the model reads is
split into chunks of whole sentences that fit its window; each chunk is summarised,
then the joined summaries are summarised again, for at most ``MAX_ROUNDS`` rounds
(map-reduce). Decoding is deterministic (beam search, no sampling), so the same text
and length always give the same summary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import AutoModelForSeq2SeqLM, StoppingCriteriaList

from ..errors import InferenceError, InvalidInput, JobCancelled
from ..results import Result
from ..text import count_tokens, split_by_tokens
from .base import (
    BatchContext,
    LoadedModel,
    Task,
    clean_text,
    reject_unknown,
)
from .steps import StepBoundary

#: Characters of text accepted at most (about 12,000 tokens: ~13 chunks of 1,024).
MAX_SUMMARIZE_CHARS = 50_000
#: Summary length presets: (min_new_tokens, max_new_tokens), capped by the model's window.
LENGTHS: dict[str, tuple[int, int]] = {
    "short": (10, 60),
    "medium": (30, 140),
    "long": (80, 300),
}
DEFAULT_LENGTH = "medium"
#: Rounds of summarising at most; the last one truncates what still does not fit.
MAX_ROUNDS = 4
#: Chunks summarised in one ``generate`` call, at most (bounds memory with beam search).
CHUNKS_PER_GENERATE = 16
#: Beams when the model's generation config asks for none (greedy is too repetitive).
DEFAULT_BEAMS = 4


@dataclass(frozen=True)
class SummarizeRequest:
    text: str
    #: short, medium or long.
    length: str = DEFAULT_LENGTH


@dataclass
class SummarizeResult(Result):
    summary: str
    #: How many chunks the text was split into (1 when it fits the model's window).
    chunks: int
    #: Rounds of summarising: 1, or more when the summaries of chunks were summarised again.
    rounds: int
    #: Tokens of the input text and of the summary.
    input_tokens: int
    output_tokens: int
    #: True when even the summaries of the chunks were too long after MAX_ROUNDS and
    #: the last round read only their start.
    truncated: bool
    #: The model (Hub id or directory) that wrote the summary.
    model: str = ""


@dataclass
class Summarizer(LoadedModel):
    """A loaded seq2seq model and its tokenizer."""

    #: Text put before every input, for models trained with one ("summarize: " for T5).
    prefix: str = ""


@dataclass
class _Progress:
    """One request's way through the rounds."""

    pending: list[str]  # the chunks this round summarises
    chunks: int
    rounds: int = 0
    done: int = 0  # chunks summarised so far, over all rounds
    truncated: bool = False
    summary: str | None = None
    summaries: list[str] = field(default_factory=list)


class SummarizeTask(Task[SummarizeRequest, SummarizeResult]):
    name = "summarize"
    summary = "Summarise a text (short, medium or long)."
    #: Requests per batch: long texts make long batches, and a small batch keeps the queue
    #: moving (each batch still packs up to CHUNKS_PER_GENERATE chunks per generate call).
    max_batch_size = 8
    #: A 50,000-character text is ~13 chunks plus a second round: minutes on a CPU.
    timeout_s = 300.0
    long_running = True

    def parse(self, text: Any = None, length: Any = None, **extra: Any) -> SummarizeRequest:
        reject_unknown(self.name, extra)
        text = clean_text(text, max_chars=MAX_SUMMARIZE_CHARS)
        if length is None:
            length = DEFAULT_LENGTH
        word = length.strip().lower() if isinstance(length, str) else None
        if word not in LENGTHS:
            raise InvalidInput(f"length must be one of: {', '.join(LENGTHS)}.")
        return SummarizeRequest(text=text, length=word)

    def cost(self, request: SummarizeRequest) -> float:
        return max(1.0, len(request.text) / 2_000)  # about one 512-token chunk a unit

    def batch_key(self, request: SummarizeRequest) -> tuple[Any, ...]:
        # One generate call has one min/max length: batch only requests that share it.
        return (*self.models_for(request), request.length)

    def load(self, model_id: str) -> Summarizer:
        loaded = self.load_pretrained(AutoModelForSeq2SeqLM, model_id)
        model = loaded.model
        # Every call passes min/max_new_tokens from the length preset; the model's own
        # min/max_length (56/142 for distilbart-cnn) would only clash with them.
        model.generation_config.min_length = None
        model.generation_config.max_length = None
        task_params = getattr(model.config, "task_specific_params", None) or {}
        prefix = task_params.get("summarization", {}).get("prefix", "")
        return Summarizer(loaded.tokenizer, model, loaded.max_tokens, loaded.device, prefix)

    def run_batch(
        self,
        models: Mapping[str, Any],
        requests: Sequence[SummarizeRequest],
        ctx: BatchContext,
    ) -> list[SummarizeResult | InferenceError]:
        s: Summarizer = models[self.model]
        budget = _chunk_budget(s)
        states = []
        for request in requests:
            chunks = split_by_tokens(s.tokenizer, request.text, budget)
            states.append(_Progress(pending=chunks, chunks=len(chunks)))

        for _ in range(MAX_ROUNDS):
            active = [
                (i, state)
                for i, state in enumerate(states)
                if state.summary is None and not ctx.cancelled(i)
            ]
            if not active:
                break
            flat = [(i, text) for i, state in active for text in state.pending]
            for first in range(0, len(flat), CHUNKS_PER_GENERATE):
                part = flat[first : first + CHUNKS_PER_GENERATE]
                step = StepBoundary(ctx, sorted({i for i, _ in part}))
                if step.all_cancelled():
                    continue
                summaries = self._generate(s, [text for _, text in part], requests[0].length, step)
                if step.all_cancelled():  # stopped mid-way: what it wrote is cut short
                    continue
                for (i, _), summary in zip(part, summaries, strict=True):
                    states[i].summaries.append(summary)
                    states[i].done += 1
                    ctx.progress(i, states[i].done, states[i].done + _left(states[i]))
            for i, state in active:
                if not ctx.cancelled(i):  # a cancelled request's round may be incomplete
                    self._next_round(s, state, budget)

        results: list[SummarizeResult | InferenceError] = []
        for request, state in zip(requests, states, strict=True):
            if state.summary is None:  # cancelled
                results.append(JobCancelled("The request was cancelled."))
                continue
            results.append(
                SummarizeResult(
                    summary=state.summary,
                    chunks=state.chunks,
                    rounds=state.rounds,
                    input_tokens=count_tokens(s.tokenizer, request.text),
                    output_tokens=count_tokens(s.tokenizer, state.summary),
                    model=self.model,
                    truncated=state.truncated,
                )
            )
        return results

    def _next_round(self, s: Summarizer, state: _Progress, budget: int) -> None:
        """After a round: finish the request, or queue its joined summaries for the next."""
        state.rounds += 1
        summaries, state.summaries = state.summaries, []
        if len(state.pending) == 1:
            state.summary, state.pending = summaries[0], []
            return
        joined = " ".join(summaries)
        chunks = split_by_tokens(s.tokenizer, joined, budget)
        # The last round, or summaries that do not shrink (a poor model): read what fits.
        if len(chunks) > 1 and (state.rounds == MAX_ROUNDS - 1 or len(chunks) >= len(summaries)):
            chunks = [joined]
            state.truncated = True
        state.pending = chunks

    def _generate(
        self, s: Summarizer, texts: list[str], length: str, step: StepBoundary
    ) -> list[str]:
        """One beam-search ``generate`` call over ``texts``; their summaries, in order."""
        min_new, max_new = LENGTHS[length]
        # Learned position embeddings bound the output too; leave room for the start tokens.
        max_new = min(max_new, s.max_tokens - 2)
        min_new = min(min_new, max_new)
        config = s.model.generation_config
        inputs = s.tokenizer(
            [s.prefix + text for text in texts],
            padding=True,
            truncation=True,
            max_length=s.max_tokens,
            return_tensors="pt",
        ).to(s.device)
        with torch.inference_mode():
            output = s.model.generate(
                **inputs,
                do_sample=False,
                num_beams=config.num_beams if (config.num_beams or 1) > 1 else DEFAULT_BEAMS,
                max_new_tokens=max_new,
                min_new_tokens=min_new,
                stopping_criteria=StoppingCriteriaList([step]),
            )
        return [text.strip() for text in s.tokenizer.batch_decode(output, skip_special_tokens=True)]


def _chunk_budget(s: Summarizer) -> int:
    """Tokens of text per chunk: the window less special tokens, and a small margin
    because sentences tokenized alone count a token or so differently than joined."""
    specials = s.tokenizer.num_special_tokens_to_add(pair=False)
    specials += count_tokens(s.tokenizer, s.prefix)
    return s.max_tokens - specials - max(2, s.max_tokens // 50)


def _left(state: _Progress) -> int:
    """Chunks still to summarise as far as known now (one more round when > 1 chunk)."""
    return max(0, len(state.pending) - len(state.summaries)) + (len(state.pending) > 1)
