"""Stand-ins for the document library's models.

``build_embedder``: a BERT encoder with no layers, whose output is the layer-normed
embedding of each word: e5's mean pooling then gives the average of a text's word
vectors. Its meaning is set by hand: words of one synonym group share a vector, so the
dense side finds "automobile" in a passage about a "car" where keywords cannot. The
prefixes, punctuation, special tokens and the letter pieces that spell unknown words
have zero vectors: a made-up name ("Zyxwv-9") means nothing to it, which is what the
keyword side is for. Every other known word gets a random vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
#: Words the tiny embedder knows as wholes, and its synonym groups (one vector each).
WORDS = ["password", "router", "reset", "paperclip", "kettle", "water", "boil", "lunch"]
SYNONYMS = [["car", "automobile", "vehicle"], ["holiday", "vacation", "leave"]]
SILENT = ["query", "passage", ":", ".", ",", "?", "!", "-", "'", "the", "a", "is", "of", "what"]


def build_embedder(
    path: Path, words: Sequence[str] = WORDS, synonyms: Sequence[Sequence[str]] = SYNONYMS
) -> Path:
    from transformers import BertConfig, BertModel, BertTokenizer

    path.mkdir(parents=True, exist_ok=True)
    groups = [list(g) for g in synonyms]
    vocab = list(dict.fromkeys([*SPECIALS, *SILENT, *words, *(w for g in groups for w in g)]))
    alphabet = list("abcdefghijklmnopqrstuvwxyz0123456789")
    pieces = [c for c in alphabet if c not in vocab] + [f"##{c}" for c in alphabet]
    vocab += pieces
    tokenizer = BertTokenizer(
        vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True, model_max_length=512
    )
    tokenizer.save_pretrained(path)

    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=0,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=512,
    )
    torch.manual_seed(0)
    model = BertModel(config, add_pooling_layer=False)
    with torch.no_grad():
        emb = model.embeddings
        emb.position_embeddings.weight.zero_()
        emb.token_type_embeddings.weight.zero_()
        emb.LayerNorm.weight.fill_(1.0)
        emb.LayerNorm.bias.zero_()
        table = emb.word_embeddings.weight
        table.normal_()
        for word in [*SPECIALS, *SILENT, *pieces]:
            table[vocab.index(word)] = 0.0
        for group in groups:
            for word in group[1:]:
                table[vocab.index(word)] = table[vocab.index(group[0])]
    model.save_pretrained(path)
    return path
