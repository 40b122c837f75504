"""One sentiment scale for every model: negative, neutral or positive, and a polarity.

Sentiment models are trained with different label sets: two classes (SST-2, NSMC),
three (negative / neutral / positive, in any order) or five stars (review models). A
``SentimentScale`` reads a model's ``id2label`` once, when it loads, and gives each class
a value from -1 (negative) to 1 (positive)::

    {0: "NEGATIVE", 1: "POSITIVE"}                      -> (-1, 1)          "2-class"
    {0: "positive", 1: "neutral", 2: "negative"}        -> (1, 0, -1)       "3-class"
    {0: "1 star", 1: "2 stars", ..., 4: "5 stars"}      -> (-1, -.5, 0, .5, 1) "5-star"
    {0: "LABEL_0", 1: "LABEL_1"}                        -> (-1, 1)          "2-class"

Labels that are bare numbers (``LABEL_0``...) follow the datasets such models are
trained on: NSMC and SST-2 number negative 0 and positive 1; TweetEval numbers
negative, neutral, positive 0, 1, 2; five numbered classes are one to five stars.

From a model's probabilities, ``read`` gives:

- ``polarity``: the expected value, sum of P(class) x value, in [-1, 1];
- ``label``: the group (negative: value < 0, neutral: 0, positive: > 0) with the most
  probability, and ``score``, that probability;
- for two-class models, which have no neutral class: "neutral" when the two sides are
  within ``neutral_band`` of each other (|polarity| < band), scored 1 - |polarity|.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

NEGATIVE = "negative"
NEUTRAL = "neutral"
POSITIVE = "positive"

#: Label words and their values (casefolded; "_" and "-" read as spaces).
_WORDS = {
    "negative": -1.0, "neg": -1.0, "bad": -1.0, "부정": -1.0,
    "neutral": 0.0, "neu": 0.0, "mixed": 0.0, "중립": 0.0,
    "positive": 1.0, "pos": 1.0, "good": 1.0, "긍정": 1.0,
}  # fmt: skip
#: "very negative", "strongly positive": the far end of a five-class scale.
_STRONG = re.compile(r"^(?:very|strongly|extremely)\s+(.+)$")
_STARS = re.compile(r"^(\d+)\s*stars?$")
_NUMBERED = re.compile(r"^(?:label\s*)?(\d+)$")
#: Values of classes numbered 0..n-1, by n (see the module docstring).
_NUMBERED_VALUES = {2: (-1.0, 1.0), 3: (-1.0, 0.0, 1.0), 5: (-1.0, -0.5, 0.0, 0.5, 1.0)}


@dataclass(frozen=True)
class Reading:
    """What one text's probabilities say on the common scale."""

    label: str
    score: float
    polarity: float


@dataclass(frozen=True)
class SentimentScale:
    #: The value of each class, by class id.
    values: tuple[float, ...]
    #: "2-class", "3-class", "5-class" (very negative ... very positive) or "N-star".
    scheme: str

    @classmethod
    def of(cls, id2label: Mapping[int, str]) -> SentimentScale:
        """The scale of a model with these labels; ``ValueError`` (one line) for labels
        that are not a sentiment scale (an emotion model's "joy", "anger", say)."""
        ids = sorted(int(i) for i in id2label)
        if len(ids) < 2 or ids != list(range(len(ids))):
            raise ValueError(f"it has {len(ids)} label(s), not a sentiment scale")
        labels = [" ".join(re.split(r"[\s_-]+", str(id2label[i]).strip().casefold())) for i in ids]
        for reader in (_stars, _words, _numbered):
            found = reader(labels)
            if found is not None:
                return found
        shown = ", ".join(str(id2label[i]) for i in ids[:5]) + (", …" if len(ids) > 5 else "")
        raise ValueError(
            f"its labels ({shown}) are not a sentiment scale: want negative / neutral / "
            "positive, 1 to 5 stars, or LABEL_0, LABEL_1…"
        )

    @property
    def has_neutral(self) -> bool:
        return 0.0 in self.values

    def read(self, probabilities: Sequence[float], neutral_band: float = 0.0) -> Reading:
        """The label, its score and the polarity of one text's class probabilities."""
        polarity = sum(p * v for p, v in zip(probabilities, self.values, strict=True))
        polarity = max(-1.0, min(1.0, polarity))
        if not self.has_neutral and len(self.values) == 2 and abs(polarity) < neutral_band:
            return Reading(NEUTRAL, 1.0 - abs(polarity), polarity)
        groups = {NEGATIVE: 0.0, NEUTRAL: 0.0, POSITIVE: 0.0}
        for p, v in zip(probabilities, self.values, strict=True):
            groups[NEGATIVE if v < 0 else POSITIVE if v > 0 else NEUTRAL] += p
        label = max(groups, key=groups.__getitem__)
        return Reading(label, groups[label], polarity)


def _stars(labels: list[str]) -> SentimentScale | None:
    """ "1 star" ... "5 stars": values spread evenly from -1 to 1."""
    matches = [_STARS.match(label) for label in labels]
    if not all(matches):
        return None
    stars = [int(m[1]) for m in matches if m]
    low, high = min(stars), max(stars)
    if len(set(stars)) != len(stars) or low == high:
        return None
    values = tuple(2 * (s - low) / (high - low) - 1 for s in stars)
    return SentimentScale(values, f"{len(stars)}-star")


def _words(labels: list[str]) -> SentimentScale | None:
    """negative / neutral / positive in any order, with "very ..." at the ends."""
    strong = [_STRONG.match(label) for label in labels]
    has_strong = any(strong)
    values: list[float] = []
    for label, match in zip(labels, strong, strict=True):
        value = _WORDS.get(match[1] if match else label)
        if value is None or (match and value == 0):
            return None
        # with "very" classes beside them, plain negative / positive sit halfway
        values.append(value if match or not has_strong else value / 2)
    if len(set(values)) != len(values) or not (min(values) < 0 < max(values)):
        return None
    return SentimentScale(tuple(values), f"{len(values)}-class")


def _numbered(labels: list[str]) -> SentimentScale | None:
    """LABEL_0 ... LABEL_n-1 (or bare numbers) in id order, for n = 2, 3 or 5."""
    matches = [_NUMBERED.match(label) for label in labels]
    if not all(matches) or [int(m[1]) for m in matches if m] != list(range(len(labels))):
        return None
    values = _NUMBERED_VALUES.get(len(labels))
    if values is None:
        return None
    return SentimentScale(values, "5-star" if len(values) == 5 else f"{len(values)}-class")
