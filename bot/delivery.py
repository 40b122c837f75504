"""Discord's ``Surface``: where a job's wait and reply are shown, and sending them there.

A fresh job replies through its ``discord.Interaction``; a job resumed after a restart
through the same interaction's webhook, rebuilt from the journal (``ReplyTo``). Both are
a ``Delivery``, so the one ``send_reply`` serves both, with the same fallback: once the
token has expired, the result goes to the channel and mentions only the requester.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import discord

from chat.cards import Button, Reply
from chat.render.base import MESSAGE_CHARS, byte_size
from chat.surface import Sent
from inference import Result

from .errors import RESULT_SHOWN, UserError
from .render import CANCEL_BUTTONS, message_kwargs, render_for
from .render import view as button_view

log = logging.getLogger(__name__)

#: How long Discord keeps an interaction token valid for edits and followups.
TOKEN_LIFETIME = timedelta(minutes=15)
#: Past this age a result goes to the channel instead.
TOKEN_SAFE_AGE = timedelta(minutes=14, seconds=30)
#: Discord's error code for an expired or unknown interaction token.
INVALID_WEBHOOK_TOKEN = 50027
#: A job whose token has less than this left when the bot starts goes to the channel.
RESUME_MIN_LEFT_S = 60.0


@dataclass
class ReplyTo:
    """What a resumed job needs to answer its interaction (journaled as JSON). The token
    is a secret: it never appears in ``repr`` or in logs."""

    application_id: int
    token: str = field(repr=False)
    user_id: int
    channel_id: int | None
    guild_id: int | None
    created_at: float  # the interaction's time, Unix seconds
    filesize_limit: int
    ephemeral: bool = False
    #: The original response, once the interaction was deferred.
    message_id: int | None = None

    @classmethod
    def of(cls, interaction: discord.Interaction, *, ephemeral: bool) -> ReplyTo:
        return cls(
            application_id=interaction.application_id,
            token=interaction.token,
            user_id=interaction.user.id,
            channel_id=interaction.channel_id,
            guild_id=interaction.guild_id,
            created_at=interaction.created_at.timestamp(),
            filesize_limit=interaction.filesize_limit,
            ephemeral=ephemeral,
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReplyTo:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "expires_at": self.expires_at}

    @property
    def expires_at(self) -> float:
        return self.created_at + TOKEN_LIFETIME.total_seconds()


class Delivery:
    """The original response of one interaction, its followups, and its channel: the
    ``chat.surface.Surface`` of a Discord request."""

    platform = "discord"
    #: What rebuilds this delivery after a restart: the requester, the channel...
    target: ReplyTo
    created_at: datetime
    #: Known to be dead (an old job): go straight to the channel.
    token_dead = False

    @property
    def user(self) -> int:
        return self.target.user_id

    @property
    def ephemeral(self) -> bool:
        return self.target.ephemeral

    @property
    def filesize_limit(self) -> int:
        return self.target.filesize_limit

    async def edit(self, **kwargs: Any) -> None:
        raise NotImplementedError

    async def follow(self, *, ephemeral: bool | None = None, **kwargs: Any) -> None:
        """A followup message, ephemeral when the reply is (unless ``ephemeral`` says)."""
        raise NotImplementedError

    async def delete(self) -> None:
        raise NotImplementedError

    def channel(self) -> discord.abc.Messageable | None:
        raise NotImplementedError

    def shown(self) -> None:
        """The original response now holds the result."""

    @property
    def token_fresh(self) -> bool:
        """Young enough to edit the original response with a result."""
        return not self.token_dead and discord.utils.utcnow() - self.created_at <= TOKEN_SAFE_AGE

    @property
    def token_alive(self) -> bool:
        """Not known to have expired (worth trying to tidy up with)."""
        return not self.token_dead and discord.utils.utcnow() - self.created_at < TOKEN_LIFETIME

    # -- chat.surface.Surface ------------------------------------------------------------

    @property
    def can_edit(self) -> bool:
        return self.token_fresh

    @property
    def deliverable(self) -> bool:
        """Once the token is dead, only a public reply with a channel can still go out."""
        return not self.token_dead or not (self.ephemeral or self.target.channel_id is None)

    def reply_to(self) -> dict[str, Any]:
        return self.target.to_json()

    async def acknowledge(self) -> None:
        """Nothing to show: a resumed job's placeholder exists already."""

    async def show_wait(self, text: str, buttons: list[Button] | None) -> None:
        kwargs: dict[str, Any] = {"content": text}
        if buttons is not None:  # the placeholder shows the wait alone (a restart's notice
            # replaces a result shown in part before); None removes the buttons
            kwargs["embeds"] = []
            kwargs["view"] = button_view(buttons) if buttons else None
        await self.edit(**kwargs)

    def cancel_button(self, task: str, job_id: str) -> Button | None:
        button = CANCEL_BUTTONS.get(task)
        return button(job_id) if button is not None else None

    async def render(self, task: str, result: Result, args: dict[str, Any]) -> Reply:
        return await render_for(task, result, args, self.filesize_limit)

    async def deliver(
        self, reply: Reply, *, note: str = "", skip: int = 0, sent: Sent | None = None
    ) -> None:
        await send_reply(self, reply, note=note, skip=skip, sent=sent)

    async def tell(self, message: str) -> None:
        with contextlib.suppress(discord.HTTPException):
            await self.delete()
        await self.follow(content=message, ephemeral=True)


