"""/speak reads numbers, currencies and symbols aloud, and says what it cannot say.

The tiny VITS voice has the character set of facebook/mms-tts-eng (letters, space,
apostrophe, hyphen: no digits, no symbols) and the language "eng", like the real one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inference import InferenceService, InferenceSettings
from inference.device import resolve_placement
from inference.tasks.speak import SpeakTask
from tests.tiny_models import VITS_CHARS

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TEXT = "Call 911 now, it costs $5 & 20% off."


@pytest.fixture(scope="module")
def speaker(tiny_models: dict[str, Path]):
    settings = InferenceSettings(_env_file=None)
    task = SpeakTask(str(tiny_models["speak"]), resolve_placement("cpu", "auto"), settings)
    return task.load(str(tiny_models["speak"]))


def test_numbers_and_symbols_are_spoken_in_words(speaker) -> None:
    pieces, unspoken = speaker.pieces([TEXT])
    said = " ".join(pieces)
    for words in ("nine hundred and eleven", "five dollars", "and twenty percent"):
        assert words in said
    assert unspoken == []
    # every letter of what is synthesised is one the voice has
    assert set(said.lower()) - set(VITS_CHARS) <= {",", "."}


async def test_characters_the_voice_lacks_are_reported(tiny_models: dict[str, Path]) -> None:
    async with InferenceService(
        InferenceSettings(_env_file=None), models={"speak": str(tiny_models["speak"])}
    ) as service:
        result = await service.run("speak", text="Café in Zürich costs 5 € today. 東京")
    assert result.unspoken == ["é", "ü", "東", "京"]
    assert result.to_dict()["unspoken"] == ["é", "ü", "東", "京"]
    assert result.duration_s > 0
