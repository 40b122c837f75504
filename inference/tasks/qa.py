"""Extractive question answering: find the span of a context that answers a question.

transformers 5 has no question-answering pipeline, so this module does what it did:
tokenize (question, context) pairs into overlapping windows of the context, run
``AutoModelForQuestionAnswering`` on all windows of all requests in a few padded
forward passes, and decode the best span of each request from the start/end logits,
mapped back to characters of the context with the fast tokenizer's offsets.

Scores: in each window, softmax over the start logits and over the end logits of the
context tokens plus the [CLS] token; a span's score is P(start) * P(end), in [0, 1].
The [CLS] token's own score is the model's "no answer here" score.

That "no answer" rule only means something for models trained with unanswerable
questions (SQuAD 2.0). A SQuAD 1.1 model (the default, distilbert-base-cased-distilled-
squad) never learnt it: its [CLS] scores are noise that may beat a right answer. So
QA_NULL_ANSWER=auto applies the rule only to models whose id or config names SQuAD 2;
for the others [CLS] takes no part in the softmax at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import AutoModelForQuestionAnswering

from ..errors import InferenceError, InvalidInput
from ..results import Result
from .base import BatchContext, LoadedModel, Task, clean_text, reject_unknown

#: Characters of context accepted at most (about 5,000 tokens: ~20 windows of 384).
MAX_CONTEXT_CHARS = 20_000
#: Characters of question accepted at most.
MAX_QUESTION_CHARS = 500
#: Tokens per window, at most (SQuAD models are trained on 384), and their overlap.
WINDOW_TOKENS = 384
WINDOW_OVERLAP = 128
#: The longest answer considered, in tokens.
MAX_ANSWER_TOKENS = 30
#: Windows run through the model in one forward pass, at most.
WINDOWS_PER_PASS = 32
#: Context tokens a window must keep beside the question; a longer question is refused.
MIN_CONTEXT_TOKENS = 16
#: Model ids (or config names) of checkpoints trained with unanswerable questions.
_SQUAD2 = re.compile(r"squad[_-]?v?2", re.IGNORECASE)


def trained_with_unanswerable(model_id: str, config: object) -> bool:
    """Whether a QA checkpoint learnt to say "no answer" at [CLS] (SQuAD 2.0 style), from
    its id or the name its config was saved under."""
    names = [model_id, str(getattr(config, "_name_or_path", "") or "")]
    names += [str(a) for a in getattr(config, "architectures", None) or []]
    return any(_SQUAD2.search(name) for name in names)


@dataclass
class QaModel(LoadedModel):
    #: Whether the "no answer" score at [CLS] is used (QA_NULL_ANSWER).
    null_answer: bool = False


@dataclass(frozen=True)
class QaRequest:
    question: str
    context: str


@dataclass
class QaResult(Result):
    #: The best span of the context: ``context[start:end]``. Filled even when
    #: ``answerable`` is false (then it is a low-confidence guess).
    answer: str
    #: Character offsets of the answer in the context as parsed (surrounding whitespace
    #: and control characters removed, as for every text input).
    start: int
    end: int
    #: P(start) * P(end) of the answer span, in [0, 1].
    score: float
    #: False when the model thinks the context holds no answer: its "no answer" score
    #: beats the best span, or the best span scores below QA_MIN_SCORE.
    answerable: bool
    #: Why the answer is not trusted (None when ``answerable``).
    note: str | None
    #: How many windows the context was read in (1 for a short context).
    windows: int


@dataclass
class WindowSpan:
    """The best span of one window, in tokens, with its score and the window's null score."""

    start: int
    end: int
    score: float
    null_score: float


class QaTask(Task[QaRequest, QaResult]):
    name = "qa"
    summary = "Answer a question from a given text (the answer is a span of that text)."
    main_input = "question"

    def parse(self, question: Any = None, context: Any = None, **extra: Any) -> QaRequest:
        reject_unknown(self.name, extra)
        return QaRequest(
            question=clean_text(question, "question", max_chars=MAX_QUESTION_CHARS),
            context=clean_text(context, "context", max_chars=MAX_CONTEXT_CHARS),
        )

    def load(self, model_id: str) -> QaModel:
        qa = self.load_pretrained(AutoModelForQuestionAnswering, model_id, fast_tokenizer=True)
        setting = self.settings.qa_null_answer
        null = (
            trained_with_unanswerable(model_id, qa.model.config)
            if setting == "auto"
            else setting == "true"
        )
        # the window of one pass
        return QaModel(qa.tokenizer, qa.model, min(WINDOW_TOKENS, qa.max_tokens), qa.device, null)

    def run_batch(
        self,
        models: Mapping[str, Any],
        requests: Sequence[QaRequest],
        ctx: BatchContext,
    ) -> list[QaResult | InferenceError]:
        qa: QaModel = models[self.model]
        # preprocess: every request's windows, flattened; owner[i] = request of window i
        outcomes: list[QaResult | InferenceError | None] = [None] * len(requests)
        windows: list[dict[str, Any]] = []
        owner: list[int] = []
        for index, request in enumerate(requests):
            try:
                encoded = _windows(qa, request)
            except InvalidInput as exc:
                outcomes[index] = exc
                continue
            windows += encoded
            owner += [index] * len(encoded)

        # forward: all windows, WINDOWS_PER_PASS at a time
        spans: list[WindowSpan] = []
        for first in range(0, len(windows), WINDOWS_PER_PASS):
            spans += _forward(qa, windows[first : first + WINDOWS_PER_PASS])

        # postprocess: the best span of each request over its windows
        for index, request in enumerate(requests):
            if outcomes[index] is not None:
                continue
            mine = [(w, s) for w, s, o in zip(windows, spans, owner, strict=True) if o == index]
            outcomes[index] = _answer(request, mine, self.settings.qa_min_score)
        return outcomes  # type: ignore[return-value]


