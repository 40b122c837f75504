"""What every task module implements, and the helpers they share.

A task turns user inputs into results in four steps, the same for all tasks:

1. ``parse(**inputs)`` validates and normalises one request (cheap; it runs on
   the event loop, so no tokenising or model work here);
2. ``models_for(request)`` names the models the request needs;
3. ``load(model_id)`` loads one model (blocking; runs in a worker thread, once
   per model, cached by the service);
4. ``run_batch(models, requests, ctx)`` runs a whole batch (blocking; worker
   thread) and returns one result, or one ``InferenceError``, per request.

Requests whose ``batch_key`` is equal may share a batch.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import torch
from transformers import AutoConfig, AutoTokenizer

from ..device import Placement
from ..errors import InferenceError, InvalidInput, JobCancelled, ModelUnavailable
from ..naming import looks_like_path
from ..results import Result
from ..settings import InferenceSettings

log = logging.getLogger(__name__)

RequestT = TypeVar("RequestT")
ResultT = TypeVar("ResultT", bound=Result)

#: Characters of input text any task accepts at most; tasks may ask for less.
MAX_TEXT_CHARS = 10_000


class BatchContext(Protocol):
    """What a running batch may tell the service, or ask it, from its worker thread."""

    def progress(self, index: int, done: int, total: int) -> None:
        """Request ``index`` of the batch has done ``done`` of ``total`` steps."""

    def cancelled(self, index: int) -> bool:
        """Whether request ``index`` was cancelled (stop working on it if you can)."""

    def checkpoint(self) -> None:
        """A step boundary of long work (a diffusion step, a generated token, a group of
        chunks). The scheduler may lend the device to waiting cheap work here, so this
        can block for a moment; call it between steps, never inside one."""


class NullContext:
    """A context for running a batch outside the service (tests, benchmarks)."""

    def progress(self, index: int, done: int, total: int) -> None:
        pass

    def cancelled(self, index: int) -> bool:
        return False

    def checkpoint(self) -> None:
        pass


@dataclass
class LoadedModel:
    """A loaded model with its tokenizer, the tokens it reads at most, and its device."""

    tokenizer: Any
    model: Any
    max_tokens: int
    device: Any  # torch.device


class Task(ABC, Generic[RequestT, ResultT]):
    """One kind of inference: sentiment, ner, imagine..."""

    #: The registry name; also the CLI name and the settings prefix (``<NAME>_MODEL``).
    name: ClassVar[str]
    #: One line for help texts.
    summary: ClassVar[str]
    #: The input that the command line's positional argument fills.
    main_input: ClassVar[str] = "text"
    #: The largest batch this task can usefully run (1 for tasks that cannot batch).
    max_batch_size: ClassVar[int] = 64
    #: The job time limit, when this task needs another one than JOB_TIMEOUT_S.
    timeout_s: ClassVar[float | None] = None
    #: Whether this task's models run well in float16. False keeps them in float32 where
    #: DTYPE=auto would pick float16 (CUDA); an explicit DTYPE=float16 is still obeyed.
    half_precision: ClassVar[bool] = True
    #: Whether a batch can take long (many steps: images, generated tokens, chunks). Long
    #: batches call ``ctx.checkpoint()`` between steps, where short batches (a sentiment,
    #: an entity list) may borrow the device, and two long batches never share it.
    long_running: ClassVar[bool] = False

    def __init__(self, model: str, placement: Placement, settings: InferenceSettings) -> None:
        self.model = model
        if not self.half_precision and placement.dtype_is_auto:
            placement = placement.in_dtype(torch.float32)
        self.placement = placement
        self.settings = settings

    @classmethod
    def warm(cls) -> None:
        """Blocking set-up that ``parse`` relies on (sentiment's language detector).
        Backends that parse run it in a worker thread when they start (``warm_parsers``),
        so that no first request does it on the event loop."""

    @abstractmethod
    def parse(self, **inputs: Any) -> RequestT:
        """Validate one request's inputs; raise ``InvalidInput`` with a short message."""

    def models_for(self, request: RequestT) -> tuple[str, ...]:
        """The model ids ``request`` needs, loaded before its batch runs."""
        return (self.model,)

    def cost(self, request: RequestT) -> float:
        """The request's expected device time, in units of one plain request of this task
        (an image of 8 steps may cost 8). Fair scheduling charges users by it until the
        real time is known."""
        return 1.0

    def batch_key(self, request: RequestT) -> Hashable:
        """Requests with equal keys may run in one batch (same models, same parameters)."""
        return self.models_for(request)

    @abstractmethod
    def load(self, model_id: str) -> Any:
        """Load one model (blocking). Errors become ``ModelUnavailable`` in the service."""

    @abstractmethod
    def run_batch(
        self, models: Mapping[str, Any], requests: Sequence[RequestT], ctx: BatchContext
    ) -> list[ResultT | InferenceError]:
        """Run a batch (blocking); one result or one error per request, in order."""

    def run_isolated(
        self,
        models: Mapping[str, Any],
        requests: Sequence[RequestT],
        context: Callable[[Sequence[int]], BatchContext],
        cancelled: Callable[[int], bool],
    ) -> list[ResultT | BaseException]:
        """``run_batch``, but when the batch raises as a whole its requests run again one
        by one, so that one bad request fails alone (cancelled ones are not run again).
        ``context(indices)`` gives the BatchContext of those requests of the batch.
        Blocking: runs in a worker thread, wherever batches run (a lane, a Ray replica)."""
        try:
            return list(self.run_batch(models, requests, context(range(len(requests)))))
        except Exception as exc:
            if len(requests) == 1:
                return [exc]
            log.warning(
                "batch of %d %s requests failed; retrying one by one",
                len(requests),
                self.name,
                exc_info=True,
            )
        outcomes: list[ResultT | BaseException] = []
        for index, request in enumerate(requests):
            if cancelled(index):
                outcomes.append(JobCancelled("The request was cancelled."))
                continue
            try:
                outcomes += self.run_batch(models, [request], context([index]))
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    def note_result(self, result: ResultT) -> None:
        """Take note of a result this task object did not make (an inference server ran
        it), for what the task reports without a model of its own. Default: nothing."""

    # -- shared loading helpers ----------------------------------------------------

    def pretrained_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every ``from_pretrained`` call of this task takes."""
        kwargs: dict[str, Any] = {"token": self.settings.token()}
        return kwargs

    def load_pretrained(
        self,
        model_class: Any,
        model_id: str,
        *,
        fast_tokenizer: bool = False,
        fallback_tokens: int = 512,
    ) -> LoadedModel:
        """The tokenizer and model of ``model_id`` (an ``AutoModelFor...`` class), the model
        on this task's device and dtype, in eval mode, with the tokens it reads at most
        (``fallback_tokens`` when neither the tokenizer nor the config says).
        ``fast_tokenizer`` refuses models without a fast tokenizer (character offsets
        need one). A checkpoint trained for another task is refused (see
        ``check_checkpoint_kind``)."""
        kwargs = self.pretrained_kwargs()
        config = AutoConfig.from_pretrained(model_id, **kwargs)
        check_checkpoint_kind(model_class, config)
        tokenizer = AutoTokenizer.from_pretrained(model_id, **kwargs)
        if fast_tokenizer and not tokenizer.is_fast:
            raise ValueError("the model has no fast tokenizer (tokenizer.json)")
        model = model_class.from_pretrained(
            model_id, config=config, dtype=self.placement.dtype, **kwargs
        )
        model.to(self.placement.device).eval()
        return LoadedModel(
            tokenizer,
            model,
            max_input_tokens(tokenizer, model, fallback=fallback_tokens),
            self.placement.device,
        )


# -- input helpers, shared by every task's parse() --------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def printable(text: str) -> str:
    """``text`` without control characters (tabs and line breaks stay)."""
    return _CONTROL.sub("", text)


def clean_text(
    value: Any, name: str = "text", *, max_chars: int = MAX_TEXT_CHARS, strip: bool = True
) -> str:
    """A non-empty, printable, bounded text, stripped of surrounding whitespace unless
    ``strip`` is false (for text whose margins matter, such as a text to continue)."""
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"The {name} is binary data, not UTF-8 text.") from None
    if value is None or not isinstance(value, str):
        raise InvalidInput(f"Please give some {name}.")
    try:  # lone surrogates: undecodable bytes from a shell, or a broken JSON escape
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"The {name} is binary data, not UTF-8 text.") from None
    if "\x00" in value or len(_CONTROL.findall(value)) > max(8, len(value) // 20):
        raise InvalidInput(f"The {name} looks like binary data, not text.")
    value = printable(value)
    if strip:
        value = value.strip()
    if not value.strip():
        raise InvalidInput(f"The {name} is empty.")
    if len(value) > max_chars:
        raise InvalidInput(
            f"The {name} is too long: {len(value):,} characters (at most {max_chars:,})."
        )
    return value


def reject_unknown(task: str, extra: Mapping[str, Any]) -> None:
    """Refuse options a task does not have (a typo on the command line, say)."""
    if extra:
        raise InvalidInput(f"{task} has no option {sorted(extra)[0]!r}.")


def as_int(value: Any, name: str, *, low: int, high: int, default: int | None = None) -> int:
    """An integer option within [low, high]; strings from the CLI are accepted."""
    if value is None:
        if default is None:
            raise InvalidInput(f"Please give {name}.")
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a whole number.") from None
    if not low <= number <= high:
        raise InvalidInput(f"{name} must be between {low} and {high}.")
    return number


def as_float(value: Any, name: str, *, low: float, high: float, default: float) -> float:
    """A number option within [low, high]; strings from the CLI are accepted."""
    if value is None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a number.") from None
    if not low <= number <= high:
        raise InvalidInput(f"{name} must be between {low:g} and {high:g}.")
    return number


def as_bool(value: Any, name: str, *, default: bool = False) -> bool:
    """A yes/no option; the CLI passes ``True`` for a bare flag or a word."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in {"1", "true", "yes", "y", "on"}:
        return True
    if word in {"0", "false", "no", "n", "off"}:
        return False
    raise InvalidInput(f"{name} must be yes or no.")


# -- model helpers --------------------------------------------------------------


def check_model_source(task: str, model_id: str) -> None:
    """Fail early, with a clear reason, for a local model path that cannot be a model."""
    if not looks_like_path(model_id):
        return
    path = Path(model_id).expanduser()
    if not path.exists():
        raise ModelUnavailable(task, model_id, "no such directory")
    if not path.is_dir():
        raise ModelUnavailable(task, model_id, "not a directory")
    if not any(path.glob("*.json")):
        raise ModelUnavailable(task, model_id, "the directory holds no model (no config files)")


def check_checkpoint_kind(model_class: Any, config: Any) -> None:
    """Refuse, with a one-line ``ValueError``, a checkpoint that ``model_class`` (an
    ``AutoModelFor...`` class) cannot load as trained: a model type it has no class for,
    or weights saved for another task (``config.architectures``, say a token classifier
    given to question answering), which would load with a random head and answer
    nonsense. Checkpoints that name no architecture are let through."""
    # The auto class's {model_type: class name} table; private, so skip the check if it moves.
    names = getattr(getattr(model_class, "_model_mapping", None), "_model_mapping", None)
    if not isinstance(names, Mapping):
        return
    kind = model_class.__name__.removeprefix("AutoModelFor")
    if config.model_type not in names:
        raise ValueError(f"a {config.model_type!r} model cannot be a {kind} model")
    known = {n for v in names.values() for n in ((v,) if isinstance(v, str) else v)}
    trained_as = list(getattr(config, "architectures", None) or [])
    if trained_as and not known.intersection(trained_as):
        raise ValueError(f"it is a {trained_as[0]} checkpoint, not a {kind} model")


def max_input_tokens(tokenizer: Any, model: Any, fallback: int = 512) -> int:
    """How many tokens the model reads at most: the tokenizer's limit when it has a real
    one, else the model's position embeddings."""
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 1_000_000:
        return limit
    config = getattr(model, "config", None)
    return int(getattr(config, "max_position_embeddings", None) or fallback)


#: Padded tokens per forward pass of an encoder on a CPU. A CPU's matrix multiplies are
#: already efficient at a few hundred rows, so a bigger pass gains nothing, while passes of
#: texts of similar length waste less work on padding: on distilbert-base (2 cores), a
#: batch of 64 short texts ran ~15-25 % faster as length-sorted passes of <= 512 tokens.
CPU_TOKENS_PER_PASS = 512


def tokens_per_pass(placement: Placement) -> int | None:
    """The padded-token budget of one encoder forward pass on ``placement``: None (one
    pass for the whole batch) on a GPU, which wants the biggest pass it can get."""
    return CPU_TOKENS_PER_PASS if placement.device.type == "cpu" else None


def length_sorted_passes(lengths: Sequence[int], max_tokens: int | None) -> list[list[int]]:
    """Group a batch's indices into forward passes, shortest texts first, so that each
    pass holds at most ``max_tokens`` tokens once padded to its longest text (a text
    longer than that runs alone). ``max_tokens=None`` gives one pass in input order."""
    if max_tokens is None:
        return [list(range(len(lengths)))] if lengths else []
    passes: list[list[int]] = []
    current: list[int] = []
    for index in sorted(range(len(lengths)), key=lengths.__getitem__):
        if current and (len(current) + 1) * lengths[index] > max_tokens:
            passes.append(current)
            current = []
        current.append(index)
    if current:
        passes.append(current)
    return passes


@dataclass
class LabelScore(Result):
    label: str
    score: float
