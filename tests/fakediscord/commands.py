"""Turn a test's ``options={...}`` into the ``data.options`` Discord would send.

Option types come from the command schema the bot synced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# ApplicationCommandOptionType
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = (
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
)

#: Converts a test value to the option's wire value (recording ``resolved`` data on the way).
Resolve = Callable[[int, Any], Any]


def find_command(
    commands: list[dict[str, Any]], name: str, command_type: int
) -> dict[str, Any] | None:
    """The synced command ``name`` of ``command_type`` (1 slash, 2 user, 3 message), if any."""
    for command in commands:
        if command["name"] == name and command.get("type", 1) == command_type:
            return command
    return None


def build_options(
    schema: dict[str, Any],
    path: list[str],
    values: dict[str, Any],
    resolve: Resolve,
    *,
    focused: str | None = None,
) -> list[dict[str, Any]]:
    """The ``options`` list for invoking ``schema`` (a command or subcommand) with ``values``.

    ``path`` names the subcommand group/subcommand to descend into. ``focused`` marks the
    option being typed for autocomplete: its value is sent as the raw string typed so far,
    and missing required options are allowed, as in a half-filled command.
    """
    options = schema.get("options") or []
    if path:
        for sub in options:
            if sub["name"] == path[0] and sub["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP):
                return [
                    {
                        "type": sub["type"],
                        "name": sub["name"],
                        "options": build_options(sub, path[1:], values, resolve, focused=focused),
                    }
                ]
        raise ValueError(f"/{schema['name']} has no subcommand {path[0]!r}")
    if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in options):
        names = [o["name"] for o in options]
        raise ValueError(f"/{schema['name']} needs a subcommand, one of {names}")

    known = {o["name"]: o for o in options}
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(
            f"/{schema['name']} has no option(s) {sorted(unknown)}; it has {sorted(known)}"
        )
    if focused is not None and focused not in known:
        raise ValueError(f"/{schema['name']} has no option {focused!r} to focus")
    if focused is None:
        missing = [o["name"] for o in options if o.get("required") and o["name"] not in values]
        if missing:
            raise ValueError(f"/{schema['name']} requires option(s) {missing}")

    result = []
    for option in options:
        name = option["name"]
        if name not in values and name != focused:
            continue
        if name == focused:
            result.append(
                {
                    "type": option["type"],
                    "name": name,
                    "value": str(values.get(name, "")),
                    "focused": True,
                }
            )
            continue
        value = resolve(option["type"], values[name])
        choices = option.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise ValueError(
                f"option {name!r} of /{schema['name']} must be one of "
                f"{[c['value'] for c in choices]}"
            )
        result.append({"type": option["type"], "name": name, "value": value})
    return result