class InteractionDelivery(Delivery):
    def __init__(self, interaction: discord.Interaction, *, ephemeral: bool = False) -> None:
        self.interaction = interaction
        self.target = ReplyTo.of(interaction, ephemeral=ephemeral)
        self.created_at = interaction.created_at

    async def acknowledge(self) -> None:
        """Defer ("thinking…") unless the command already answered (a file being read),
        and note the original response's id: a resumed job edits it by id."""
        response = None
        if not self.interaction.response.is_done():
            response = await self.interaction.response.defer(
                thinking=True, ephemeral=self.ephemeral
            )
        message_id = response.message_id if response is not None else None
        if message_id is None:
            with contextlib.suppress(discord.HTTPException):
                message_id = (await self.interaction.original_response()).id
        self.target.message_id = message_id

    async def edit(self, **kwargs: Any) -> None:
        await self.interaction.edit_original_response(**kwargs)

    async def follow(self, *, ephemeral: bool | None = None, **kwargs: Any) -> None:
        hidden = self.ephemeral if ephemeral is None else ephemeral
        await self.interaction.followup.send(**kwargs, ephemeral=hidden)

    async def delete(self) -> None:
        await self.interaction.delete_original_response()

    def channel(self) -> discord.abc.Messageable | None:
        channel = self.interaction.channel
        return channel if isinstance(channel, discord.abc.Messageable) else None

    def shown(self) -> None:
        self.interaction.extras[RESULT_SHOWN] = True  # an error after this must not delete it


class WebhookDelivery(Delivery):
    """An interaction's original response and followups, through its webhook (the
    interaction object itself is gone after a restart)."""

    def __init__(self, client: discord.Client, reply_to: ReplyTo) -> None:
        self.client = client
        self.target = reply_to
        self.created_at = datetime.fromtimestamp(reply_to.created_at, timezone.utc)
        # never acknowledged, or too little time left to wait for a result: the channel
        self.token_dead = (
            reply_to.message_id is None or reply_to.expires_at - time.time() < RESUME_MIN_LEFT_S
        )
        # what interaction.followup is: the application's webhook with the bot's state
        self.webhook = discord.Webhook.from_state(
            {"id": reply_to.application_id, "type": 3, "token": reply_to.token},  # type: ignore[typeddict-item]
            state=client._connection,
        )

    async def edit(self, **kwargs: Any) -> None:
        assert self.target.message_id is not None
        await self.webhook.edit_message(self.target.message_id, **kwargs)

    async def follow(self, *, ephemeral: bool | None = None, **kwargs: Any) -> None:
        hidden = self.ephemeral if ephemeral is None else ephemeral
        await self.webhook.send(**kwargs, ephemeral=hidden, wait=True)

    async def delete(self) -> None:
        if self.target.message_id is not None:
            await self.webhook.delete_message(self.target.message_id)

    def channel(self) -> discord.abc.Messageable | None:
        if self.target.channel_id is None:
            return None
        return self.client.get_partial_messageable(
            self.target.channel_id, guild_id=self.target.guild_id
        )


async def send_reply(
    delivery: Delivery,
    reply: Reply,
    *,
    note: str = "",
    skip: int = 0,
    sent: Sent | None = None,
) -> None:
    """Put ``reply`` in place of the deferred response (plus followups for long replies).

    ``note`` goes above the first message when it fits. ``skip`` messages were delivered
    before (a delivery cut short by a restart); ``sent(n)`` is awaited once the first
    ``n`` are. When the token has expired, the result goes to the channel instead.
    """
    limit = delivery.filesize_limit
    for message in reply.messages:
        too_big = [name for name, data in message.files if len(data) > limit]
        if too_big:
            raise UserError(
                f"The result ({too_big[0]}) is larger than this server's upload limit of "
                f"{byte_size(limit)}."
            )
    if note:
        first = reply.messages[0]
        content = f"{note}\n{first.content}" if first.content else note
        if len(content) <= MESSAGE_CHARS:
            first.content = content
    if not delivery.token_fresh:
        await send_to_channel(delivery, reply, skip=skip, sent=sent)
        return
    try:
        first, *rest = reply.messages
        # editing the original again (after a restart) shows the same reply: no duplicate
        await delivery.edit(**message_kwargs(first, edit=True))
        delivery.shown()
        if sent is not None:
            await sent(1)
        for number, message in enumerate(rest, start=2):
            if number <= skip:
                continue
            await delivery.follow(**message_kwargs(message))
            if sent is not None:
                await sent(number)
    except discord.HTTPException as exc:
        if exc.code != INVALID_WEBHOOK_TOKEN or delivery.ephemeral:
            raise
        await send_to_channel(delivery, reply, sent=sent)


async def send_to_channel(
    delivery: Delivery,
    reply: Reply,
    *,
    skip: int = 0,
    sent: Sent | None = None,
) -> None:
    """Post ``reply`` as channel messages that mention (and ping) only the requester.
    Where there is no channel to post to, or the bot may not, the result is dropped with
    a log line."""
    channel = delivery.channel()
    if channel is None or delivery.ephemeral:
        log.warning("result for user %s dropped: no channel to post to", delivery.user)
        return
    requester = discord.AllowedMentions(
        users=[discord.Object(delivery.user)], roles=False, everyone=False
    )
    try:
        if skip == 0:
            await channel.send(
                f"<@{delivery.user}>, your request took longer than Discord lets a reply "
                "wait, so here is its result:",
                allowed_mentions=requester,
            )
        for number, message in enumerate(reply.messages, start=1):
            if number <= skip:
                continue
            await channel.send(
                **message_kwargs(message), allowed_mentions=discord.AllowedMentions.none()
            )
            if sent is not None:
                await sent(number)
    except (discord.Forbidden, discord.NotFound) as exc:
        log.warning(
            "result for user %s dropped: cannot post in channel %s (%s)",
            delivery.user,
            getattr(channel, "id", None),
            exc.status,
        )
        return
    if skip == 0 and delivery.token_alive:  # the placeholder goes (not a partial result)
        with contextlib.suppress(discord.HTTPException):
            await delivery.delete()
