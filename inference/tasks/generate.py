"""Generate: continue a prompt with a causal language model, chat models included.

Why ``AutoModelForCausalLM.generate`` rather than ``pipeline("text-generation")``:
the task needs things the pipeline hides: the number of tokens written and why
generation stopped, a per-request token limit and cancellation inside one batched
call, and sampling that is reproducible per request.

Batching and seeds. All requests of a batch share one ``generate`` call (left
padded; GPT-2 style models get pad = eos). Generation runs greedy, and a logits
processor (:class:`SeededSampler`) does the sampling itself: each row draws from its
own ``torch.Generator`` seeded with that request's seed, at that request's
temperature, and forces the drawn token. So a row's text depends only on its prompt,
seed and temperature, never on which requests shared its batch, and requests with
different seeds, temperatures and lengths still batch together. Temperature 0 rows
are left alone: plain greedy decoding.

Sampling defaults. A request that names no temperature gets the model's own: when its
``generation_config`` asks for sampling (``do_sample``), its temperature, top_p and
top_k apply; else (SmolLM2-360M-Instruct and GPT-2 set none) DEFAULT_TEMPERATURE with
top_k TOP_K. Every result says which (``sampling``: "model" or "default").

Chat models (a tokenizer with a chat template) get the prompt as a user message with
the generation prompt added. Continuing (``continue_from``, the text written so far)
puts that text in the assistant's turn, left open (``continue_final_message``), so the
model goes on with its own answer; a completion model simply reads prompt + text.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    LogitsProcessor,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
)

from ..errors import InferenceError
from ..results import Result
from .base import (
    BatchContext,
    Task,
    as_float,
    as_int,
    clean_text,
    reject_unknown,
)

MAX_PROMPT_CHARS = 2_000
#: Characters of ``continue_from`` kept (its end: that is what the model continues).
MAX_CONTINUE_CHARS = 8_000
MAX_NEW_TOKENS = 512
DEFAULT_NEW_TOKENS = 120
MAX_TEMPERATURE = 2.0
DEFAULT_TEMPERATURE = 0.7
#: Sampling draws from the most likely tokens only (transformers' own default).
TOP_K = 50
#: How often (in tokens) a running request reports its progress.
PROGRESS_EVERY = 8


@dataclass(frozen=True)
class Sampling:
    """How a model samples when a request names no temperature."""

    temperature: float
    top_p: float = 1.0
    top_k: int = TOP_K
    #: "model" (its generation_config) or "default" (DEFAULT_TEMPERATURE, TOP_K).
    source: str = "default"

    @classmethod
    def of(cls, generation_config: Any) -> Sampling:
        """The model's own sampling settings when it asks for sampling, else ours."""
        config = generation_config
        if not getattr(config, "do_sample", False):
            return cls(DEFAULT_TEMPERATURE)
        temperature = float(getattr(config, "temperature", None) or 1.0)
        top_p = float(getattr(config, "top_p", None) or 1.0)
        top_k = int(getattr(config, "top_k", None) or 0)
        return cls(min(temperature, MAX_TEMPERATURE), top_p, top_k, "model")


@dataclass(frozen=True)
class GenerateRequest:
    prompt: str
    max_tokens: int
    #: 0 means greedy (the same text every time); None: the model's default (Sampling).
    temperature: float | None
    #: The sampling seed; None when greedy.
    seed: int | None
    #: The text written so far after the prompt ("" for a new text).
    continue_from: str = ""


@dataclass
class GenerateResult(Result):
    prompt: str
    #: The newly written text.
    text: str
    #: ``continue_from`` + ``text``: pass it as ``continue_from`` to get more.
    full_text: str
    #: "stop" (the model ended its text) or "length" (max_tokens reached).
    finish_reason: str
    #: Tokens written.
    tokens: int
    #: The seed used (None for greedy): the same prompt, seed and temperature give the
    #: same text.
    seed: int | None
    temperature: float
    model: str
    #: Whether the model's chat template wrapped the prompt.
    chat: bool
    #: True when the input was cut (from the left) to fit the model's window.
    truncated: bool
    #: Nucleus and top-k filtering of the sampled tokens (1.0 / 0: none).
    top_p: float = 1.0
    top_k: int = TOP_K
    #: Where the sampling settings came from: "request", "model" (its
    #: generation_config) or "default" (the model sets none: ours).
    sampling: str = "request"


@dataclass
class LanguageModel:
    """A loaded causal LM with what generation needs to know about it."""

    tokenizer: Any
    model: Any
    #: Whether prompts go through the tokenizer's chat template.
    chat: bool
    #: Tokens the model reads at most, prompt and output together.
    window: int
    eos_ids: frozenset[int]
    pad_id: int
    device: torch.device
    #: The sampling of requests that name no temperature.
    sampling: Sampling = Sampling(DEFAULT_TEMPERATURE)


@dataclass
class _Prepared:
    """One request turned into token ids."""

    ids: list[int]
    max_tokens: int
    truncated: bool


