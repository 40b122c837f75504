"""The one sentence splitter (inference/text.py) and speech normalisation (spoken.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from chat.render.reading import answer_in_context
from inference.spoken import language_of_voice, speakable
from inference.text import count_tokens, sentences, split_by_tokens, split_sentences

CHINESE = "我今天去了商店。我买了苹果和香蕉！你想吃吗？明天我们一起去公园。"
THAI = "สวัสดีครับ ผมชื่อสมชาย วันนี้อากาศดีมาก"
BASE64 = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo" * 20
URL = "https://example.com/" + "a1b2c3d4" * 40 + "?q=1"


def test_chinese_and_japanese_split_without_spaces() -> None:
    assert sentences(CHINESE) == [
        "我今天去了商店。",
        "我买了苹果和香蕉！",
        "你想吃吗？",
        "明天我们一起去公园。",
    ]
    assert sentences("日本語の文です。「次の文です。」最後") == [
        "日本語の文です。",
        "「次の文です。」",
        "最後",
    ]


def test_thai_splits_at_spaces_between_thai_words() -> None:
    assert sentences(THAI) == ["สวัสดีครับ", "ผมชื่อสมชาย", "วันนี้อากาศดีมาก"]


def test_latin_sentences_keep_abbreviations_numbers_and_urls() -> None:
    text = "Dr. Smith met J. R. Ewing. Pi is 3.14 and e.g. this. See https://x.org/a.b ok.\nLast"
    assert sentences(text) == [
        "Dr. Smith met J. R. Ewing.",
        "Pi is 3.14 and e.g. this.",
        "See https://x.org/a.b ok.",
        "Last",
    ]
    assert sentences('He said "Stop." Then left.') == ['He said "Stop."', "Then left."]


@pytest.fixture(scope="module")
def slow_tokenizer(tiny_models: dict[str, Path]) -> object:
    # The tiny Marian tokenizer is a slow (SentencePiece) one: no character offsets.
    tokenizer = AutoTokenizer.from_pretrained(tiny_models["translate"] / "opus-mt-en-fr")
    assert not tokenizer.is_fast
    return tokenizer


@pytest.fixture(scope="module")
def fast_tokenizer(tiny_models: dict[str, Path]) -> object:
    tokenizer = AutoTokenizer.from_pretrained(tiny_models["summarize"])
    assert tokenizer.is_fast
    return tokenizer


@pytest.mark.parametrize("which", ["slow_tokenizer", "fast_tokenizer"])
@pytest.mark.parametrize(
    "text", [CHINESE * 6, BASE64, URL, THAI * 20], ids=["zh", "b64", "url", "th"]
)
def test_split_by_tokens_fits_every_chunk_and_drops_nothing(
    request: pytest.FixtureRequest, which: str, text: str
) -> None:
    tokenizer = request.getfixturevalue(which)
    limit = 24
    chunks = split_by_tokens(tokenizer, text, limit)
    assert len(chunks) > 1 or count_tokens(tokenizer, text) <= limit
    # every chunk fits (a joined chunk may count a token more per sentence boundary)
    assert all(count_tokens(tokenizer, chunk) <= limit + 2 for chunk in chunks), [
        count_tokens(tokenizer, c) for c in chunks
    ]
    assert "".join(chunks).replace(" ", "") == text.replace(" ", "")


def test_split_by_tokens_cuts_chinese_at_sentences(fast_tokenizer: object) -> None:
    per_sentence = max(count_tokens(fast_tokenizer, s) for s in sentences(CHINESE))
    chunks = split_by_tokens(fast_tokenizer, CHINESE, per_sentence)
    assert all(chunk.endswith(("。", "！", "？")) for chunk in chunks)
    assert "".join(chunks) == CHINESE


def test_split_sentences_for_speech_bounds_characters() -> None:
    pieces = split_sentences(CHINESE + BASE64, 60)
    assert pieces[:3] == ["我今天去了商店。", "我买了苹果和香蕉！", "你想吃吗？"]
    assert all(len(p) <= 60 for p in pieces)
    assert "".join(pieces) == CHINESE + BASE64


def test_answer_in_context_quotes_one_chinese_sentence() -> None:
    start = CHINESE.index("苹果")
    snippet = answer_in_context(CHINESE, start, start + 2)
    assert snippet == "> 我买了**苹果**和香蕉！"


# -- speech normalisation --------------------------------------------------------------


def test_speakable_writes_numbers_currency_and_symbols_out() -> None:
    text = "Call 911 now, it costs $5 & 20% off."
    assert speakable(text, "en") == (
        "Call nine hundred and eleven now, it costs five dollars and twenty percent off."
    )
    assert speakable("Ça coûte 5 € & 20 %.", "fr") == "Ça coûte cinq euros et vingt pour cent."
    assert speakable("Es kostet 3 $.", "de") == "Es kostet drei Dollar."
    assert speakable("The 2nd of 1,000 costs $1.50", "en") == (
        "The second of one thousand costs one dollar fifty"
    )
    assert speakable("Room 7", None) == "Room 7"  # no language known: left as is


def test_language_of_voice() -> None:
    assert language_of_voice("facebook/mms-tts-fra") == "fr"
    assert language_of_voice("/models/voice", "eng") == "en"
    assert language_of_voice("/models/voice") is None
