"""Discord-flavoured markdown (what ``chat.cards`` hold) as Slack's mrkdwn.

``**bold**`` becomes ``*bold*``, ``*italic*`` ``_italic_``, ``~~struck~~`` ``~struck~``,
``[label](url)`` ``<url|label>``; code keeps its text; backslash escapes go (Slack has
none); ``&``, ``<`` and ``>`` are escaped as Slack requires, so no text, whoever wrote
it, becomes a mention or a link of its own; ``@here``, ``@channel`` and ``@everyone``
are broken with a zero-width space as well. ``-# small print`` lines are told apart by
``split_small`` (the block renderer puts them in context blocks).
"""

from __future__ import annotations

import re

ZWSP = "\u200b"

_FENCE = re.compile(r"```(?:[A-Za-z0-9_+-]*\n)?(.*?)```", re.DOTALL)
_CODE = re.compile(r"`([^`\n]+)`")
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_LINK = re.compile(r"\[([^\]\n]+)\]\(<?(https?://[^\s)>]+)>?\)")
_AUTOLINK = re.compile(r"<(https?://[^\s>]+)>")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.DOTALL)
_UNDERLINE = re.compile(r"__(?=\S)(.+?)(?<=\S)__", re.DOTALL)
_ITALIC = re.compile(r"(?<![\w*])[*_](?=\S)(.+?)(?<=\S)[*_](?![\w*])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~", re.DOTALL)
_SPOILER = re.compile(r"\|\|(.+?)\|\|", re.DOTALL)
_HEADING = re.compile(r"^#{1,3} +(.+)$", re.MULTILINE)
_BROADCAST = re.compile(r"@(here|channel|everyone)\b", re.IGNORECASE)
# Placeholders (private-use characters) hold finished pieces while the rest is converted.
_HOLD = re.compile("\ue000(\\d+)\ue001")
_STAR = "\ue002"  # a bold mark, so that the italic pass leaves it alone


def escape(text: str) -> str:
    """``&``, ``<`` and ``>`` as Slack's entities, and no broadcast mention."""
    return _no_broadcast(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def plain(text: str) -> str:
    """Discord markdown as plain text (a header, a button label): marks and backslash
    escapes removed, nothing escaped (plain_text objects show text as is)."""
    escaped: list[str] = []

    def hold(match: re.Match[str]) -> str:
        escaped.append(match[1])
        return f"\ue000{len(escaped) - 1}\ue001"

    text = _ESCAPED.sub(hold, _LINK.sub(r"\1", text))
    for pattern in (_BOLD, _UNDERLINE, _STRIKE, _SPOILER, _CODE, _ITALIC):
        text = pattern.sub(r"\1", text)
    return _no_broadcast(_HOLD.sub(lambda m: escaped[int(m[1])], text))


def mrkdwn(text: str) -> str:
    """Discord markdown as Slack mrkdwn (see the module's docstring)."""
    held: list[str] = []

    def hold(piece: str) -> str:
        held.append(piece)
        return f"\ue000{len(held) - 1}\ue001"

    # code first: nothing inside it is markdown
    text = _FENCE.sub(lambda m: hold(f"```{escape(m[1])}```"), text)
    text = _CODE.sub(lambda m: hold(f"`{escape(m[1])}`"), text)
    text = _ESCAPED.sub(lambda m: hold(escape(m[1])), text)
    text = _LINK.sub(lambda m: hold(f"<{_url(m[2])}|{escape(m[1]).replace('|', '¦')}>"), text)
    text = _AUTOLINK.sub(lambda m: hold(f"<{_url(m[1])}>"), text)
    text = _HEADING.sub(lambda m: f"{_STAR}{m[1]}{_STAR}", text)
    text = _BOLD.sub(lambda m: f"{_STAR}{m[1]}{_STAR}", text)
    text = _UNDERLINE.sub(r"\1", text)  # Slack has no underline
    text = _ITALIC.sub(r"_\1_", text)
    text = _STRIKE.sub(r"~\1~", text)
    text = _SPOILER.sub(r"\1", text)
    text = escape(text).replace(_STAR, "*")
    while _HOLD.search(text):  # (a held piece holds no placeholder, but be sure)
        text = _HOLD.sub(lambda m: held[int(m[1])], text)
    return text


def split_small(text: str) -> list[tuple[bool, str]]:
    """``text`` as runs of (small, text): ``-# `` lines are small print (the mark
    removed), the rest is not; code blocks are never split."""
    runs: list[tuple[bool, str]] = []
    in_fence = False
    for line in text.split("\n"):
        small = not in_fence and line.startswith("-# ")
        if line.count("```") % 2:
            in_fence = not in_fence
        body = line[3:] if small else line
        if runs and runs[-1][0] == small:
            runs[-1] = (small, f"{runs[-1][1]}\n{body}")
        else:
            runs.append((small, body))
    return [(small, body) for small, body in runs if body.strip()]


def _no_broadcast(text: str) -> str:
    """``@here``, ``@channel`` and ``@everyone`` broken with a zero-width space."""
    return _BROADCAST.sub(lambda m: f"@{ZWSP}{m[1]}", text)


def _url(url: str) -> str:
    """A link's address as Slack takes it: ``&`` escaped, no ``|`` (which ends it)."""
    return url.replace("&", "&amp;").replace("|", "%7C")
