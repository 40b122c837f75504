"""The verdicts of the known-answer probes, on results shaped like a real model's."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from PIL import Image

from inference.audio import encode_wav
from inference.images import encode_png
from inference.probes import PROBES, SPEECH_TEXT, SUMMARY_TEXT, WORDS_PER_SECOND
from inference.tasks.ner import Entity

TEXT = "Barack Obama visited Paris."


def verdict(task: str, **fields: object) -> str | None:
    return PROBES[task].check(SimpleNamespace(**fields))


def entity(word: str, kind: str) -> Entity:
    start = TEXT.index(word)
    return Entity(word=word, type=kind, score=0.9, start=start, end=start + len(word))


def test_ner_wants_a_whole_person_and_a_place() -> None:
    whole = [entity("Barack Obama", "PER"), entity("Paris", "LOC")]
    assert verdict("ner", entities=whole) is None
    fragment = [entity("Barack Ob", "PER"), entity("ama", "LOC"), entity("Paris", "LOC")]
    assert "part of a word" in verdict("ner", entities=fragment)
    assert verdict("ner", entities=[entity("Paris", "LOC")]).startswith("got")
    too_long = [entity("Obama visited", "PER"), entity("Paris", "LOC")]
    assert verdict("ner", entities=too_long).startswith("got")


def test_text_probes() -> None:
    assert verdict("sentiment", label="POSITIVE") is None
    assert verdict("sentiment", label="5 stars") is None
    assert verdict("sentiment", label="NEGATIVE") == "got NEGATIVE"
    assert verdict("qa", answer="Barack Obama") is None
    assert verdict("qa", answer="Hawaii") == "got 'Hawaii'"
    assert verdict("translate", text="Bonjour") is None
    assert verdict("translate", text="Bon matin") is not None
    assert verdict("classify", label="sports") is None
    assert verdict("generate", text=" Paris.") is None
    good = "Springfield's council will build a new library in the town centre."
    assert verdict("summarize", summary=good) is None
    assert verdict("summarize", summary=SUMMARY_TEXT + " More.") == "not shorter than the text"
    assert "key words" in verdict("summarize", summary="A short note about nothing.")


def test_image_probe_refuses_blank_and_withheld_images() -> None:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert verdict("imagine", png=encode_png(Image.fromarray(noise)), nsfw=False) is None
    grey = Image.new("RGB", (64, 64), (128, 128, 128))
    assert "uniform" in verdict("imagine", png=encode_png(grey), nsfw=False)
    assert verdict("imagine", png=None, nsfw=True) == "withheld by the safety checker"


def test_speech_probe_wants_sound_of_about_the_right_length() -> None:
    rate = 16_000
    expected = len(SPEECH_TEXT.split()) / WORDS_PER_SECOND
    t = np.arange(int(rate * expected)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    assert verdict("speak", wav=encode_wav(tone, rate)) is None
    assert verdict("speak", wav=encode_wav(tone * 0, rate)) == "silent"
    assert "s of speech" in verdict("speak", wav=encode_wav(tone[: rate // 4], rate))


def test_story_embed_and_ask_probes() -> None:
    assert verdict("story", text="The map led her down the cliff to a cave of old bells.") is None
    assert "only 2 words" in verdict("story", text="The map.")
    assert "repeats the premise" in verdict("story", text="A lighthouse keeper finds a map.")

    near, far = [1.0, 0.0], [0.0, 1.0]
    assert verdict("embed", vectors=[near, [0.9, 0.436], far]) is None
    assert "paraphrase" in verdict("embed", vectors=[near, far, [0.9, 0.436]])

    def source(document: str) -> SimpleNamespace:
        return SimpleNamespace(document=document)

    right = {"answer": "Barack Obama", "sources": [source("presidents.txt")]}
    assert verdict("ask", **right) is None
    assert "answered" in verdict("ask", answer="Paris", sources=[source("capitals.txt")])
    wrong_source = {"answer": "Obama", "sources": [source("capitals.txt")]}
    assert "not the document" in verdict("ask", **wrong_source)
