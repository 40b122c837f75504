"""From a command's options to a job: what each of the nine commands runs in Slack.

``prepare`` turns the catalogue's option values (typed, from a modal, from a message
shortcut or a button) into the task's inputs and render arguments, with the same checks
as Discord's cogs (the blocklist and image policy of ``chat.policy``, /translate's
language detection); ``admit`` takes one of the user's runs (the cooldown), and ``run``
runs it for a surface.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chat.catalogue import command as catalogue_command
from chat.errors import Interrupted, UserError, error_message
from chat.policy import channel_policy, check_model, check_prompt
from chat.render.base import clip, escape
from inference import InvalidInput
from inference.languages import language_name
from inference.tasks.generate import DEFAULT_NEW_TOKENS
from inference.tasks.translate import asks_for_detection

from .parse import UsageError

if TYPE_CHECKING:
    from .app import SlackBot
    from .surface import SlackSurface

#: Characters of the request the placeholder repeats.
SHOWN_CHARS = 80


@dataclass
class Request:
    """One job to run: the task's inputs (JSON-safe: they are journaled) and how its
    result is shown."""

    task: str
    inputs: dict[str, Any]
    render_args: dict[str, Any] = field(default_factory=dict)
    what: str = "request"
    #: The placeholder's first line: the command and the start of what was asked.
    title: str = ""


async def prepare(bot: SlackBot, name: str, values: dict[str, Any]) -> Request:
    """The job of command ``name`` for its checked option ``values``."""
    spec = catalogue_command(name)
    shown = " ".join(str(values.get(spec.text, "")).split())
    title = f"**/{name}** · {escape(clip(shown, SHOWN_CHARS))}" if shown else f"**/{name}**"
    request = Request(spec.task, {}, what=spec.what, title=title)
    text = values.get(spec.text)
    if name in ("sentiment", "ner", "speak"):
        request.inputs = {"text": text}
        request.render_args = {"text": text}
        if name == "sentiment":
            request.inputs["language"] = values.get("language")
        if name == "speak":
            request.inputs["voice"] = values.get("voice")
    elif name == "classify":
        request.inputs = {
            "text": text,
            "labels": values["labels"],
            "multi_label": values.get("multi_label", False),
            "template": values.get("template"),
        }
        request.render_args = {"text": text}
    elif name == "qa":
        question = values["question"]
        request.inputs = {"question": question, "context": text}
        request.render_args = {"question": question, "context": text, "source": ""}
    elif name == "summarize":
        request.inputs = {"text": text, "length": values.get("length", "medium")}
        request.render_args = {"source": ""}
    elif name == "translate":
        await _translation(bot, request, text, values)
    elif name == "generate":
        max_tokens = values.get("max_tokens", DEFAULT_NEW_TOKENS)
        request.inputs = {
            "prompt": text,
            "max_tokens": max_tokens,
            "temperature": values.get("temperature"),
            "seed": values.get("seed"),
            "continue_from": values.get("continue_from", ""),
        }
        request.render_args = {"max_tokens": max_tokens}
    elif name == "imagine":
        check_prompt(bot.settings.imagine_blocklist, text)
        request.inputs = {
            "prompt": text,
            "negative_prompt": values.get("negative"),
            "steps": values.get("steps"),
            "seed": values.get("seed"),
            "size": values.get("size"),
        }
        # Slack has no age-restricted channels: unchecked images only where the policy
        # allows them anywhere. Refused at once when the model is known to have no
        # checker; else the renderer withholds an unchecked image.
        policy = channel_policy(bot.settings.imagine_nsfw_policy, False)
        await check_model(bot.service, policy, request.inputs)
        request.render_args = {"policy": policy}
    else:
        raise UserError(f"/{name} is not a command of this app.")
    request.inputs = {k: v for k, v in request.inputs.items() if v is not None}
    return request


async def _translation(bot: SlackBot, request: Request, text: str, values: dict[str, Any]) -> None:
    """/translate: detect the source when asked ("auto"), and read the languages here,
    which tell the renderer pivots from stages."""
    task = bot.service.task("translate")
    source, target, note = values.get("source"), values["target"], values.get("note", "")
    spec = catalogue_command("translate")
    try:
        if asks_for_detection(source):
            source = await asyncio.to_thread(task.detect_source, text)
            if source == target:
                raise UserError(f"That text is already in {language_name(source)}.")
            note = note or f"Detected {language_name(source)}. Not right? Give source: instead."
        parsed = task.parse(text=text, target=target, source=source)
    except InvalidInput as exc:
        raise UsageError(spec, str(exc)) from None
    request.inputs = {"text": text, "target": target, "source": source}
    request.render_args = {"text": text, "targets": list(parsed.targets), "note": note}


def admit(bot: SlackBot, surface: SlackSurface, request: Request) -> None:
    """Use one of the user's runs of the request's task (``OnCooldown`` when none is
    left): the same buckets as the command's buttons and shortcuts."""
    bot.cooldowns.hit(request.task, surface.user, time.time())


async def run(bot: SlackBot, surface: SlackSurface, request: Request) -> None:
    """Run an admitted ``request`` for ``surface``; an error once the placeholder is up
    replaces it with a word to the user alone (before that, it propagates to the
    listener, which answers it)."""
    try:
        await bot.runner.run(
            surface,
            request.task,
            what=request.what,
            render_args=request.render_args,
            **request.inputs,
        )
    except Interrupted:
        return  # the app is restarting: the journal keeps the job
    except Exception as exc:
        if not surface.can_edit:
            raise
        await surface.tell(error_message(exc, f"/{request.task}", surface.user))
