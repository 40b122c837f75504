"""The community showcase on Discord: sharing a result to the server's showcase channel,
votes, removal, the best posts, the weekly highlights and the gallery's link.

Posts, votes and files live in the store (``store.Showcase``); the server's showcase
channel and its weekly switch are /config settings (``bot.server_config``). Nobody is
ever pinged: authors are named with mentions that notify no one.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import discord
from aiohttp import web

from chat.cards import COLOUR
from chat.render.base import clip, escape, quote
from gallery import serve_gallery
from store import Post, Showcase, Store

from ..errors import UserError
from .buttons import post_view
from .reading import read_result, text_excerpt

if TYPE_CHECKING:
    from ..client import PipelineBot

log = logging.getLogger(__name__)

WEEK_S = 7 * 24 * 3600
PERIODS = {"week": WEEK_S, "month": 30 * 24 * 3600, "all": None}
KIND_TITLES = {"image": "🖼️ Image", "audio": "🔊 Speech", "text": "📖 Story"}
NO_PINGS = discord.AllowedMentions.none()
SHARING_OFF = (
    "Sharing is off in this server: a moderator can choose a showcase channel with "
    "/config showcase channel:."
)


class ShowcaseService:
    #: How often the weekly highlights are checked for (tests make it short).
    check_every_s = 300.0

    def __init__(self, bot: PipelineBot) -> None:
        self.bot = bot
        self._db: Showcase | None = None
        self._gallery: web.AppRunner | None = None
        self._weekly: asyncio.Task[None] | None = None
        #: Wall-clock time (tests move it to see a week pass).
        self.clock: Callable[[], float] = time.time

    @property
    def db(self) -> Showcase:
        if self._db is None:
            raise RuntimeError("the showcase is opened in setup_hook")
        return self._db

    async def start(self, store: Store) -> None:
        self._db = Showcase(store)
        host, port = self.bot.settings.gallery_host, self.bot.settings.gallery_port
        if port is not None:
            try:
                self._gallery = await serve_gallery(self.db, host, port)
                log.info("gallery served on %s:%d", host, port)
            except OSError as exc:  # the bot itself is still useful without the page
                log.error(
                    "the gallery cannot listen on %s:%d (%s): check GALLERY_HOST and "
                    "GALLERY_PORT; running without it",
                    host,
                    port,
                    exc.strerror or exc,
                )
        self._weekly = asyncio.create_task(self._weekly_loop(), name="showcase-weekly")

    async def close(self) -> None:
        if self._weekly is not None:
            self._weekly.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._weekly
        if self._gallery is not None:
            await self._gallery.cleanup()

    # -- sharing ------------------------------------------------------------------------

    async def share(self, interaction: discord.Interaction) -> None:
        """Repost the result the Share button sits on in the showcase channel, once."""
        guild = interaction.guild
        if guild is None or interaction.message is None:
            raise UserError("Results can be shared in servers only.")
        channel_id = self.bot.server_config.showcase_channel(guild.id)
        if channel_id is None:
            raise UserError(SHARING_OFF)
        maker = interaction.message.interaction_metadata
        if maker is None or maker.user.id != interaction.user.id:
            raise UserError("Only the person who made this result can share it.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        message = await self._current(interaction.message)
        shared = read_result(message)
        if shared is None:
            raise UserError("This message no longer holds a result to share.")
        post, new = await self.db.reserve(
            Post(
                str(guild.id), str(message.id), str(interaction.user.id),
                interaction.user.display_name, shared.kind, shared.prompt, message.jump_url,
                shared.details, shared.excerpt,
                shared.attachment.filename if shared.attachment else None,
            ),
            now=self.clock(),
        )  # fmt: skip
        if not new:
            await interaction.edit_original_response(content=already_shared(post, guild.id))
            return
        try:
            link = await self._post(post, shared.attachment, channel_id, interaction.user.id)
        except BaseException:
            await self.db.unreserve(post)
            raise
        await interaction.edit_original_response(content=f"✅ Shared to the showcase: {link}")

    async def _current(self, message: discord.Message) -> discord.Message:
        """The result message as it is now (deleted: a short answer)."""
        if message.flags.ephemeral:
            raise UserError("Only-you-can-see results can't be shared.")
        try:
            return await message.channel.fetch_message(message.id)
        except discord.NotFound:
            raise UserError("That result was deleted: there is nothing to share.") from None
        except discord.Forbidden:  # a channel the bot can't read: the click's copy will do
            return message

    async def _post(
        self, post: Post, attachment: discord.Attachment | None, channel_id: int, author: int
    ) -> str:
        files = []
        if attachment is not None:
            try:
                data = await attachment.read()
            except discord.HTTPException:  # NotFound too
                raise UserError("The result's file can't be read any more.") from None
            await self.db.save_file(post, data)
            if post.kind == "text" and not post.excerpt:
                post.excerpt = text_excerpt(data)
            files.append(discord.File(io.BytesIO(data), filename=attachment.filename))
        try:
            channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
            sent = await channel.send(  # type: ignore[union-attr]
                embed=post_embed(post, author),
                files=files,
                view=post_view(post),
                allowed_mentions=NO_PINGS,
            )
        except (discord.HTTPException, AttributeError):
            raise UserError(
                "I can't post in the showcase channel; a moderator can check my permissions "
                "there or choose another with /config showcase channel:."
            ) from None
        await self.db.posted(post, channel_id, sent.id)
        return sent.jump_url

    async def deleted(self, channel_id: int, message_id: int, guild_id: int | None) -> None:
        """A message was deleted: a showcase post deleted by hand leaves the gallery too."""
        if guild_id is None or self.bot.server_config.showcase_channel(guild_id) != channel_id:
            return
        post = await self.db.find_post(guild_id, message_id)
        if post is not None:
            await self.db.remove(post.id)

    # -- votes and removal --------------------------------------------------------------

    async def vote(self, interaction: discord.Interaction, post_id: int) -> None:
        voted = await self.db.vote(post_id, interaction.user.id)
        if voted is None:
            raise UserError("This post was removed from the showcase.")
        post, _ = voted
        await interaction.response.edit_message(view=post_view(post))

    async def remove(self, interaction: discord.Interaction, post_id: int) -> None:
        if not interaction.permissions.manage_messages:
            raise UserError("Only moderators (Manage Messages) can remove showcase posts.")
        post = await self.db.remove(post_id)
        if post is None:
            raise UserError("This post was removed already.")
        await interaction.response.send_message(
            "🗑️ Removed from the showcase and the gallery.", ephemeral=True
        )
        if interaction.message is not None:
            with contextlib.suppress(discord.HTTPException):
                await interaction.message.delete()

    # -- the best -----------------------------------------------------------------------

    async def top(self, guild_id: int, period: str, limit: int = 10) -> list[Post]:
        span = PERIODS[period]
        since = 0.0 if span is None else self.clock() - span
        return await self.db.top(guild_id, since=since, limit=limit)

    async def _weekly_loop(self) -> None:
        while True:
            await asyncio.sleep(self.check_every_s)
            try:
                await self.post_weekly()
            except Exception:
                log.exception("weekly showcase highlights failed")

    async def post_weekly(self) -> None:
        """Post the week's top three in each server that wants it and whose week is up."""
        now = self.clock()
        for guild_id, channel_id in self.bot.server_config.weekly_showcases():
            started = await self.db.weekly_at(guild_id)
            if started is None:
                await self.db.set_weekly_at(guild_id, now)
                continue
            if now - started < WEEK_S:
                continue
            await self.db.set_weekly_at(guild_id, now)  # once, whatever comes of the post
            best = await self.db.top(guild_id, since=started, limit=3)
            if not best:
                continue
            channel = self.bot.get_channel(channel_id)
            if channel is None:
                continue
            embed = top_embed("🏆 This week's highlights", best, guild_id)
            with contextlib.suppress(discord.HTTPException):
                await channel.send(embed=embed, allowed_mentions=NO_PINGS)  # type: ignore[union-attr]

    # -- the gallery --------------------------------------------------------------------

    def gallery_link(self, secret: str) -> str:
        base = self.bot.settings.gallery_url
        if not base:
            raise UserError("This bot has no gallery web page: its operator sets GALLERY_URL.")
        return f"{base.rstrip('/')}/g/{secret}"


