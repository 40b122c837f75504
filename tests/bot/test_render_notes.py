"""What the replies say about how a result was made: a voice's unspoken characters, the
model's own sampling settings."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from chat.render import render
from chat.render.generate import footer_line
from inference.audio import encode_wav
from inference.tasks.generate import GenerateResult
from inference.tasks.speak import SpeakResult

REPO = Path(__file__).resolve().parents[2]


def speech(**extra: object) -> SpeakResult:
    return SpeakResult(
        wav=encode_wav(np.zeros(160, dtype=np.float32), 16_000),
        file_name="x.wav",
        duration_s=0.01,
        sampling_rate=16_000,
        voice="default",
        model="facebook/mms-tts-eng",
        chunks=1,
        truncated=False,
        **extra,
    )


def test_speak_reply_names_the_characters_left_out() -> None:
    reply = render(speech(unspoken=["é", "東"]), text="Café 東")
    description = reply.messages[0].cards[0].description
    assert "cannot say some characters; they were left out: é 東" in description
    assert "left out" not in render(speech(), text="hi").messages[0].cards[0].description


def generated(**extra: object) -> GenerateResult:
    values: dict[str, object] = {
        "prompt": "p", "text": "t", "full_text": "t", "finish_reason": "stop", "tokens": 1,
        "seed": 3, "temperature": 0.3, "model": "m", "chat": True, "truncated": False,
    }  # fmt: skip
    return GenerateResult(**{**values, **extra})


def test_generate_footer_says_when_the_models_own_sampling_applied() -> None:
    own = footer_line(generated(top_p=0.9, sampling="model"), 40)
    assert "Temperature 0.3 (the model's own), top-p 0.9" in own
    assert re.search(r"Temperature (\d+(?:\.\d+)?)", own)[1] == "0.3"  # Continue reads it back
    asked = footer_line(generated(sampling="request"), 40)
    assert "model's own" not in asked and "top-p" not in asked


def test_ci_and_readme() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    assert "ruff format --check ." in ci and "ruff check ." in ci
    readme = (REPO / "README.md").read_text()
    assert "--index-url https://download.pytorch.org/whl/cpu" in readme
    assert "## Operating" in readme


def test_bot_sync_usage_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "synk"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO), "PATH": ""},
        timeout=120,
    )
    assert done.returncode == 2 and done.stderr == "usage: python -m bot [sync]\n"
