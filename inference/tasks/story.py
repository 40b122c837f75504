"""Story: one turn of the model in a story written with people (or three ideas for it).

The generate task's model code (batched ``generate``, per-row seeds, cancellation, a
checkpoint per token) is reused as is; what this task adds is the prompt: genre and
form presets, premise, memory, author's note, a summary of earlier parts and as many of
the latest turns as the model's window holds, measured with the model's own tokenizer
(``storytelling.build_prompt``). The result says how many older turns did not fit, so
that the caller can fold them into the summary.

Ideas are three short rows of one batch, each with its own seed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from storytelling import StoryInput, Turn, build_prompt
from storytelling.presets import FORMS, UnknownChoice, form_of, genre_of
from storytelling.prompt import idea_prompt

from ..errors import InferenceError, InvalidInput
from ..results import Result
from ..text import count_tokens
from .base import (
    BatchContext,
    as_bool,
    as_float,
    as_int,
    clean_text,
    printable,
    reject_unknown,
)
from .generate import (
    DEFAULT_TEMPERATURE,
    MAX_NEW_TOKENS,
    MAX_TEMPERATURE,
    GenerateRequest,
    GenerateResult,
    GenerateTask,
    LanguageModel,
    _encode,
    render,
)

MAX_PREMISE_CHARS = 500
MAX_MEMORY_CHARS = 1_000
MAX_NOTE_CHARS = 300
MAX_SUMMARY_CHARS = 2_000
MAX_DIRECTION_CHARS = 200
#: One turn of a person (a modal's largest text input).
MAX_TURN_CHARS = 4_000
#: Turns one request may carry (older ones belong in the summary).
MAX_TURNS = 200
IDEAS = 3
IDEA_TOKENS = 32
IDEA_TEMPERATURE = 1.0
#: Longest idea kept (a button's label holds 80 characters).
MAX_IDEA_CHARS = 80
#: Tokens kept free besides the instructions, turns and new tokens (template quirks).
MARGIN_TOKENS = 8


@dataclass(frozen=True)
class StoryRequest:
    story: StoryInput
    max_tokens: int
    temperature: float
    seed: int | None
    ideas: bool = False


@dataclass
class StoryResult(Result):
    #: The model's turn ("" for ideas).
    text: str
    #: Up to three short ideas (only when ideas were asked for).
    ideas: list[str] = field(default_factory=list)
    form: str = "prose"
    tokens: int = 0
    finish_reason: str = "stop"
    seed: int | None = None
    temperature: float = DEFAULT_TEMPERATURE
    model: str = ""
    #: How many of the latest turns the model read.
    fitted: int = 0
    #: How many older turns did not fit (to be folded into the summary).
    left_out: int = 0
    #: True when even the instructions and the latest turn had to be cut.
    truncated: bool = False


class StoryTask(GenerateTask):
    #: Its results are StoryResults, not the GenerateResults of the task it extends.
    result_class = StoryResult
    name = "story"
    summary = "Write the model's next turn of a story (or three ideas for it)."
    main_input = "premise"

    def parse(  # type: ignore[override]
        self,
        premise: Any = None,
        genre: Any = None,
        form: Any = None,
        memory: Any = None,
        note: Any = None,
        summary: Any = None,
        turns: Any = None,
        direction: Any = None,
        safe: Any = None,
        ideas: Any = None,
        max_tokens: Any = None,
        temperature: Any = None,
        seed: Any = None,
        **extra: Any,
    ) -> StoryRequest:
        reject_unknown(self.name, extra)
        try:
            genre, form = genre_of(genre), form_of(form)
        except UnknownChoice as exc:
            raise InvalidInput(str(exc)) from None
        want_ideas = as_bool(ideas, "ideas")
        story = StoryInput(
            premise=clean_text(premise, "premise", max_chars=MAX_PREMISE_CHARS),
            genre=genre,
            form=form,
            memory=_optional(memory, "memory", MAX_MEMORY_CHARS),
            note=_optional(note, "note", MAX_NOTE_CHARS),
            summary=_optional(summary, "summary", MAX_SUMMARY_CHARS),
            turns=_turns(turns),
            safe=as_bool(safe, "safe", default=True),
            direction=_optional(direction, "direction", MAX_DIRECTION_CHARS),
        )
        default_tokens = IDEA_TOKENS if want_ideas else FORMS[form].max_tokens
        tokens = as_int(
            max_tokens, "max_tokens", low=1, high=MAX_NEW_TOKENS, default=default_tokens
        )
        default_temp = IDEA_TEMPERATURE if want_ideas else DEFAULT_TEMPERATURE
        temp = as_float(
            temperature, "temperature", low=0.0, high=MAX_TEMPERATURE, default=default_temp
        )
        chosen: int | None = None
        if temp > 0:
            chosen = (
                secrets.randbelow(2**31)
                if seed is None
                else as_int(seed, "seed", low=0, high=2**32 - 1)
            )
        return StoryRequest(story, tokens, temp, chosen, want_ideas)

    def cost(self, request: StoryRequest) -> float:  # type: ignore[override]
        rows = IDEAS if request.ideas else 1
        return max(1.0, rows * request.max_tokens / 16)

    def run_batch(  # type: ignore[override]
        self,
        models: Mapping[str, Any],
        requests: Sequence[StoryRequest],
        ctx: BatchContext,
    ) -> list[StoryResult | InferenceError]:
        lm: LanguageModel = models[self.model]
        rows: list[GenerateRequest] = []
        owners: list[int] = []
        prompts = []
        for index, request in enumerate(requests):
            prompt = build_prompt(
                request.story,
                partial(count_tokens, lm.tokenizer),
                budget(lm, request.max_tokens),
                ideas=request.ideas,
            )
            prompts.append(prompt)
            if request.ideas:
                seed = request.seed or 0
                for n in range(IDEAS):
                    rows.append(
                        GenerateRequest(
                            idea_prompt(prompt),
                            request.max_tokens,
                            request.temperature,
                            None if request.seed is None else seed + n,
                        )
                    )
                    owners.append(index)
            else:
                rows.append(
                    GenerateRequest(
                        prompt.instructions,
                        request.max_tokens,
                        request.temperature,
                        request.seed,
                        prompt.story,
                    )
                )
                owners.append(index)
        written = super().run_batch(models, rows, _RowContext(ctx, owners))
        rows_of: list[list[Any]] = [[] for _ in requests]
        for row, owner in zip(written, owners, strict=True):
            rows_of[owner].append(row)
        return [
            self._result(request, prompt, rows)
            for request, prompt, rows in zip(requests, prompts, rows_of, strict=True)
        ]

    def _result(self, request: StoryRequest, prompt: Any, written: list[Any]) -> Any:
        errors = [w for w in written if isinstance(w, InferenceError)]
        if errors:
            return errors[0]
        done: list[GenerateResult] = written
        first = done[0]
        ideas = []
        if request.ideas:
            ideas = list(dict.fromkeys(i for i in (clean_idea(d.text) for d in done) if i))
        return StoryResult(
            text="" if request.ideas else printable(first.text).strip(),
            ideas=ideas,
            form=request.story.form,
            tokens=sum(d.tokens for d in done),
            finish_reason=first.finish_reason,
            seed=request.seed,
            temperature=request.temperature,
            model=self.model,
            fitted=prompt.fitted,
            left_out=prompt.left_out,
            truncated=any(d.truncated for d in done),
        )


def budget(lm: LanguageModel, max_tokens: int) -> int:
    """Tokens left for the instructions and the story: the window, less the new tokens
    (at most half of it, as ``generate`` does) and the chat template's own."""
    new = min(max_tokens, max(1, lm.window // 2))
    overhead = len(_encode(lm, render(lm, "", "")))
    return max(1, lm.window - new - overhead - MARGIN_TOKENS)


class _RowContext:
    """The service's batch context seen through rows: several rows (ideas) may belong to
    one request."""

    def __init__(self, ctx: BatchContext, owners: list[int]) -> None:
        self.ctx, self.owners = ctx, owners

    def progress(self, index: int, done: int, total: int) -> None:
        self.ctx.progress(self.owners[index], done, total)

    def cancelled(self, index: int) -> bool:
        return self.ctx.cancelled(self.owners[index])

    def checkpoint(self) -> None:
        self.ctx.checkpoint()


_LIST_MARK = re.compile(r"^\s*(?:(?:[-*•]|\d+[.)]|idea\s*\d*\s*:)\s*)+", re.IGNORECASE)


def clean_idea(text: str) -> str:
    """The first line of a written idea, without list marks or quotes, at most
    ``MAX_IDEA_CHARS`` (cut at a word)."""
    line = next((ln for ln in printable(text).splitlines() if ln.strip()), "")
    line = _LIST_MARK.sub("", line).strip().strip("\"'“”").strip()
    if len(line) > MAX_IDEA_CHARS:
        line = line[: MAX_IDEA_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return line


def _optional(value: Any, name: str, max_chars: int) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    return clean_text(value, name, max_chars=max_chars)


def _turns(value: Any) -> tuple[Turn, ...]:
    """Turns as JSON: a list of {"text": ..., "model": bool} (or plain strings)."""
    if value is None or value == "":
        return ()
    if not isinstance(value, (list, tuple)):
        raise InvalidInput("turns must be a list of texts.")
    if len(value) > MAX_TURNS:
        raise InvalidInput(f"At most {MAX_TURNS} turns (fold older ones into the summary).")
    turns = []
    for item in value:
        text, model = (item, False) if isinstance(item, str) else (None, False)
        if isinstance(item, Mapping):
            text, model = item.get("text"), bool(item.get("model"))
        turns.append(Turn(clean_text(text, "turn", max_chars=MAX_TURN_CHARS), model))
    return tuple(turns)