def _windows(qa: QaModel, request: QaRequest) -> list[dict[str, Any]]:
    """Tokenize a (question, context) pair into overlapping windows of the context.

    Each window is a dict of model inputs (lists) plus ``offsets`` (character offsets
    into the context for context tokens, None elsewhere) and ``cls`` (the index of the
    token whose score means "no answer")."""
    tokenizer = qa.tokenizer
    question = tokenizer(request.question, add_special_tokens=False, verbose=False)
    question_tokens = len(question["input_ids"])
    room = qa.max_tokens - question_tokens - tokenizer.num_special_tokens_to_add(pair=True)
    if room < MIN_CONTEXT_TOKENS:
        raise InvalidInput(
            f"The question is too long for this model ({question_tokens} tokens); "
            "please shorten it."
        )
    # The tokenizer refuses an overlap that leaves no room to move forward.
    stride = min(WINDOW_OVERLAP, room // 2)
    encoded = tokenizer(
        request.question,
        request.context,
        truncation="only_second",
        max_length=qa.max_tokens,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    windows = []
    for i in range(len(encoded["input_ids"])):
        sequence_ids = encoded.sequence_ids(i)
        input_ids = encoded["input_ids"][i]
        window = {name: encoded[name][i] for name in tokenizer.model_input_names if name in encoded}
        window["offsets"] = [
            tuple(offset) if sequence_id == 1 else None
            for offset, sequence_id in zip(encoded["offset_mapping"][i], sequence_ids, strict=True)
        ]
        cls_id = tokenizer.cls_token_id
        window["cls"] = input_ids.index(cls_id) if cls_id in input_ids else 0
        windows.append(window)
    # A context of characters the tokenizer drops (zero-width spaces, combining marks,
    # private-use characters) leaves no token an answer could start at.
    if not any(offset is not None for window in windows for offset in window["offsets"]):
        raise InvalidInput("The context has no words the model can read.")
    return windows


def _forward(qa: QaModel, windows: list[dict[str, Any]]) -> list[WindowSpan]:
    """One padded forward pass over ``windows``; the best span of each."""
    names = [name for name in qa.tokenizer.model_input_names if name in windows[0]]
    # Padding on the right keeps token i of a window at row position i for the decoding.
    inputs = qa.tokenizer.pad(
        [{name: w[name] for name in names} for w in windows],
        padding_side="right",
        return_tensors="pt",
    ).to(qa.device)
    with torch.inference_mode():
        output = qa.model(**inputs)
    starts = output.start_logits.float().cpu()
    ends = output.end_logits.float().cpu()
    return [
        _best_span(
            s[: len(w["offsets"])], e[: len(w["offsets"])], w["offsets"], w["cls"], qa.null_answer
        )
        for s, e, w in zip(starts, ends, windows, strict=True)
    ]


def _best_span(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    offsets: Sequence[tuple[int, int] | None],
    cls: int,
    null_answer: bool = True,
    max_answer_tokens: int = MAX_ANSWER_TOKENS,
) -> WindowSpan:
    """The best (start <= end, at most ``max_answer_tokens`` long) span of context tokens
    (those with offsets) in one window, and the window's null score at ``cls`` (0 when
    ``null_answer`` is off: then [CLS] is no option at all)."""
    context = torch.tensor([o is not None for o in offsets])
    allowed = context.clone()
    # With the rule on, [CLS] takes part in the softmax: it is the "no answer" option.
    allowed[cls] = null_answer
    start_p = start_logits.masked_fill(~allowed, float("-inf")).softmax(-1)
    end_p = end_logits.masked_fill(~allowed, float("-inf")).softmax(-1)
    null_score = float(start_p[cls] * end_p[cls]) if null_answer else 0.0

    # scores[i, j] = P(start=i) * P(end=j), kept where i <= j < i + max_answer_tokens
    # and both are context tokens. The others are set below any score (not to 0): when
    # [CLS] takes all the probability, every span scores 0 and must still win over them.
    valid = (context[:, None] & context[None, :]).triu().tril(max_answer_tokens - 1)
    scores = (start_p[:, None] * end_p[None, :]).masked_fill(~valid, -1.0)
    flat = int(scores.argmax())
    start, end = divmod(flat, scores.shape[1])
    return WindowSpan(start, end, float(scores[start, end]), null_score)


def _answer(
    request: QaRequest, windows: list[tuple[dict[str, Any], WindowSpan]], min_score: float
) -> QaResult:
    """The request's best span over all its windows, in characters of the context."""
    window, span = max(windows, key=lambda item: item[1].score)
    start, end = window["offsets"][span.start][0], window["offsets"][span.end][1]
    # The old pipeline's rule: the lowest null score of any window stands for "no answer".
    null_score = min(s.null_score for _, s in windows)
    note = None
    if null_score > span.score:
        note = "The model thinks the context does not answer the question."
    elif span.score < min_score:
        note = f"No confident answer: the best span scores only {span.score:.2g}."
    return QaResult(
        answer=request.context[start:end],
        start=start,
        end=end,
        score=span.score,
        answerable=note is None,
        note=note,
        windows=len(windows),
    )
