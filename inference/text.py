"""Text helpers every task shares: the one sentence splitter, and cutting text to fit
a character or token limit.

One splitter serves every use (chunks for summaries and translations, pieces for
speech, the sentence around a /qa answer), so they all agree on where a sentence ends:

- after . ! ? … followed by closing quotes or brackets and whitespace, except after a
  common abbreviation ("Dr.", "e.g.") or a single initial ("J. R. R. Tolkien");
- after the full-width 。！？ (Chinese, Japanese) and other scripts' own sentence marks
  (। ॥ ؟ ۔ ። ։), with or without a space after them;
- at a space between two Thai, Lao, Khmer or Burmese letters (these scripts write
  words together and separate sentences and clauses with a space);
- at every line break.

Why not pysbd: its rules are English-first, it knows no Thai, it has had no release
since 2021, and it is slow on long texts; the rules above are what the tasks need.
Text with no break at all (a URL, base64) is cut between tokens or characters by
``split_by_tokens`` and ``fit_chars``, never dropped.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Sequence
from typing import Any

# Latin-style ends need whitespace after them ("3.5", "e.g.x" are no ends).
_SPACED_END = r"[.!?…]+[\"'”’»)\]]*(?=\s)"
# Marks that end a sentence by themselves, with closing quotes or brackets after them.
_OWN_END = r"[。！？｡।॥؟۔።։]+[\"'”’»)\]」』）》〕】]*"
# A space inside Thai / Lao / Khmer / Burmese text.
_SEA = r"\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
_SEA_BREAK = rf"(?<=[{_SEA}])(?=[ \t]+[{_SEA}])"
_SENTENCE_END = re.compile(rf"{_SPACED_END}|{_OWN_END}|{_SEA_BREAK}|\n")
_CLAUSE_END = re.compile(r"(?<=[,;:—–、，；：])\s*")
_WORD_GAP = re.compile(r"\s+")
# Words whose full stop does not end a sentence ("Dr. Smith", "e.g. this").
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st sr jr vs etc e.g i.e no fig mt approx dept".split()  # noqa: SIM905
)


def sentence_cuts(text: str) -> list[int]:
    """Offsets where sentences end in ``text`` (each just after its end mark and any
    closing quote; the whitespace that follows belongs to the next sentence)."""
    cuts: list[int] = []
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if text[match.start()] == "." and _is_abbreviation(text, match.start()):
            continue
        if end < len(text) and (not cuts or cuts[-1] != end):
            cuts.append(end)
    return cuts


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the full stop at ``dot`` follows an abbreviation or a single initial."""
    word = text[:dot].rsplit(None, 1)[-1] if text[:dot].strip() else ""
    word = word.lstrip("\"'“‘([").rstrip(".")
    return word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isupper())


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every sentence; together they cover ``text`` exactly."""
    cuts = [0, *sentence_cuts(text), len(text)]
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def sentences(text: str) -> list[str]:
    """The sentences of ``text``, whitespace inside each collapsed, empty ones left out."""
    return [" ".join(text[a:b].split()) for a, b in sentence_spans(text) if text[a:b].strip()]


def sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The start of the sentence holding ``start`` and the end of the one holding
    ``end - 1``: the span to quote around an answer."""
    cuts = sentence_cuts(text)
    before = bisect.bisect_right(cuts, start) - 1
    after = bisect.bisect_left(cuts, end)
    return (cuts[before] if before >= 0 else 0), (cuts[after] if after < len(cuts) else len(text))


# -- cutting to a character limit -----------------------------------------------------


def split_sentences(text: str, max_chars: int) -> list[str]:
    """Sentences of at most ``max_chars`` characters; a longer sentence is cut at
    clause marks, then between words, and only as a last resort inside a word."""
    return [piece for sentence in sentences(text) for piece in fit_chars(sentence, max_chars)]


def fit_chars(sentence: str, max_chars: int) -> list[str]:
    """``sentence`` in pieces of at most ``max_chars`` characters (see split_sentences)."""
    if len(sentence) <= max_chars:
        return [sentence]
    for separator in (_CLAUSE_END, _WORD_GAP):
        parts = [part for part in separator.split(sentence) if part]
        if len(parts) > 1:
            packed = _pack(parts, max_chars)
            return [piece for part in packed for piece in fit_chars(part, max_chars)]
    return [sentence[i : i + max_chars] for i in range(0, len(sentence), max_chars)]


def _pack(parts: Sequence[str], max_chars: int) -> list[str]:
    """Greedily join consecutive parts (with spaces) into pieces of at most max_chars."""
    packed: list[str] = []
    for part in parts:
        if packed and len(packed[-1]) + 1 + len(part) <= max_chars:
            packed[-1] += " " + part
        else:
            packed.append(part)
    return packed


def split_to_fit(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Halve ``text`` (between words near the middle, else inside a word) until every
    piece ``fits``: for limits only a tokenizer can check, such as SpeechT5's."""
    if fits(text) or len(text) <= 1:
        return [text]
    middle = len(text) // 2
    spaces = [m.start() for m in re.finditer(r"\s", text)]
    cut = min(spaces, key=lambda i: abs(i - middle)) if spaces else middle
    left, right = text[:cut].strip(), text[cut:].strip()
    if not left or not right:  # a space at an edge: cut inside the word instead
        left, right = text[:middle], text[middle:]
    return split_to_fit(left, fits) + split_to_fit(right, fits)


# -- cutting to a token limit -----------------------------------------------------------


def split_by_tokens(tokenizer: Any, text: str, max_tokens: int) -> list[str]:
    """Split ``text`` into chunks of at most ``max_tokens`` tokens (special tokens not
    counted), between sentences where possible; a longer sentence is cut between tokens
    (fast tokenizers) or words, then characters (slow ones). Nothing is dropped. Pieces
    counted alone may differ from the joined chunk by a token per sentence: leave a
    margin, and say so when encoding still has to truncate."""
    pieces = [text[a:b] for a, b in sentence_spans(text) if text[a:b].strip()]
    if not pieces:
        return []
    counts = tokenizer(pieces, add_special_tokens=False, verbose=False)["input_ids"]
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for sentence, ids in zip(pieces, counts, strict=True):
        if used + len(ids) > max_tokens and current:
            chunks.append("".join(current))
            current, used = [], 0
        if len(ids) > max_tokens:
            chunks += _cut_sentence(tokenizer, sentence, max_tokens)
        else:
            current.append(sentence)
            used += len(ids)
    if current:
        chunks.append("".join(current))
    return [chunk.strip() for chunk in chunks if chunk.strip()]


def count_tokens(tokenizer: Any, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])


def _cut_sentence(tokenizer: Any, sentence: str, max_tokens: int) -> list[str]:
    """Cut one over-long sentence into pieces of at most ``max_tokens`` tokens."""
    if getattr(tokenizer, "is_fast", False):
        offsets = tokenizer(
            sentence, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )["offset_mapping"]
        starts = [offsets[i][0] for i in range(0, len(offsets), max_tokens)]
        starts[0] = 0
        return [sentence[a:b] for a, b in zip(starts, [*starts[1:], len(sentence)], strict=True)]
    # No offsets: halve (between words where there are any) until every piece fits.
    pieces = split_to_fit(sentence, lambda piece: count_tokens(tokenizer, piece) <= max_tokens)
    return [piece + " " for piece in pieces]
