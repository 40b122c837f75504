"""Reading a slash command's typed text into its options, from the shared catalogue.

Slack passes a command's arguments as one line of free text. Options come first, as
``name:value`` or, for values with spaces, ``"name: value"`` (or ``name:"value"``);
the rest of the line is the command's ``text`` option. ``/translate`` also takes its
languages as ``fr>de`` (from French to German) or ``de`` (to German) before the text.
Every value is checked against the catalogue's kinds, bounds and choices; anything that
cannot be read is a ``UsageError`` whose message ends with the command's usage line.
"""

from __future__ import annotations

import math
import re
from typing import Any

from chat.catalogue import Command, Option
from chat.errors import UserError
from chat.render.base import clip

#: Quote marks around a value: straight, and those Slack's clients may type instead.
QUOTES = {'"': '"', "“": "”", "”": "”", "„": "“", "'": "'", "‘": "’", "’": "’"}
TRUE = {"yes", "y", "true", "on", "1"}
FALSE = {"no", "n", "false", "off", "0"}
#: Characters of a value that cannot be read that its error message repeats.
QUOTED_CHARS = 40

_NAME = re.compile(r"([A-Za-z_]+)\s*:")
_LANGUAGES = re.compile(r"[^\s:>]+(?:>[^\s:>]+)*")


class UsageError(UserError):
    """A command line that cannot be read; the message says why and how to type it."""

    def __init__(self, command: Command, problem: str) -> None:
        super().__init__(f"{problem}\n{usage(command)}")
        self.problem = problem


def usage(command: Command) -> str:
    """How to type ``command``: its usage line and an example (mrkdwn)."""
    files = [o.name for o in command.options if o.kind == "file"]
    note = f"\n(The {files[0]} option, to attach a file, is on Discord only.)" if files else ""
    return f"Usage: `{command.usage}`\nExample: `{command.example}`{note}"


def unescape(text: str) -> str:
    """Slack's command text with its HTML escapes (``&lt;`` for ``<``...) undone."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse_command(command: Command, text: str) -> dict[str, Any]:
    """The options typed in ``text`` (Slack's escaped command text), checked against the
    catalogue: option name -> value, with the rest of the line under ``command.text``.
    Options not given are left out."""
    rest = unescape(text).strip()
    given: dict[str, str] = {}
    while rest:
        token = _option_token(command, rest)
        if token is None:
            break
        name, value, rest = token
        if name in given:
            raise UsageError(command, f"`{name}` is given twice.")
        given[name] = value
        rest = rest.lstrip()
    if command.name == "translate" and "target" not in given and rest:
        languages, _, after = rest.partition(" ")
        if _LANGUAGES.fullmatch(languages):  # fr>de, fr>de>en, de
            source, _, target = languages.partition(">")
            if not target:  # a bare language is the target
                source, target = "", source
            if source and "source" not in given:
                given["source"] = source
            given["target"] = target
            rest = after.strip()
    if rest:
        given[command.text] = rest
    return check(command, given)


def check(command: Command, given: dict[str, str]) -> dict[str, Any]:
    """``given`` (option name -> text) as typed values, every one within the catalogue's
    limits, the required ones present; else a ``UsageError``."""
    values: dict[str, Any] = {}
    for name, raw in given.items():
        option = _option(command, name)
        values[option.name] = convert(command, option, raw)
    for option in command.options:
        if option.name not in values and (option.required or option.name == command.text):
            raise UsageError(command, f"Give the {option.name.replace('_', ' ')}.")
    return values


def convert(command: Command, option: Option, raw: str) -> Any:
    """One option's typed text as its kind's value, within its bounds and choices."""
    name = option.name
    text = raw.strip()
    if option.kind == "file":
        raise UsageError(command, f"`{name}`: attaching a file works on Discord only.")
    if option.kind == "boolean":
        if text.lower() in TRUE | FALSE:
            return text.lower() in TRUE
        raise UsageError(command, f"`{name}` is yes or no, not “{clip(text, QUOTED_CHARS)}”.")
    if option.kind in ("integer", "number"):
        try:
            number: float = int(text) if option.kind == "integer" else float(text)
        except ValueError:
            kind = "a whole number" if option.kind == "integer" else "a number"
            raise UsageError(
                command, f"`{name}` must be {kind}, not “{clip(text, QUOTED_CHARS)}”."
            ) from None
        low, high = option.min, option.max
        if (
            not math.isfinite(number)
            or (low is not None and number < low)
            or (high is not None and number > high)
        ):
            raise UsageError(command, f"`{name}` must be from {low:g} to {high:g}.")
        return number
    if option.choices:
        for choice in option.choices:
            if text.lower() == choice.lower():
                return choice
        raise UsageError(command, f"`{name}` is one of {', '.join(option.choices)}.")
    if option.min is not None and len(text) < option.min:
        raise UsageError(command, f"Give the {name.replace('_', ' ')}.")
    if option.max is not None and len(text) > option.max:
        raise UsageError(
            command, f"The {name.replace('_', ' ')} is {len(text):,} characters; "
            f"the limit is {option.max:,.0f}."
        )  # fmt: skip
    return text


def _option_token(command: Command, rest: str) -> tuple[str, str, str] | None:
    """The option at the start of ``rest``: (name, value, what follows), or None when
    ``rest`` starts with the free text."""
    close = QUOTES.get(rest[0])
    if close is not None:  # "name: value with spaces"
        match = _NAME.match(rest, 1)
        if match is None or not _is_option(command, match[1]):
            return None
        end = rest.find(close, match.end())
        if end < 0:
            raise UsageError(command, f"The quote before `{match[1]}` is never closed.")
        return match[1].lower(), rest[match.end() : end], rest[end + 1 :]
    match = _NAME.match(rest)
    if match is None or not _is_option(command, match[1]):
        return None
    value = rest[match.end() :]
    close = QUOTES.get(value[:1])
    if close is not None:  # name:"value with spaces"
        end = value.find(close, 1)
        if end < 0:
            raise UsageError(command, f"The quote after `{match[1]}:` is never closed.")
        return match[1].lower(), value[1:end], value[end + 1 :]
    word = re.match(r"\S*", value)
    assert word is not None
    return match[1].lower(), word[0], value[word.end() :]


def _is_option(command: Command, name: str) -> bool:
    """Whether ``name`` is an option typed by name (the free text is never named: a
    line starting with "text:" is text)."""
    name = name.lower()
    return name != command.text and any(option.name == name for option in command.options)


def _option(command: Command, name: str) -> Option:
    try:
        return command.option(name)
    except KeyError:
        raise UsageError(command, f"/{command.name} has no option `{name}`.") from None
