"""python -m inference download | check: the operator's commands, offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from inference import InferenceSettings
from inference.operate import check, planned, tasks_named, wanted_files
from inference.tasks import TASKS
from tests.bot.conftest import tiny_model_settings

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "inference", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1", **env},
        cwd=REPO,
        timeout=300,
    )


def test_check_against_the_tiny_models_reports_failed_probes_as_a_table(
    tiny_models: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    settings = InferenceSettings(_env_file=None, **tiny_model_settings(tiny_models))
    assert check([], settings) == 1
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0].split() == ["task", "model", "probe", "verdict", "seconds"]
    rows = lines[1:-1]
    assert [row.split()[0] for row in rows] == list(TASKS)
    assert "FAIL" in out  # random weights cannot know Paris from Obama
    assert "Traceback" not in out and lines[-1].endswith("probes passed")
    assert str(tiny_models["ner"].parent) not in out  # directories by their name only


def test_check_from_the_shell_one_task_and_a_missing_model(tiny_models: dict[str, Path]) -> None:
    done = cli("check", "NER", "qa", NER_MODEL=str(tiny_models["ner"]), QA_MODEL="/no/such/model")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    rows = done.stdout.strip().splitlines()[1:-1]
    assert [row.split()[0] for row in rows] == ["ner", "qa"]
    assert "FAIL" in rows[0]
    assert "error:" in rows[1] and "no such directory" in rows[1]


@pytest.mark.parametrize("command", ["check", "download"])
def test_bad_input_is_one_line(command: str) -> None:
    for args in ([command, "sentimentt"], [command, "ner", "--fast"]):
        done = cli(*args)
        assert done.returncode == 2
        assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith("error: ")
    done = cli(command, "ner", MAX_QUEUE="lots")
    assert done.returncode == 2 and done.stderr.startswith("error: setting MAX_QUEUE")


def test_download_without_network_is_one_line_per_failure(tiny_models: dict[str, Path]) -> None:
    done = cli("download", "sentiment", "translate", "speak", SPEAK_MODEL=str(tiny_models["speak"]))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    errors = done.stderr.strip().splitlines()
    assert errors == [
        "error: sentiment: distilbert/distilbert-base-uncased-finetuned-sst-2-english: "
        "cannot reach the Hub (offline: HF_HUB_OFFLINE is set, or no network)",
        "error: translate: Helsinki-NLP/opus-mt-en-fr: "
        "cannot reach the Hub (offline: HF_HUB_OFFLINE is set, or no network)",
    ]
    assert "speak: speak is a local directory" in done.stdout
    assert done.stdout.strip().splitlines()[-1].startswith("total: 0 B")


def test_download_plans_what_the_configuration_loads() -> None:
    settings = InferenceSettings(_env_file=None, translate_preload="en-fr,pl-de,en-pt")
    repos = [(d.task, d.repo) for d in planned(settings, tasks_named(["translate", "speak"]))]
    assert repos == [
        ("translate", "Helsinki-NLP/opus-mt-en-fr"),
        ("translate", "Helsinki-NLP/opus-mt-pl-en"),  # pl>de pivots through English
        ("translate", "Helsinki-NLP/opus-mt-en-de"),
        ("translate", "Helsinki-NLP/opus-mt-en-ROMANCE"),
        ("speak", "facebook/mms-tts-eng"),
    ]


def test_only_the_files_a_load_reads_are_fetched() -> None:
    opus = {
        "config.json": 1,
        "pytorch_model.bin": 300,
        "tf_model.h5": 300,
        "rust_model.ot": 300,
        "source.spm": 1,
        "target.spm": 1,
        "vocab.json": 1,
        "README.md": 1,
    }
    assert set(wanted_files(opus)) == {
        "config.json",
        "pytorch_model.bin",
        "source.spm",
        "target.spm",
        "vocab.json",
    }
    turbo = {
        "model_index.json": 1,
        "sd_turbo.safetensors": 5000,
        "unet/config.json": 1,
        "unet/diffusion_pytorch_model.safetensors": 3000,
        "unet/diffusion_pytorch_model.fp16.safetensors": 1500,
        "unet/diffusion_pytorch_model.bin": 3000,
        "vae/diffusion_pytorch_model.safetensors": 300,
        "tokenizer/merges.txt": 1,
    }
    assert set(wanted_files(turbo)) == {
        "model_index.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
        "vae/diffusion_pytorch_model.safetensors",
        "tokenizer/merges.txt",
    }
    assert "unet/diffusion_pytorch_model.fp16.safetensors" in wanted_files(turbo, half=True)
    assert "unet/diffusion_pytorch_model.safetensors" not in wanted_files(turbo, half=True)
