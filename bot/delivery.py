"""Where a job's reply goes, and sending it there.

A fresh job replies through its ``discord.Interaction``; a job resumed after a restart
through the same interaction's webhook, rebuilt from the journal (``ReplyTo``). Both are
a ``Delivery``, so the one ``send_reply`` serves both, with the same fallback: once the
token has expired, the result goes to the channel and mentions only the requester.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import discord

from chat.cards import Reply
from chat.render.base import MESSAGE_CHARS, byte_size

from .errors import RESULT_SHOWN, UserError
from .render import message_kwargs

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

#: How long Discord keeps an interaction token valid for edits and followups.
TOKEN_LIFETIME = timedelta(minutes=15)
#: Past this age a result goes to the channel instead.
TOKEN_SAFE_AGE = timedelta(minutes=14, seconds=30)
#: Discord's error code for an expired or unknown interaction token.
INVALID_WEBHOOK_TOKEN = 50027
#: What a user sees of a job that was picked up again after a restart.
RESUMED = "🔁 Resumed after a restart."


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
    #: How the job's wait is named ("image", "summary"...) and the renderer's arguments.
    what: str = "request"
    render: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls, interaction: discord.Interaction, *, ephemeral: bool, what: str, render: dict[str, Any]
    ) -> ReplyTo:
        return cls(
            application_id=interaction.application_id,
            token=interaction.token,
            user_id=interaction.user.id,
            channel_id=interaction.channel_id,
            guild_id=interaction.guild_id,
            created_at=interaction.created_at.timestamp(),
            filesize_limit=interaction.filesize_limit,
            ephemeral=ephemeral,
            what=what,
            render=render,
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReplyTo:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def expires_at(self) -> float:
        return self.created_at + TOKEN_LIFETIME.total_seconds()


class Delivery:
    """The original response of one interaction, its followups, and its channel."""

    user_id: int
    ephemeral: bool
    filesize_limit: int
    created_at: datetime
    #: Known to be dead (an old job): go straight to the channel.
    token_dead = False

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


class InteractionDelivery(Delivery):
    def __init__(self, interaction: discord.Interaction, *, ephemeral: bool = False) -> None:
        self.interaction = interaction
        self.user_id = interaction.user.id
        self.ephemeral = ephemeral
        self.filesize_limit = interaction.filesize_limit
        self.created_at = interaction.created_at

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
        self.reply_to = reply_to
        self.user_id = reply_to.user_id
        self.ephemeral = reply_to.ephemeral
        self.filesize_limit = reply_to.filesize_limit
        self.created_at = datetime.fromtimestamp(reply_to.created_at, timezone.utc)
        self.token_dead = reply_to.message_id is None  # never acknowledged: the token died
        # what interaction.followup is: the application's webhook with the bot's state
        self.webhook = discord.Webhook.from_state(
            {"id": reply_to.application_id, "type": 3, "token": reply_to.token},  # type: ignore[typeddict-item]
            state=client._connection,
        )

    async def edit(self, **kwargs: Any) -> None:
        assert self.reply_to.message_id is not None
        await self.webhook.edit_message(self.reply_to.message_id, **kwargs)

    async def follow(self, *, ephemeral: bool | None = None, **kwargs: Any) -> None:
        hidden = self.ephemeral if ephemeral is None else ephemeral
        await self.webhook.send(**kwargs, ephemeral=hidden, wait=True)

    async def delete(self) -> None:
        if self.reply_to.message_id is not None:
            await self.webhook.delete_message(self.reply_to.message_id)

    def channel(self) -> discord.abc.Messageable | None:
        if self.reply_to.channel_id is None:
            return None
        return self.client.get_partial_messageable(
            self.reply_to.channel_id, guild_id=self.reply_to.guild_id
        )


async def send_reply(
    delivery: Delivery,
    reply: Reply,
    *,
    note: str = "",
    skip: int = 0,
    sent: Callable[[int], Awaitable[None]] | None = None,
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
    sent: Callable[[int], Awaitable[None]] | None = None,
) -> None:
    """Post ``reply`` as channel messages that mention (and ping) only the requester.
    Where there is no channel to post to, or the bot may not, the result is dropped with
    a log line."""
    channel = delivery.channel()
    if channel is None or delivery.ephemeral:
        log.warning("result for user %s dropped: no channel to post to", delivery.user_id)
        return
    requester = discord.AllowedMentions(
        users=[discord.Object(delivery.user_id)], roles=False, everyone=False
    )
    try:
        if skip == 0:
            await channel.send(
                f"<@{delivery.user_id}>, your request took longer than Discord lets a reply "
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
            delivery.user_id,
            getattr(channel, "id", None),
            exc.status,
        )
        return
    if skip == 0 and delivery.token_alive:  # the placeholder goes (not a partial result)
        with contextlib.suppress(discord.HTTPException):
            await delivery.delete()
