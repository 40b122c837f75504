"""Known-answer probes: one request per task whose right answer any good model gives.

``python -m inference check`` and the ``-m real`` tests run them against the
configured models; a random or broken model fails them. Each probe is the inputs of
one request and a verdict on its result: None when it passed, else why not, in a few
words.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Verdict = Callable[[Any], "str | None"]

#: Speech is read at about 2.5 words a second; a probe accepts a third to three times that.
WORDS_PER_SECOND = 2.5


@dataclass(frozen=True)
class Probe:
    task: str
    #: What is checked, for the table.
    name: str
    inputs: dict[str, Any] = field(hash=False)
    check: Verdict = field(hash=False)


def _positive(result: Any) -> str | None:
    label = str(result.label).lower()
    if "pos" in label or re.fullmatch(r"[45] stars?", label):
        return None
    return f"got {result.label}"


def _person_and_place(result: Any) -> str | None:
    text = "Barack Obama visited Paris."
    for entity in result.entities:  # whole words: no entity starts or ends inside one
        a, b = entity.start, entity.end
        starts_inside = 0 < a < len(text) and text[a - 1].isalnum() and text[a].isalnum()
        ends_inside = 0 < b < len(text) and text[b - 1].isalnum() and text[b].isalnum()
        if starts_inside or ends_inside:
            return f"{entity.word!r} is part of a word"
    found = {(e.type.upper(), e.word) for e in result.entities}
    people = {word for kind, word in found if kind in {"PER", "PERSON"}}
    places = {word for kind, word in found if kind in {"LOC", "GPE", "LOCATION"}}
    if not people & {"Barack Obama", "Obama"} or "Paris" not in places:
        return f"got {sorted(found) or 'nothing'}"
    return None


def _obama(result: Any) -> str | None:
    return None if "Obama" in result.answer else f"got {result.answer!r}"


def _bonjour(result: Any) -> str | None:
    return None if "bonjour" in result.text.lower() else f"got {result.text[:40]!r}"


def _sports_first(result: Any) -> str | None:
    return None if result.label == "sports" else f"ranked {result.label!r} first"


def _paris(result: Any) -> str | None:
    return None if "paris" in result.text.lower() else f"got {result.text[:40]!r}"


SUMMARY_TEXT = (
    "The city council of Springfield voted on Tuesday to build a new public library in "
    "the centre of town. The library will have three floors, a children's reading room "
    "and a cafe, and it is expected to open in two years. Council members said the old "
    "library was too small and its roof leaked every winter. The project will cost "
    "twelve million dollars, most of it paid by a state grant. Residents who spoke at the "
    "meeting welcomed the plan, although some asked for longer opening hours. Work on "
    "the site will begin in the spring, once the old car park has been cleared."
)
SUMMARY_KEY_WORDS = ("library", "council", "springfield", "town", "build", "new")


def _summary(result: Any) -> str | None:
    summary = result.summary.lower()
    if not summary.strip() or len(summary) >= len(SUMMARY_TEXT):
        return "not shorter than the text"
    shared = [word for word in SUMMARY_KEY_WORDS if word in summary]
    return None if len(shared) >= 2 else f"shares {len(shared)} key words with the text"


def _image(result: Any) -> str | None:
    if result.png is None:
        return "withheld by the safety checker" if result.nsfw else "no image"
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(result.png)).convert("L"), dtype=np.float32)
    spread = float(pixels.std())
    return None if spread > 8 else f"blank or uniform (pixel spread {spread:.1f})"


SPEECH_TEXT = "The quick brown fox jumps over the lazy dog, and then it runs away."


def _speech(result: Any) -> str | None:
    import soundfile as sf

    samples, rate = sf.read(io.BytesIO(result.wav), dtype="float32")
    seconds = samples.size / rate
    expected = len(SPEECH_TEXT.split()) / WORDS_PER_SECOND
    if samples.size == 0 or float(np.sqrt(np.mean(samples**2))) < 0.005:
        return "silent"
    if not expected / 3 <= seconds <= expected * 3:
        return f"{seconds:.1f} s of speech for about {expected:.1f} s of text"
    return None


def _story(result: Any) -> str | None:
    words = result.text.split()
    if len(words) < 5:
        return f"only {len(words)} words: {result.text!r}"
    if "lighthouse" in result.text.lower() and len(words) < 12:
        return f"it only repeats the premise: {result.text!r}"
    return None


def _closest(result: Any) -> str | None:
    """Texts 0 and 1 say the same thing, text 2 something else: 0 is nearer to 1."""
    a, b, c = result.vectors

    def cosine(x: list[float], y: list[float]) -> float:
        return sum(p * q for p, q in zip(x, y, strict=True))

    if cosine(a, b) <= cosine(a, c):
        return f"similarity to the paraphrase {cosine(a, b):.2f} <= to the other {cosine(a, c):.2f}"
    return None


def _from_the_right_document(result: Any) -> str | None:
    if "obama" not in result.answer.lower():
        return f"answered {result.answer!r}"
    if not result.sources or result.sources[0].document != "presidents.txt":
        return "the source is not the document that holds the answer"
    return None


PROBES: dict[str, Probe] = {
    probe.task: probe
    for probe in (
        Probe("sentiment", '"I love this" is positive', {"text": "I love this"}, _positive),
        Probe(
            "ner",
            "a person and a place, whole words",
            {"text": "Barack Obama visited Paris."},
            _person_and_place,
        ),
        Probe(
            "qa",
            'the answer contains "Obama"',
            {
                "question": "Who was the 44th president of the United States?",
                "context": "Barack Obama was the 44th president of the United States. "
                "He was born in Hawaii.",
            },
            _obama,
        ),
        Probe(
            "summarize",
            "shorter, shares key words",
            {"text": SUMMARY_TEXT, "length": "short"},
            _summary,
        ),
        Probe(
            "translate",
            'en>fr "Good morning" has "Bonjour"',
            {"text": "Good morning", "source": "en", "target": "fr"},
            _bonjour,
        ),
        Probe(
            "classify",
            'football ranks "sports" first',
            {
                "text": "The striker scored twice as the team won the football match.",
                "labels": "politics,sports,cooking",
            },
            _sports_first,
        ),
        Probe(
            "generate",
            'the capital of France is "Paris"',
            {
                "prompt": "What is the capital of France? Answer in one word.",
                "temperature": 0,
                "max_tokens": 16,
            },
            _paris,
        ),
        Probe(
            "imagine",
            "the image is not blank or uniform",
            {"prompt": "a red apple on a wooden table", "seed": 1},
            _image,
        ),
        Probe(
            "speak",
            "non-silent, about as long as the text",
            {"text": SPEECH_TEXT},
            _speech,
        ),
        Probe(
            "story",
            "a turn of a few sentences, not the premise again",
            {"premise": "A lighthouse keeper finds a map.", "temperature": 0},
            _story,
        ),
        Probe(
            "embed",
            "a paraphrase is nearer than another topic",
            {
                "texts": [
                    "The cat sat on the mat.",
                    "A kitten was resting on the rug.",
                    "Stock markets fell sharply today.",
                ],
                "kind": "passage",
            },
            _closest,
        ),
        Probe(
            "ask",
            'the answer has "Obama", from its document',
            {
                "question": "Who was the 44th president of the United States?",
                "passages": [
                    {"document": "capitals.txt", "text": "Paris is the capital of France."},
                    {
                        "document": "presidents.txt",
                        "text": "Barack Obama was the 44th president of the United States.",
                    },
                ],
            },
            _from_the_right_document,
        ),
    )
}
