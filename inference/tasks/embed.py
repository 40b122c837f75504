"""Text embeddings: one unit vector per text, for searching a document library.

The model is an e5-style encoder (``EMBED_MODEL``, default intfloat/multilingual-e5-
small): texts are prefixed ``query: `` (a question) or ``passage: `` (a passage of a
document), as the model was trained, then mean-pooled over their tokens and normalised,
so that a dot product is a cosine similarity.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import AutoModel

from ..errors import InferenceError, InvalidInput
from ..results import Result
from .base import (
    BatchContext,
    LoadedModel,
    Task,
    clean_text,
    length_sorted_passes,
    reject_unknown,
    tokens_per_pass,
)

#: Texts one request may embed at most (a document is embedded in several requests).
MAX_EMBED_TEXTS = 64
#: Characters of one text, at most (a passage is about 250 tokens; longer is truncated).
MAX_EMBED_CHARS = 5_000
#: What each kind of text is prefixed with.
PREFIXES = {"query": "query: ", "passage": "passage: "}


@dataclass(frozen=True)
class EmbedRequest:
    texts: tuple[str, ...]
    kind: str


@dataclass
class EmbedResult(Result):
    #: One unit vector per text, in order.
    vectors: list[list[float]]
    dim: int


class EmbedTask(Task[EmbedRequest, EmbedResult]):
    name = "embed"
    summary = "Turn texts into vectors for document search (e5: query / passage)."
    max_batch_size = 8
    long_running = True  # an indexing run embeds thousands of passages

    def parse(
        self, text: Any = None, texts: Any = None, kind: Any = "passage", **extra: Any
    ) -> EmbedRequest:
        reject_unknown(self.name, extra)
        if (text is None) == (texts is None):
            raise InvalidInput("Give one text or a list of texts.")
        values = [text] if texts is None else texts
        if isinstance(values, str) or not isinstance(values, (list, tuple)) or not values:
            raise InvalidInput("texts must be a non-empty list of texts.")
        if len(values) > MAX_EMBED_TEXTS:
            raise InvalidInput(f"At most {MAX_EMBED_TEXTS} texts per request.")
        kind = str(kind).strip().lower()
        if kind not in PREFIXES:
            raise InvalidInput(f"kind must be one of: {', '.join(PREFIXES)}.")
        cleaned = tuple(clean_text(v, "text", max_chars=MAX_EMBED_CHARS) for v in values)
        return EmbedRequest(cleaned, kind)

    def cost(self, request: EmbedRequest) -> float:
        return max(1.0, len(request.texts) / 4)

    def batch_key(self, request: EmbedRequest) -> Hashable:
        return (self.model,)

    def load(self, model_id: str) -> LoadedModel:
        return self.load_pretrained(AutoModel, model_id)

    def run_batch(
        self, models: Mapping[str, Any], requests: Sequence[EmbedRequest], ctx: BatchContext
    ) -> list[EmbedResult | InferenceError]:
        encoder: LoadedModel = models[self.model]
        texts = [PREFIXES[r.kind] + t for r in requests for t in r.texts]
        vectors = embed_texts(encoder, texts, tokens_per_pass(self.placement), ctx)
        results: list[EmbedResult | InferenceError] = []
        first = 0
        for request in requests:
            mine = vectors[first : first + len(request.texts)]
            first += len(request.texts)
            results.append(EmbedResult(mine.tolist(), int(mine.shape[1])))
        return results


def embed_texts(
    encoder: LoadedModel, texts: Sequence[str], max_tokens: int | None, ctx: BatchContext
) -> torch.Tensor:
    """Mean-pooled, normalised vectors of ``texts`` (float32, on the CPU), in length-
    sorted passes with a scheduler checkpoint between them."""
    tokenizer = encoder.tokenizer
    lengths = [
        min(len(ids), encoder.max_tokens)
        for ids in tokenizer(list(texts), truncation=True, max_length=encoder.max_tokens)[
            "input_ids"
        ]
    ]
    out: list[torch.Tensor | None] = [None] * len(texts)
    for number, indices in enumerate(length_sorted_passes(lengths, max_tokens)):
        if number:
            ctx.checkpoint()
        batch = tokenizer(
            [texts[i] for i in indices],
            padding=True,
            truncation=True,
            max_length=encoder.max_tokens,
            return_tensors="pt",
        ).to(encoder.device)
        with torch.inference_mode():
            hidden = encoder.model(**batch).last_hidden_state.float()
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        pooled = torch.nn.functional.normalize(pooled, dim=-1).cpu()
        for row, index in enumerate(indices):
            out[index] = pooled[row]
    return torch.stack(out)  # type: ignore[arg-type]
