"""Cutting a document into passages: whole sentences, about ``CHUNK_TOKENS`` tokens
each, each passage starting with the last sentence of the one before (an answer that
straddles two passages is whole in one of them).

Tokens are estimated without a tokenizer (the embedder may run on another machine):
a word piece is at most four letters, a number three digits, a mark one token; for
multilingual-e5 this is within about 20 % on English and Korean prose.
"""

from __future__ import annotations

import re

from .. import text as text_module

#: Tokens a passage aims at, and the most it may have.
CHUNK_TOKENS = 250
MAX_CHUNK_TOKENS = 300

_PIECE = re.compile(r"[^\W\d_]{1,4}|\d{1,3}|[^\w\s]")


def estimate_tokens(text: str) -> int:
    return len(_PIECE.findall(text))


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence(s) of ``text`` holding the span ``start:end``: what to quote."""
    a, b = text_module.sentence_around(text, start, end)
    return text[a:b].strip() or text[start:end]


def chunk_text(text: str, target: int = CHUNK_TOKENS, limit: int = MAX_CHUNK_TOKENS) -> list[str]:
    """The passages of ``text`` (see the module's docstring)."""
    sentences: list[str] = []
    for sentence in text_module.sentences(text):
        sentences += _cut(sentence, limit)
    sizes = [estimate_tokens(s) for s in sentences]
    chunks: list[str] = []
    first = 0
    while first < len(sentences):
        last, used = first, sizes[first]
        while last + 1 < len(sentences) and used + sizes[last + 1] <= target:
            last += 1
            used += sizes[last]
        chunks.append(" ".join(sentences[first : last + 1]))
        if last + 1 >= len(sentences):
            break
        # the next passage repeats this one's last sentence, unless that is all it had
        first = last if last > first else last + 1
    return chunks


def _cut(sentence: str, limit: int) -> list[str]:
    """A sentence longer than ``limit`` tokens, cut between words (or characters, for
    text with no spaces) into pieces that fit."""
    if estimate_tokens(sentence) <= limit:
        return [sentence]
    words = sentence.split(" ") if " " in sentence else list(sentence)
    glue = " " if " " in sentence else ""
    pieces, current = [], []
    for word in words:
        if current and estimate_tokens(glue.join([*current, word])) > limit:
            pieces.append(glue.join(current))
            current = []
        current.append(word)
    if current:
        pieces.append(glue.join(current))
    return pieces