def post_link(post: Post, guild_id: object) -> str:
    return f"https://discord.com/channels/{guild_id}/{post.channel_id}/{post.message_id}"


def already_shared(post: Post, guild_id: object) -> str:
    if post.removed_at is not None:
        return "This result was removed from the showcase by a moderator."
    if post.message_id is None:
        return "This result is being shared right now."
    return f"This result is in the showcase already: {post_link(post, guild_id)}"


def post_embed(post: Post, author: int) -> discord.Embed:
    lines = [f"By <@{author}>", quote(post.prompt, 600)]
    if post.excerpt:
        lines.append(clip(escape(post.excerpt), 1500))
    embed = discord.Embed(
        title=KIND_TITLES.get(post.kind, "Result"), description="\n".join(lines), colour=COLOUR
    )
    for name, value in list(post.details.items())[:10]:
        embed.add_field(name=clip(name, 256), value=clip(value, 1024) or "-")
    embed.add_field(name="Original", value=f"[Jump to the result]({post.jump_url})", inline=False)
    if post.kind == "image" and post.file_name:
        embed.set_image(url=f"attachment://{post.file_name}")
    embed.set_footer(text="Shared to the showcase · ⭐ to vote")
    return embed


def top_embed(title: str, posts: list[Post], guild_id: object) -> discord.Embed:
    lines = []
    for rank, post in enumerate(posts, 1):
        prompt = clip(escape(post.prompt.replace("\n", " ")), 80)
        lines.append(
            f"{rank}. ⭐ {post.votes} · [{prompt}]({post_link(post, guild_id)}) "
            f"by <@{post.author_id}>"
        )
    return discord.Embed(title=title, description="\n".join(lines) or "No votes yet.",
                         colour=COLOUR)  # fmt: skip
