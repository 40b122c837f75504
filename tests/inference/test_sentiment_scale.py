"""Every label scheme onto one scale: negative / neutral / positive, score, polarity."""

from __future__ import annotations

import pytest

from inference.tasks.sentiment_scale import SentimentScale


@pytest.mark.parametrize(
    ("id2label", "values", "scheme"),
    [
        ({0: "NEGATIVE", 1: "POSITIVE"}, (-1, 1), "2-class"),  # SST-2
        ({0: "LABEL_0", 1: "LABEL_1"}, (-1, 1), "2-class"),  # NSMC checkpoints
        ({0: "0", 1: "1"}, (-1, 1), "2-class"),
        ({0: "negative", 1: "positive"}, (-1, 1), "2-class"),  # koelectra-base-finetuned-nsmc
        ({0: "부정", 1: "긍정"}, (-1, 1), "2-class"),
        ({0: "positive", 1: "neutral", 2: "negative"}, (1, 0, -1), "3-class"),  # lxyuan
        ({0: "Negative", 1: "Neutral", 2: "Positive"}, (-1, 0, 1), "3-class"),
        ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, (-1, 0, 1), "3-class"),  # TweetEval
        (
            {0: "1 star", 1: "2 stars", 2: "3 stars", 3: "4 stars", 4: "5 stars"},  # nlptown
            (-1, -0.5, 0, 0.5, 1),
            "5-star",
        ),
        (
            {0: "Very Negative", 1: "Negative", 2: "Neutral", 3: "Positive", 4: "Very_Positive"},
            (-1, -0.5, 0, 0.5, 1),
            "5-class",
        ),
        ({i: f"LABEL_{i}" for i in range(5)}, (-1, -0.5, 0, 0.5, 1), "5-star"),
    ],
)
def test_label_schemes(id2label: dict[int, str], values: tuple[float, ...], scheme: str) -> None:
    scale = SentimentScale.of(id2label)
    assert scale.values == pytest.approx(values)
    assert scale.scheme == scheme


@pytest.mark.parametrize(
    "id2label",
    [
        {0: "joy", 1: "anger", 2: "sadness"},  # an emotion model
        {0: "contradiction", 1: "neutral", 2: "entailment"},  # NLI
        {i: f"LABEL_{i}" for i in range(4)},  # four numbered classes mean nothing known
        {0: "negative", 1: "negative "},  # the same class twice
        {0: "LABEL_0"},
    ],
)
def test_labels_that_are_not_a_sentiment_scale_are_refused(id2label: dict[int, str]) -> None:
    with pytest.raises(ValueError, match="not a sentiment scale"):
        SentimentScale.of(id2label)


def test_binary_neutral_band() -> None:
    scale = SentimentScale.of({0: "NEGATIVE", 1: "POSITIVE"})
    unsure = scale.read([0.45, 0.55], neutral_band=0.2)
    assert unsure.label == "neutral"
    assert unsure.polarity == pytest.approx(0.1)
    assert unsure.score == pytest.approx(0.9)
    assert scale.read([0.45, 0.55], neutral_band=0.05).label == "positive"
    assert scale.read([0.45, 0.55], neutral_band=0).score == pytest.approx(0.55)
    sure = scale.read([0.95, 0.05], neutral_band=0.2)
    assert (sure.label, sure.score, sure.polarity) == ("negative", 0.95, pytest.approx(-0.9))


def test_three_class_models_have_no_band() -> None:
    scale = SentimentScale.of({0: "positive", 1: "neutral", 2: "negative"})
    reading = scale.read([0.36, 0.3, 0.34], neutral_band=0.5)
    assert reading.label == "positive" and reading.score == pytest.approx(0.36)
    assert reading.polarity == pytest.approx(0.02)


def test_stars_group_into_the_three_labels() -> None:
    scale = SentimentScale.of({i: f"{i + 1} stars" for i in range(5)})
    reading = scale.read([0.05, 0.05, 0.1, 0.7, 0.1])
    assert reading.label == "positive"
    assert reading.score == pytest.approx(0.8)  # 4 and 5 stars
    assert reading.polarity == pytest.approx(0.375)
    split = scale.read([0.3, 0.3, 0.1, 0.2, 0.1])
    assert split.label == "negative" and split.score == pytest.approx(0.6)
    assert scale.read([0, 0, 1, 0, 0]).label == "neutral"
    assert scale.read([1, 0, 0, 0, 0]).polarity == -1
