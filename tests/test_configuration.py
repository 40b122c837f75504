"""The documentation of the settings stays in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from bot.settings import BotSettings
from slackapp.settings import SlackSettings

REPO = Path(__file__).resolve().parents[1]


def env_example() -> dict[str, str]:
    text = (REPO / ".env.example").read_text()
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, re.MULTILINE))


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    fields = {name.upper() for name in (*BotSettings.model_fields, *SlackSettings.model_fields)}
    assert set(env_example()) == fields


def test_env_example_loads_as_the_defaults(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text((REPO / ".env.example").read_text())
    from_file = BotSettings(_env_file=tmp_path / ".env")
    defaults = BotSettings(_env_file=None)
    for name in BotSettings.model_fields:
        assert getattr(from_file, name) == getattr(defaults, name), name
    slack_file = SlackSettings(_env_file=tmp_path / ".env")
    slack_defaults = SlackSettings(_env_file=None)
    for name in SlackSettings.model_fields:
        assert getattr(slack_file, name) == getattr(slack_defaults, name), name


def test_readme_documents_every_setting() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [name for name in env_example() if name not in readme]
    assert not missing, f"README.md does not mention {missing}"