class GenerateTask(Task[GenerateRequest, GenerateResult]):
    name = "generate"
    summary = "Continue a prompt with a language model (chat models answer it)."
    main_input = "prompt"
    max_batch_size = 16
    timeout_s = 300.0  # 512 tokens of a CPU model can take a while
    long_running = True

    def parse(
        self,
        prompt: Any = None,
        max_tokens: Any = None,
        temperature: Any = None,
        seed: Any = None,
        continue_from: Any = None,
        **extra: Any,
    ) -> GenerateRequest:
        reject_unknown(self.name, extra)
        prompt = clean_text(prompt, "prompt", max_chars=MAX_PROMPT_CHARS)
        tokens = as_int(
            max_tokens, "max_tokens", low=1, high=MAX_NEW_TOKENS, default=DEFAULT_NEW_TOKENS
        )
        temp = (
            None
            if temperature is None
            else as_float(temperature, "temperature", low=0.0, high=MAX_TEMPERATURE, default=0)
        )
        chosen: int | None = None
        if temp is None or temp > 0:
            chosen = (
                secrets.randbelow(2**31)
                if seed is None
                else as_int(seed, "seed", low=0, high=2**32 - 1)
            )
        return GenerateRequest(prompt, tokens, temp, chosen, _continuation(continue_from))

    def cost(self, request: GenerateRequest) -> float:
        return max(1.0, request.max_tokens / 16)

    def load(self, model_id: str) -> LanguageModel:
        loaded = self.load_pretrained(AutoModelForCausalLM, model_id, fallback_tokens=2048)
        tokenizer, model = loaded.tokenizer, loaded.model
        eos = model.generation_config.eos_token_id
        eos_ids = {eos} if isinstance(eos, int) else set(eos or ())
        if tokenizer.eos_token_id is not None:
            eos_ids.add(tokenizer.eos_token_id)
        if tokenizer.pad_token is None:  # GPT-2 and friends: batches need a pad token
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"  # new tokens must follow the prompt directly
        return LanguageModel(
            tokenizer=tokenizer,
            model=model,
            chat=bool(getattr(tokenizer, "chat_template", None)),
            window=loaded.max_tokens,
            eos_ids=frozenset(eos_ids),
            pad_id=tokenizer.pad_token_id,
            device=self.placement.device,
            sampling=Sampling.of(model.generation_config),
        )

    def run_batch(
        self,
        models: Mapping[str, Any],
        requests: Sequence[GenerateRequest],
        ctx: BatchContext,
    ) -> list[GenerateResult | InferenceError]:
        lm: LanguageModel = models[self.model]
        prepared = [prepare(lm, r) for r in requests]

        # forward: one generate call for the whole batch
        inputs = lm.tokenizer.pad(
            {"input_ids": [p.ids for p in prepared]}, padding=True, return_tensors="pt"
        ).to(lm.device)
        prompt_length = int(inputs["input_ids"].shape[1])
        limits = [p.max_tokens for p in prepared]
        own = lm.sampling
        temps = [own.temperature if r.temperature is None else r.temperature for r in requests]
        top_p, top_k = own.top_p, own.top_k
        with torch.inference_mode():
            output = lm.model.generate(
                **inputs,
                max_new_tokens=max(limits),
                max_length=None,
                do_sample=False,  # SeededSampler samples; see the module docstring
                num_beams=1,
                temperature=None,
                top_p=None,
                top_k=None,
                pad_token_id=lm.pad_id,
                logits_processor=LogitsProcessorList(
                    [SeededSampler(temps, [r.seed for r in requests], top_k=top_k, top_p=top_p)]
                ),
                stopping_criteria=StoppingCriteriaList([RowLimits(prompt_length, limits, ctx)]),
            )

        # postprocess: cut each row at its limit or its first end-of-text token
        results: list[GenerateResult | InferenceError] = []
        for request, item, row, temperature in zip(
            requests, prepared, output[:, prompt_length:], temps, strict=True
        ):
            new_ids = row[: item.max_tokens].tolist()
            stop = next((n for n, token in enumerate(new_ids) if token in lm.eos_ids), None)
            if stop is not None:
                new_ids = new_ids[:stop]
            text = _decode_after(lm.tokenizer, item.ids, new_ids)
            results.append(
                GenerateResult(
                    prompt=request.prompt,
                    text=text,
                    full_text=request.continue_from + text,
                    finish_reason="stop" if stop is not None else "length",
                    tokens=len(new_ids),
                    seed=request.seed if temperature > 0 else None,
                    temperature=temperature,
                    model=self.model,
                    chat=lm.chat,
                    truncated=item.truncated,
                    top_p=top_p,
                    top_k=top_k,
                    sampling="request" if request.temperature is not None else own.source,
                )
            )
        return results


def render(lm: LanguageModel, prompt: str, continuation: str = "") -> str:
    """The text the model reads: the chat template around the prompt (and the answer so
    far, left open) for chat models, else prompt + continuation."""
    if not lm.chat:
        return prompt + continuation
    messages = [{"role": "user", "content": prompt}]
    if continuation:
        messages.append({"role": "assistant", "content": continuation})
    # tokenize=False: in transformers 5 the default returns an encoding, not text.
    return lm.tokenizer.apply_chat_template(
        messages,
        tokenize=False,
        add_generation_prompt=not continuation,
        continue_final_message=bool(continuation),
    )


