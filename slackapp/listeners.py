"""The Bolt listeners: the nine slash commands, the message shortcuts, the buttons and
the modals.

Every listener is ``guarded``: it acknowledges once, at the latest when it ends, so an
exception can never lose the ack (bolt-python 1.30 can drop an ack when a listener
raises right after it); and any error is answered to the user alone with
``chat.errors.error_message`` (a short apology with an error id for our own faults).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from chat.catalogue import COMMANDS, SHORTCUTS, Shortcut
from chat.catalogue import command as catalogue_command
from chat.errors import NO_TEXT, OnCooldown, UserError, error_message
from inference import InvalidInput

from . import buttons, commands, forms
from .mrkdwn import mrkdwn
from .parse import parse_command, unescape
from .surface import service_user

if TYPE_CHECKING:
    from .app import SlackBot

log = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[None]]
Handler = Callable[[Ack, dict[str, Any]], Awaitable[None]]

GONE = "This request has already finished or expired."
EXPIRED = "This button no longer holds its request: use the command again instead."


def register(bot: SlackBot) -> None:
    """Register every listener of the app on ``bot.app``."""
    app = bot.app
    for spec in COMMANDS:
        app.command(f"/{spec.name}")(guarded(bot, f"/{spec.name}", _slash(bot, spec.name)))
    for shortcut in SHORTCUTS:
        app.shortcut(shortcut.callback_id)(guarded(bot, shortcut.name, _shortcut(bot, shortcut)))
    app.action(buttons.CANCEL)(guarded(bot, "Cancel", _cancel(bot)))
    for action, label, name, read in (
        (buttons.REGENERATE, "Regenerate", "imagine", buttons.imagine_request),
        (buttons.CONTINUE, "Continue", "generate", buttons.generate_request),
    ):
        app.action(action)(guarded(bot, label, _again(bot, name, read)))
    app.view(re.compile(f"^{forms.CALLBACK_PREFIX}"))(guarded(bot, "a form", _submitted(bot)))


def guarded(bot: SlackBot, where: str, handler: Handler) -> Callable[..., Awaitable[None]]:
    """``handler`` as a Bolt listener that always acks once and answers every error."""

    async def listener(ack: Ack, body: dict[str, Any], respond: Any) -> None:
        acked = False

        async def ack_once(*args: Any, **kwargs: Any) -> None:
            nonlocal acked
            if not acked:
                acked = True
                await ack(*args, **kwargs)

        try:
            await handler(ack_once, body)
        except Exception as exc:
            try:
                await ack_once()
                user = _user(body)
                await _answer(bot, body, respond, error_message(exc, where, user))
            except Exception:
                log.exception("could not answer an error in %s", where)
        finally:
            if not acked:
                await ack_once()

    return listener


async def _answer(bot: SlackBot, body: dict[str, Any], respond: Any, text: str) -> None:
    """``text`` to the user alone: through the response URL when the payload has one,
    else as an ephemeral message in the form's channel."""
    if body.get("response_url"):
        await respond(text=mrkdwn(text), response_type="ephemeral", replace_original=False)
        return
    await bot.client.chat_postEphemeral(
        channel=forms.channel_of(body.get("view", {})), user=_user(body), text=mrkdwn(text)
    )


def _user(body: dict[str, Any]) -> str:
    user = body.get("user")
    return str(user["id"] if isinstance(user, dict) else body.get("user_id", "?"))


def _team(body: dict[str, Any]) -> str:
    team = body.get("team")
    return str(team["id"] if isinstance(team, dict) else body.get("team_id", "?"))


# -- slash commands and forms ------------------------------------------------------------


def _slash(bot: SlackBot, name: str) -> Handler:
    spec = catalogue_command(name)

    async def handle(ack: Ack, body: dict[str, Any]) -> None:
        text = body.get("text") or ""
        if spec.form and not text.strip():
            await ack()
            view = forms.modal(spec, body["channel_id"])
            await bot.client.views_open(trigger_id=body["trigger_id"], view=view)
            return
        try:
            values = parse_command(spec, text)
        except UserError as exc:  # answered in the ack: the quickest way back
            await ack(text=mrkdwn(f"⚠️ {exc}"), response_type="ephemeral")
            return
        await ack()
        await _start(bot, name, values, team=_team(body), channel=body["channel_id"],
                     user=body["user_id"])  # fmt: skip

    return handle


