"""Keyword terms of a text, for the document library's keyword (BM25) side.

Words are runs of letters and digits, case-folded after NFKC. Korean, Chinese and
Japanese write words together or glue particles to them ("서버의" is "서버" + "의"), so a
whole run of such characters would only match itself: those runs become their
characters and character bigrams instead (the index gets both; a query of two
characters or more asks for its bigrams only, so that "서버" finds "서버의" and a single
character still finds its own word).
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+")
#: Hangul (syllables, jamo, compatibility jamo), CJK ideographs, kana.
_CJK = "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uf900-\ufaff"
_RUNS = re.compile(rf"[{_CJK}]+|[^{_CJK}]+")
_IS_CJK = re.compile(rf"[{_CJK}]")


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _words(text: str) -> list[str]:
    """Words of ``text``, with every CJK run kept apart from the letters around it."""
    return [run for word in _WORD.findall(_normal(text)) for run in _RUNS.findall(word)]


def index_terms(text: str) -> list[str]:
    """The terms a passage is indexed under (repeats kept: BM25 counts them)."""
    out: list[str] = []
    for word in _words(text):
        if _IS_CJK.match(word):
            out += list(word)
            out += [word[i : i + 2] for i in range(len(word) - 1)]
        elif "_" not in word:
            out.append(word)
        else:
            out += [part for part in word.split("_") if part]
    return out


def query_terms(text: str) -> list[str]:
    """The distinct terms a question looks for, in order of first appearance."""
    out: list[str] = []
    for word in _words(text):
        if _IS_CJK.match(word):
            out += [word] if len(word) == 1 else [word[i : i + 2] for i in range(len(word) - 1)]
        else:
            out += [part for part in word.split("_") if part]
    return list(dict.fromkeys(out))
