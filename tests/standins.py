"""Tiny stand-ins with a real checkpoint's property, where a random model cannot show it.

``build_logit_bert`` writes a BERT with no transformer layers whose output for each
token is fixed by the token alone: the embedding of a token is built so that, after
the embedding LayerNorm, the linear head gives exactly the logits asked for. So a test
can say "this WordPiece piece is tagged I-PER, that one B-LOC" (NER) or "[CLS] scores
5 as a start and end, 'obama' 4" (QA), and load the model through the same code path
as a real Hub checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

#: The head's weight: a logit o is the normalised hidden value times SCALE.
SCALE = 10.0
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def build_logit_bert(
    path: Path,
    kind: str,
    logits: Mapping[str, Sequence[float]],
    default: Sequence[float],
    *,
    id2label: Mapping[int, str] | None = None,
    lowercase: bool = False,
    max_length: int = 128,
) -> Path:
    """A ``BertFor{TokenClassification,QuestionAnswering}`` (``kind``: "ner" or "qa")
    whose logits for a token are ``logits[token]`` (``default`` for other tokens)."""
    from transformers import (
        BertConfig,
        BertForQuestionAnswering,
        BertForTokenClassification,
        BertTokenizerFast,
    )

    path.mkdir(parents=True, exist_ok=True)
    vocab = list(dict.fromkeys([*SPECIALS, *logits]))
    tokenizer = BertTokenizerFast(
        vocab={token: i for i, token in enumerate(vocab)},
        do_lower_case=lowercase,
        model_max_length=max_length,
    )
    n = len(default)
    hidden = 2 * (n + 1)
    extra = {}
    if kind == "ner":
        assert id2label is not None and len(id2label) == n
        extra = {"id2label": dict(id2label), "label2id": {v: k for k, v in id2label.items()}}
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=0,
        num_attention_heads=1,
        intermediate_size=4,
        max_position_embeddings=max_length,
        num_labels=n,
        **extra,
    )
    model_class = BertForTokenClassification if kind == "ner" else BertForQuestionAnswering
    model = model_class(config).eval()
    radius = SCALE * math.sqrt(n + 1)
    with torch.no_grad():
        embeddings = model.bert.embeddings
        embeddings.position_embeddings.weight.zero_()
        embeddings.token_type_embeddings.weight.zero_()
        embeddings.LayerNorm.weight.fill_(1.0)
        embeddings.LayerNorm.bias.zero_()
        for index, token in enumerate(vocab):
            out = torch.tensor(list(logits.get(token, default)), dtype=torch.float32)
            z = math.sqrt(radius**2 - float((out**2).sum()))
            first = torch.cat([out, torch.tensor([z])])
            # mean zero and variance radius^2 / (n + 1): LayerNorm divides by SCALE
            embeddings.word_embeddings.weight[index] = torch.cat([first, -first])
        head = model.classifier if kind == "ner" else model.qa_outputs
        head.weight.zero_()
        head.bias.zero_()
        for i in range(n):
            head.weight[i, i] = SCALE
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
