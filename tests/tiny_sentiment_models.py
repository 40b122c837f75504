"""Tiny stand-ins for the sentiment models of each label scheme (see tests/tiny_models.py).

Each has the property of a real checkpoint that routing and label mapping depend on:

==========  =====================================  ==========================================
key         stands in for                          property
==========  =====================================  ==========================================
korean      daekeun-ml/koelectra-small-v3-nsmc     ELECTRA, cased WordPiece holding Hangul
            (KoELECTRA-small-v3 on NSMC)           syllables (no [UNK] for Korean text),
                                                   bare numbered labels {0: "0", 1: "1"}
                                                   (NSMC: 0 negative, 1 positive)
three       lxyuan/distilbert-base-multilingual-   DistilBERT, cased multilingual WordPiece,
            cased-sentiments-student               labels {0: positive, 1: neutral,
                                                   2: negative} (that order)
stars       nlptown/bert-base-multilingual-        BERT, uncased, labels "1 star" ...
            uncased-sentiment                      "5 stars"
==========  =====================================  ==========================================

``logits`` fixes a model's output whatever the text (zero classifier weights and these
biases), for tests of the neutral band and the label mapping; without it the weights
are random (seeded), as in tests/tiny_models.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from tests.tiny_models import CORPUS, _prepare, _save_model, _seed

KOREAN = [
    "이 영화 정말 재미있어요",
    "최악의 영화였다. 시간이 아깝다",
    "배우들의 연기가 훌륭하고 감동적이었어요",
    "그냥 그랬어요 별로 기대하지 마세요",
    "굿 최고 ㅋㅋㅋ ㅎㅎ ㅠㅠ",
    "안녕하세요 오늘 날씨가 좋네요",
]
NSMC_LABELS = {0: "0", 1: "1"}
THREE_LABELS = {0: "positive", 1: "neutral", 2: "negative"}
STAR_LABELS = {i: f"{i + 1} star" if i == 0 else f"{i + 1} stars" for i in range(5)}

_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _vocab(texts: Sequence[str], lowercase: bool) -> dict[str, int]:
    """A WordPiece vocabulary of every character (alone and as ``##c``) and word of
    ``texts``, so that text in their scripts never needs [UNK]."""
    from tokenizers import normalizers, pre_tokenizers

    normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=False)
    words = {
        word
        for line in texts
        for word, _ in pre_tokenizers.BertPreTokenizer().pre_tokenize_str(
            normalizer.normalize_str(line)
        )
    }
    chars = sorted({c for w in words for c in w})
    tokens = [*_SPECIALS, *chars, *(f"##{c}" for c in chars), *sorted(words)]
    return {token: i for i, token in enumerate(dict.fromkeys(tokens))}


def _texts(*languages: str) -> list[str]:
    alphabet = ["abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,!?'"]
    return [line for code in languages for line in CORPUS.get(code, KOREAN)] + alphabet


def _fix_logits(head: Any, logits: Sequence[float] | None) -> None:
    """Make ``head`` (the last Linear layer) answer ``logits`` for every input."""
    if logits is None:
        return
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor(list(logits), dtype=head.bias.dtype))


def build_korean_binary(
    path: Path, seed: int = 0, logits: Sequence[float] | None = None, max_length: int = 64
) -> Path:
    """ELECTRA with a Hangul vocabulary and NSMC's numbered labels "0" / "1"."""
    from transformers import ElectraConfig, ElectraForSequenceClassification, ElectraTokenizer

    path = _prepare(path)
    _seed(seed)
    tokenizer = ElectraTokenizer(
        vocab=_vocab(_texts("ko", "en"), lowercase=False),
        do_lower_case=False,
        model_max_length=max_length,
    )
    config = ElectraConfig(
        vocab_size=len(tokenizer),
        embedding_size=16,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=max_length,
        id2label=dict(NSMC_LABELS),
        label2id={v: k for k, v in NSMC_LABELS.items()},
    )
    model = ElectraForSequenceClassification(config)
    _fix_logits(model.classifier.out_proj, logits)
    _save_model(model, path)
    tokenizer.save_pretrained(path)
    return path


def _distilbert(
    path: Path,
    labels: dict[int, str],
    lowercase: bool,
    seed: int,
    logits: Sequence[float] | None,
    max_length: int,
) -> Path:
    from transformers import DistilBertForSequenceClassification, DistilBertTokenizer

    from tests.tiny_models import _distilbert_config

    path = _prepare(path)
    _seed(seed)
    tokenizer = DistilBertTokenizer(
        vocab=_vocab(_texts("en", "fr", "de", "es", "ko"), lowercase=lowercase),
        do_lower_case=lowercase,
        model_max_length=max_length,
    )
    config = _distilbert_config(
        len(tokenizer), max_length, id2label=labels, label2id={v: k for k, v in labels.items()}
    )
    model = DistilBertForSequenceClassification(config)
    _fix_logits(model.classifier, logits)
    _save_model(model, path)
    tokenizer.save_pretrained(path)
    return path


def build_three_class(
    path: Path, seed: int = 0, logits: Sequence[float] | None = None, max_length: int = 64
) -> Path:
    """Cased multilingual DistilBERT with lxyuan's labels: positive, neutral, negative."""
    return _distilbert(path, dict(THREE_LABELS), False, seed, logits, max_length)


def build_five_star(
    path: Path, seed: int = 0, logits: Sequence[float] | None = None, max_length: int = 64
) -> Path:
    """Uncased DistilBERT with nlptown's labels "1 star" ... "5 stars"."""
    return _distilbert(path, dict(STAR_LABELS), True, seed, logits, max_length)


def build_sentiment_models(root: Path) -> dict[str, Path]:
    """Every stand-in under ``root``: random ``korean``, ``three`` and ``stars``, and
    fixed-output ones: ``korean_unsure`` (P("1", positive) 0.55), ``korean_sure`` (0.9),
    ``three_neutral`` (neutral 0.8) and ``stars_four`` ("4 stars" 0.7)."""
    root = _prepare(root)
    return {
        "korean": build_korean_binary(root / "korean"),
        "three": build_three_class(root / "three"),
        "stars": build_five_star(root / "stars"),
        # logit differences: ln(0.55 / 0.45) = 0.2007, ln(9) = 2.1972
        "korean_unsure": build_korean_binary(root / "korean_unsure", logits=(0.0, 0.2007)),
        "korean_sure": build_korean_binary(root / "korean_sure", logits=(0.0, 2.1972)),
        # positive 0.1, neutral 0.8, negative 0.1
        "three_neutral": build_three_class(root / "three_neutral", logits=(0.0, 2.0794, 0.0)),
        # stars 0.05 0.05 0.1 0.7 0.1
        "stars_four": build_five_star(
            root / "stars_four", logits=(0.0, 0.0, 0.6931, 2.6391, 0.6931)
        ),
    }
