"""Discord's slash commands, declared from the shared catalogue (``chat.catalogue``).

``@catalogued("sentiment")`` makes a cog's callback the catalogue's command: its name,
description, option descriptions, length and value bounds and choices all come from the
catalogue, so Discord and Slack cannot drift apart. The callback's signature gives the
Python types; an option the catalogue and the callback disagree on fails at import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from discord import AppCommandOptionType, app_commands

from chat.catalogue import Command, Option, command

#: The Discord option type of each catalogue kind.
OPTION_TYPES = {
    "text": AppCommandOptionType.string,
    "integer": AppCommandOptionType.integer,
    "number": AppCommandOptionType.number,
    "boolean": AppCommandOptionType.boolean,
    "file": AppCommandOptionType.attachment,
}


def catalogued(name: str) -> Callable[[Callable[..., Any]], app_commands.Command[Any, ..., Any]]:
    """Declare the decorated callback as the catalogue's command ``name``."""
    spec = command(name)

    def decorate(callback: Callable[..., Any]) -> app_commands.Command[Any, ..., Any]:
        slash = app_commands.command(name=spec.name, description=spec.description)(callback)
        declare(slash, spec)
        return slash

    return decorate


def declare(slash: app_commands.Command[Any, ..., Any], spec: Command) -> None:
    """Give ``slash``'s parameters the catalogue's descriptions, bounds and choices."""
    params = slash._params
    if set(params) != {option.name for option in spec.options}:
        raise TypeError(
            f"/{spec.name}: the callback takes {sorted(params)}, the catalogue "
            f"{sorted(o.name for o in spec.options)}"
        )
    for option in spec.options:
        param = params[option.name]
        if param.type is not OPTION_TYPES[option.kind] or param.required != option.required:
            raise TypeError(f"/{spec.name} {option.name}: the callback and the catalogue differ")
        param.description = option.description
        param.min_value, param.max_value = _bounds(option)
        if option.choices:
            param.choices = [app_commands.Choice(name=c, value=c) for c in option.choices]


def _bounds(option: Option) -> tuple[int | float | None, int | float | None]:
    if option.kind in ("text", "integer"):  # a text's bounds are its length
        return tuple(None if b is None else int(b) for b in (option.min, option.max))  # type: ignore[return-value]
    return option.min, option.max
