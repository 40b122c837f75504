"""``python -m slackapp manifest`` and the command line's refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from chat.catalogue import COMMANDS, SHORTCUTS
from slackapp.__main__ import main
from slackapp.manifest import manifest_yaml

REPO = Path(__file__).resolve().parents[2]


def test_the_manifest_declares_every_command_shortcut_and_scope() -> None:
    manifest = yaml.safe_load(manifest_yaml())
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert list(commands) == [f"/{c.name}" for c in COMMANDS] and len(commands) == 9
    for spec in COMMANDS:
        declared = commands[f"/{spec.name}"]
        assert declared["description"] == spec.description
        assert spec.usage.endswith(declared["usage_hint"]) and declared["usage_hint"]
        assert declared["should_escape"] is False
    shortcuts = manifest["features"]["shortcuts"]
    assert [(s["name"], s["callback_id"], s["type"]) for s in shortcuts] == [
        (s.name, s.callback_id, "message") for s in SHORTCUTS
    ]
    assert [s["name"] for s in shortcuts] == [
        "Sentiment",
        "Extract entities",
        "Summarize",
        "Translate to English",
        "Speak",
    ]
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands", "chat:write", "chat:write.public", "files:write",
    }  # fmt: skip


def test_python_m_slackapp_manifest_prints_it() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "slackapp", "manifest"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert yaml.safe_load(run.stdout) == yaml.safe_load(manifest_yaml())


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({}, "SLACK_BOT_TOKEN and SLACK_APP_TOKEN are not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_API_URL": "ftp://x"},
         "setting SLACK_API_URL"),
    ],
)  # fmt: skip
def test_missing_tokens_get_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict, said: str
) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main([]) == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1
    assert "xoxb-1" not in err and "xapp-1" not in err


def test_unknown_arguments_get_the_usage() -> None:
    assert main(["serve"]) == 2
