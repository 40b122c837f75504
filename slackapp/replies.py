"""The Slack reply for each task's result: the neutral renderers (``chat.render``) plus
Slack's buttons and upload limit, from the journaled render arguments alone (a job
resumed after a restart looks like a fresh one)."""

from __future__ import annotations

from typing import Any

from chat.cards import Reply
from chat.policy import check_result
from chat.render import render
from chat.render.imagine import render_image
from chat.render.speak import render_fitted
from inference import Result
from inference.tasks.generate import GenerateResult
from inference.tasks.imagine import ImagineResult
from inference.tasks.speak import SpeakResult

from .buttons import continue_button, regenerate_button


async def render_reply(task: str, result: Result, args: dict[str, Any], max_bytes: int) -> Reply:
    """The reply for ``result`` of ``task`` (``args``: its journaled render arguments)."""
    if isinstance(result, ImagineResult):
        check_result(result.safety_checker, args.get("policy", ""))
        return await render_image(result, max_bytes=max_bytes, buttons=[regenerate_button(result)])
    if isinstance(result, GenerateResult):
        max_tokens = args["max_tokens"]
        return render(result, max_tokens=max_tokens, buttons=[continue_button(result, max_tokens)])
    if isinstance(result, SpeakResult):
        return await render_fitted(result, max_bytes, text=args.get("text", ""))
    return render(result, **args)
