"""Cutting a document into passages: whole sentences, about ``CHUNK_TOKENS`` tokens
each, each passage starting with the last sentence of the one before (an answer that
straddles two passages is whole in one of them).

Tokens are estimated without a tokenizer (the embedder may run on another machine):
a word piece is at most four letters, a number three digits, a mark one token; for
multilingual-e5 this is within about 20 % on English and Korean prose.
"""

from __future__ import annotations

import bisect
import itertools
import re

#: Tokens a passage aims at, and the most it may have.
CHUNK_TOKENS = 250
MAX_CHUNK_TOKENS = 300

_PIECE = re.compile(r"[^\W\d_]{1,4}|\d{1,3}|[^\w\s]")
# Where a sentence ends: . ! ? … with closing quotes, then whitespace; the full-width
# and other scripts' own marks; a line break. (Issue 18 brings one splitter for every
# task, inference/text.py: use its sentence_spans here once it lands.)
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)|[。！？｡।؟]+[\"'”’»)\]」』）]*|\n")


def estimate_tokens(text: str) -> int:
    return len(_PIECE.findall(text))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank sentence of ``text``, surrounding spaces trimmed."""
    cuts = [0, *(m.end() for m in _SENTENCE_END.finditer(text)), len(text)]
    spans = []
    for a, b in itertools.pairwise(cuts):
        piece = text[a:b]
        if piece.strip():
            start = a + len(piece) - len(piece.lstrip())
            spans.append((start, start + len(piece.strip())))
    return spans


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence(s) of ``text`` holding the span ``start:end``: what to quote."""
    spans = sentence_spans(text)
    if not spans:
        return text[start:end]
    first = max(bisect.bisect_right([a for a, _ in spans], start) - 1, 0)
    last = max(bisect.bisect_right([a for a, _ in spans], max(end - 1, start)) - 1, first)
    return text[spans[first][0] : spans[last][1]]


def chunk_text(text: str, target: int = CHUNK_TOKENS, limit: int = MAX_CHUNK_TOKENS) -> list[str]:
    """The passages of ``text`` (see the module's docstring)."""
    sentences: list[str] = []
    for a, b in sentence_spans(text):
        sentences += _cut(" ".join(text[a:b].split()), limit)
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