def prepare(lm: LanguageModel, request: GenerateRequest) -> _Prepared:
    """Token ids of a request, cut to leave room for its new tokens in the window:
    the oldest part of ``continue_from`` goes first, then (rarely) the prompt's start."""
    max_tokens = min(request.max_tokens, max(1, lm.window // 2))
    budget = lm.window - max_tokens
    continuation = request.continue_from
    ids = _encode(lm, render(lm, request.prompt, continuation))
    truncated = False
    for _ in range(3):  # each round drops what was over; token boundaries may shift a little
        if len(ids) <= budget or not continuation:
            break
        tail = lm.tokenizer(continuation, add_special_tokens=False)["input_ids"]
        continuation = lm.tokenizer.decode(tail[len(ids) - budget + 1 :])
        ids = _encode(lm, render(lm, request.prompt, continuation))
        truncated = True
    if len(ids) > budget:
        ids, truncated = ids[-budget:], True
    return _Prepared(ids, max_tokens, truncated)


def _encode(lm: LanguageModel, text: str) -> list[int]:
    # A chat template writes its own special tokens (BOS included); a plain prompt gets
    # the tokenizer's usual ones.
    return lm.tokenizer(text, add_special_tokens=not lm.chat)["input_ids"]


def _decode_after(tokenizer: Any, prompt_ids: list[int], new_ids: list[int]) -> str:
    """The text of ``new_ids`` as it reads after the prompt. Decoding the new ids alone
    loses a leading space with SentencePiece tokenizers ("▁word"), so decode prompt and
    all, and keep what follows the prompt's own text."""
    head = tokenizer.decode(prompt_ids, skip_special_tokens=True)
    full = tokenizer.decode(prompt_ids + new_ids, skip_special_tokens=True)
    if full.startswith(head):
        return full[len(head) :]
    return tokenizer.decode(new_ids, skip_special_tokens=True)


def _continuation(value: Any) -> str:
    """``continue_from``: the text so far, only its last MAX_CONTINUE_CHARS when long.
    Whitespace at either end is kept: a leading space or a trailing line break is part
    of what the model wrote, and the next part must follow exactly what was shown."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""  # nothing so far (a part that was only blank lines): a new text
    if isinstance(value, str):
        value = value[-MAX_CONTINUE_CHARS:]
    return clean_text(value, "continue_from", max_chars=MAX_CONTINUE_CHARS, strip=False)


class SeededSampler(LogitsProcessor):
    """Per-row temperature sampling from per-row seeded generators (Gumbel-max trick).

    For a sampled row it keeps the ``top_k`` best logits (the smallest set holding
    ``top_p`` of the probability, when below 1), divides them by the row's
    temperature, adds Gumbel noise from the row's own generator and forces the
    arg-max: a draw from softmax(logits / temperature) over those tokens. Greedy
    decoding then picks exactly that token. Each row uses one draw per step from its
    own CPU generator, so its text does not depend on the batch or the device.
    """

    def __init__(
        self,
        temperatures: Sequence[float],
        seeds: Sequence[int | None],
        top_k: int = TOP_K,
        top_p: float = 1.0,
    ) -> None:
        self.temperatures = list(temperatures)
        self.top_k, self.top_p = top_k, top_p
        self.generators = [
            torch.Generator().manual_seed(seed) if temp > 0 and seed is not None else None
            for temp, seed in zip(temperatures, seeds, strict=True)
        ]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        for row, generator in enumerate(self.generators):
            if generator is None:
                continue
            keep = min(self.top_k or scores.shape[-1], scores.shape[-1])
            top = torch.topk(scores[row].float(), keep)
            logits = top.values.cpu() / self.temperatures[row]
            if self.top_p < 1.0:  # the nucleus: the fewest best tokens holding top_p
                cumulative = logits.softmax(-1).cumsum(-1)
                cut = int((cumulative < self.top_p).sum()) + 1
                logits = logits[:cut]
            uniform = torch.rand(logits.shape, generator=generator).clamp_(1e-12, 1 - 1e-7)
            choice = top.indices[int(torch.argmax(logits - torch.log(-torch.log(uniform))))]
            scores[row] = float("-inf")
            scores[row, choice] = 0.0
        return scores


class RowLimits(StoppingCriteria):
    """Stops each row at its own token limit, or when its request was cancelled, and
    reports progress (generation itself stops when every row has). Each token is a
    step boundary for the scheduler (``ctx.checkpoint()``)."""

    def __init__(self, prompt_length: int, limits: Sequence[int], ctx: BatchContext) -> None:
        self.prompt_length = prompt_length
        self.limits = list(limits)
        self.ctx = ctx

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        self.ctx.checkpoint()
        written = input_ids.shape[1] - self.prompt_length
        done = []
        for row, limit in enumerate(self.limits):
            if written % PROGRESS_EVERY == 0 and written < limit:
                self.ctx.progress(row, written, limit)
            done.append(written >= limit or self.ctx.cancelled(row))
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)