def _submitted(bot: SlackBot) -> Handler:
    async def handle(ack: Ack, body: dict[str, Any]) -> None:
        view = body["view"]
        spec = catalogue_command(view["callback_id"].removeprefix(forms.CALLBACK_PREFIX))
        try:
            values = forms.read(spec, view)
            request = await commands.prepare(bot, spec.name, values)
            bot.service.task(request.task).parse(**request.inputs)  # the task's own rules
        except forms.FormErrors as exc:
            await ack(response_action="errors", errors=exc.errors)
            return
        except (UserError, InvalidInput) as exc:
            await ack(response_action="errors", errors=forms.errors_for(spec, exc))
            return
        surface = bot.surface(team=_team(body), channel=forms.channel_of(view), user=_user(body),
                              title=request.title)  # fmt: skip
        try:
            # The placeholder before the ack: a form has no other way back to its user
            # when the app may not post in the channel (no response URL, no ephemeral).
            commands.admit(bot, surface, request)
            await surface.acknowledge()
        except (UserError, OnCooldown) as exc:
            await ack(response_action="errors", errors=forms.errors_for(spec, exc))
            return
        await ack()
        await commands.run(bot, surface, request)

    return handle


async def _start(
    bot: SlackBot,
    name: str,
    values: dict[str, Any],
    *,
    team: str,
    channel: str,
    user: str,
    thread_ts: str | None = None,
) -> None:
    request = await commands.prepare(bot, name, values)
    surface = bot.surface(team=team, channel=channel, user=user, title=request.title,
                          thread_ts=thread_ts)  # fmt: skip
    commands.admit(bot, surface, request)
    await commands.run(bot, surface, request)


# -- message shortcuts -----------------------------------------------------------------


def _shortcut(bot: SlackBot, shortcut: Shortcut) -> Handler:
    async def handle(ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        message = body.get("message") or {}
        text = message_text(message)
        spec = catalogue_command(shortcut.command)
        values: dict[str, Any] = {spec.text: text, **shortcut.inputs}
        # a shortcut on a reply answers in its thread; on a channel message, in a new one
        thread_ts = message.get("thread_ts")
        channel = body["channel"]["id"]
        await _start(bot, shortcut.command, values, team=_team(body), channel=channel,
                     user=_user(body), thread_ts=thread_ts)  # fmt: skip

    return handle


def message_text(message: dict[str, Any]) -> str:
    """The text of a Slack message: its text, else its blocks' section texts."""
    parts = [message.get("text") or ""]
    if not parts[0].strip():
        for block in message.get("blocks") or []:
            text = block.get("text")
            if isinstance(text, dict):
                parts.append(text.get("text", ""))
    text = unescape("\n".join(p for p in parts if p.strip()))
    if not text.strip():
        raise UserError(NO_TEXT)
    return text


# -- buttons ---------------------------------------------------------------------------


def _click(body: dict[str, Any]) -> tuple[str, str, str | None]:
    """(value, channel, thread of the clicked message) of a button click."""
    action = body["actions"][0]
    container = body.get("container") or {}
    message = body.get("message") or {}
    thread = container.get("thread_ts") or message.get("thread_ts")
    return action.get("value") or "", body["channel"]["id"], thread


def _cancel(bot: SlackBot) -> Handler:
    async def handle(ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        job_id, _, _ = _click(body)
        job = bot.service.job(job_id) if job_id else None
        if job is None:
            raise UserError(GONE)
        if job.user != service_user(_team(body), _user(body)):
            raise UserError("Only the person who asked for this can cancel it.")
        if not job.cancel():
            raise UserError(GONE)

    return handle


def _again(bot: SlackBot, name: str, read: Callable[[str], dict[str, Any] | None]) -> Handler:
    """A button that runs command ``name`` again with the request ``read`` finds in its
    value (Regenerate, Continue), in the thread of the message it sits on."""

    async def handle(ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        value, channel, thread = _click(body)
        request = read(value)
        if request is None:
            raise UserError(EXPIRED)
        await _start(bot, name, request, team=_team(body), channel=channel,
                     user=_user(body), thread_ts=thread)  # fmt: skip

    return handle
