"""The buttons of Slack replies: Regenerate (/imagine), Continue (/generate), Cancel.

A click must work after a restart, with nothing remembered in the process: each
button's value carries what its click needs, as compact JSON within Slack's 2,000
characters. Regenerate carries the image request (its seed left out); Continue the
prompt's end and the end of the text so far (the model reads only the end anyway);
Cancel the job's id. A value that cannot be read is answered as an expired button.
"""

from __future__ import annotations

import json
from typing import Any

from chat.cards import Button
from inference.tasks.generate import GenerateResult
from inference.tasks.imagine import ImagineResult

from .blocks import BUTTON_VALUE_CHARS

REGENERATE = "imagine:again"
CONTINUE = "generate:continue"
CANCEL = "job:cancel"

#: Tasks whose wait shows a Cancel button (the slow ones).
CANCELLABLE = frozenset({"imagine", "generate", "summarize", "speak"})

#: Of a Continue button's value, the characters kept for the prompt's end; the text so
#: far gets the rest.
CONTINUE_PROMPT_CHARS = 600


def cancel_button(job_id: str) -> Button:
    return Button(CANCEL, "Cancel", "✖️", "secondary", value=job_id)


def regenerate_button(result: ImagineResult) -> Button:
    request = {"p": result.prompt, "s": result.steps, "z": result.size}
    if result.negative_prompt:
        request["n"] = result.negative_prompt
    return Button(REGENERATE, "Regenerate", "🔁", value=_fit(request, ("n", "p")))


def continue_button(result: GenerateResult, max_tokens: int) -> Button:
    story = {
        "p": result.prompt[-CONTINUE_PROMPT_CHARS:],
        "x": result.full_text,  # the text so far, this part included
        "m": max_tokens,
        "t": result.temperature,
    }
    return Button(CONTINUE, "Continue", "➡️", value=_fit(story, ("x", "p"), keep_end=True))


def imagine_request(value: str) -> dict[str, Any] | None:
    """The /imagine options a Regenerate value carries (no seed: a new one), or None."""
    data = _load(value)
    if not isinstance(data.get("p"), str) or not data["p"]:
        return None
    request: dict[str, Any] = {"prompt": data["p"]}
    if isinstance(data.get("s"), int):
        request["steps"] = data["s"]
    if isinstance(data.get("z"), str):
        request["size"] = data["z"]
    if isinstance(data.get("n"), str) and data["n"]:
        request["negative"] = data["n"]
    return request


def generate_request(value: str) -> dict[str, Any] | None:
    """The /generate inputs a Continue value carries, or None."""
    data = _load(value)
    if not isinstance(data.get("p"), str) or not isinstance(data.get("x"), str):
        return None
    if not isinstance(data.get("m"), int) or not isinstance(data.get("t"), (int, float)):
        return None
    return {
        "prompt": data["p"],
        "continue_from": data["x"],
        "max_tokens": data["m"],
        "temperature": float(data["t"]),
    }


def _fit(data: dict[str, Any], clip_order: tuple[str, ...], *, keep_end: bool = False) -> str:
    """``data`` as compact JSON within a button value, clipping the texts of
    ``clip_order`` in turn (their ends, or with ``keep_end`` their starts) as needed."""
    data = dict(data)
    for key in clip_order:
        while len(value := _dump(data)) > BUTTON_VALUE_CHARS and data.get(key):
            over = len(value) - BUTTON_VALUE_CHARS
            text = data[key]
            # escaped characters take more room in JSON than in the text: cut generously
            cut = max(over, 1) if len(json.dumps(text)) - 2 == len(text) else max(over // 6, 1)
            data[key] = text[cut:] if keep_end else text[: len(text) - cut]
    value = _dump(data)
    if len(value) > BUTTON_VALUE_CHARS:
        raise ValueError("a button value that cannot be made to fit")
    return value


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _load(value: str) -> dict[str, Any]:
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
