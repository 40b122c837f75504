"""Empty settings: most mean "the default", some mean "none", and both really work.

A .env line such as ``IMAGINE_SAFETY_CHECKER=`` means "no separate safety checker";
``MAX_QUEUE=`` means "the default". Every setting whose empty value has a meaning is
tested with that empty value, from the environment and from a .env file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import BotSettings
from inference.device import resolve_placement
from inference.tasks.imagine import ImagineTask
from inference.tasks.translate import TranslateTask

REPO = Path(__file__).resolve().parents[1]


def from_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> BotSettings:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return BotSettings(_env_file=None)


@pytest.mark.parametrize("name", sorted(BotSettings.EMPTY_MEANS_NONE))
def test_empty_means_none_from_the_environment(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    assert getattr(from_env(monkeypatch, **{name.upper(): ""}), name) == ""


def test_empty_means_none_from_a_dotenv_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("IMAGINE_SAFETY_CHECKER=\nTRANSLATE_PRELOAD=\nMAX_QUEUE=\nIMAGINE_STEPS=\n")
    settings = BotSettings(_env_file=env)
    assert settings.imagine_safety_checker == ""
    assert settings.translate_preload == ""
    assert settings.max_queue == 64 and settings.imagine_steps is None  # the defaults


def test_other_empty_values_mean_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = from_env(
        monkeypatch, MAX_QUEUE="", IMAGINE_STEPS=" ", DEV_GUILD_ID="", HF_TOKEN="", LOG_LEVEL=""
    )
    assert (settings.max_queue, settings.imagine_steps, settings.dev_guild_id) == (64, None, None)
    assert settings.hf_token is None and settings.log_level == "INFO"


def test_no_safety_checker_is_loaded_when_the_setting_is_empty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = from_env(monkeypatch, IMAGINE_SAFETY_CHECKER="")
    task = ImagineTask("stabilityai/sd-turbo", resolve_placement("cpu"), settings)
    # an empty setting returns before anything is looked up (nothing is downloaded)
    assert task._separate_checker("stabilityai/sd-turbo") is None


def test_no_translation_model_is_preloaded_when_the_setting_is_empty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = from_env(monkeypatch, TRANSLATE_PRELOAD="")
    task = TranslateTask(settings.translate_model, resolve_placement("cpu"), settings)
    assert task.default_models() == []


@pytest.mark.parametrize("level", ["loud", "5", "verbose"])
def test_a_bad_log_level_is_one_line(tmp_path: Path, level: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,  # no .env here
        env={"PYTHONPATH": str(REPO), "DISCORD_TOKEN": "x", "LOG_LEVEL": level, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr
    assert lines[0].startswith("error: setting LOG_LEVEL") and "DEBUG, INFO" in lines[0]


def test_log_level_any_case() -> None:
    assert BotSettings(_env_file=None, log_level="debug").log_level == "DEBUG"
