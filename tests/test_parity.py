"""Parity: every Discord model command and message menu has its Slack counterpart, and
every option a Discord user can give (but attaching a file) can be typed in Slack."""

from __future__ import annotations

from typing import Any

import yaml

from bot.client import PipelineBot
from bot.settings import BotSettings
from chat.catalogue import COMMANDS, Option
from slackapp.manifest import manifest_yaml
from slackapp.parse import parse_command
from tests.bot.test_catalogue import MODEL_COGS

#: Discord's option types: string, integer, boolean, number.
TYPED = {3, 4, 5, 10}


async def discord_declarations() -> tuple[dict[str, dict[str, Any]], set[str]]:
    """Discord's slash commands (name -> payload) and message menus, as synced."""
    bot = PipelineBot(BotSettings(_env_file=None, discord_token="x"))
    for extension in MODEL_COGS:
        await bot.load_extension(extension)
    payloads = [c.to_dict(bot.tree) for c in bot.tree.get_commands()]
    commands = {p["name"]: p for p in payloads if p["type"] == 1}
    return commands, {p["name"] for p in payloads if p["type"] == 3}


def sample(option: Option) -> Any:
    """A value Discord would accept for ``option``."""
    if option.choices:
        return option.choices[-1]
    if option.kind == "boolean":
        return True
    if option.kind in ("integer", "number"):
        return option.max
    return "ab {}"[: int(option.max or 4)].ljust(int(option.min or 1), "x")


def typed(value: Any) -> str:
    return ("yes" if value else "no") if isinstance(value, bool) else f'"{value}"'


async def test_every_discord_command_and_menu_is_in_the_slack_manifest() -> None:
    commands, menus = await discord_declarations()
    manifest = yaml.safe_load(manifest_yaml())["features"]
    assert {c["command"] for c in manifest["slash_commands"]} == {f"/{n}" for n in commands}
    assert {s["name"] for s in manifest["shortcuts"]} == menus


async def test_every_discord_option_can_be_typed_in_slack() -> None:
    commands, _ = await discord_declarations()
    for spec in COMMANDS:
        for declared in commands[spec.name]["options"]:
            if declared["type"] not in TYPED:
                continue  # an attachment: Slack's commands take text only
            option = spec.option(declared["name"])
            value = sample(option)
            # the option under test, the command's other required options, then the text
            given = {o.name: sample(o) for o in spec.options if o.required and o.kind != "file"}
            given[option.name] = value
            text = given.pop(spec.text, "some text")
            line = " ".join(f"{name}:{typed(v)}" for name, v in given.items()) + f" {text}"
            parsed = parse_command(spec, line)
            assert parsed[option.name] == value, (spec.name, line, parsed)
            assert parsed[spec.text] == text, (spec.name, line, parsed)
