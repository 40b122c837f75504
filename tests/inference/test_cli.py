"""``python -m inference`` run as a subprocess, the way an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "inference", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_run_sentiment_prints_one_json_object(tiny_models: dict[str, Path]) -> None:
    done = cli("run", "sentiment", "I love this", "--model", str(tiny_models["sentiment"]))
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["label"] in {"negative", "neutral", "positive"}
    assert data["model_label"] in {"POSITIVE", "NEGATIVE"}
    assert 0.5 <= data["score"] <= 1
    assert len(data["scores"]) == 1


def test_top_k_flag_shows_every_label(tiny_models: dict[str, Path]) -> None:
    done = cli(
        "run", "sentiment", "I love this", "--top-k", "--model", str(tiny_models["sentiment"])
    )
    assert done.returncode == 0, done.stderr
    assert {s["label"] for s in json.loads(done.stdout)["scores"]} == {"POSITIVE", "NEGATIVE"}


def test_bad_input_exits_2_with_one_line(tiny_models: dict[str, Path]) -> None:
    done = cli("run", "sentiment", "   ", "--model", str(tiny_models["sentiment"]))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip() == "error: The text is empty."


def test_missing_model_exits_2_without_traceback(tmp_path: Path) -> None:
    done = cli("run", "sentiment", "hello", "--model", str(tmp_path / "missing"))
    assert done.returncode == 2
    assert "no such directory" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_directory_that_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model")
    done = cli("run", "sentiment", "hello", "--model", str(tmp_path))
    assert done.returncode == 2
    assert "holds no model" in done.stderr


def test_broken_model_directory(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{ this is not json")
    done = cli("run", "sentiment", "hello", "--model", str(tmp_path))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: The sentiment model is unavailable")


def test_unknown_task() -> None:
    done = cli("run", "astrology", "hello")
    assert done.returncode == 2
    assert "Unknown task 'astrology'" in done.stderr


def test_tasks_lists_every_task() -> None:
    done = cli("tasks")
    assert done.returncode == 0
    assert done.stdout.splitlines()[0].startswith("sentiment")
