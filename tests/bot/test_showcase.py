"""The community showcase end to end through the fake Discord: Share under /imagine,
/speak and /generate results, one post per result, ⭐ votes (one per member, a second
click takes it back, kept over a restart), Remove for moderators, /showcase top, the
weekly highlights (the fake's clock moved a week on), the gallery link, and leaving a
server."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from bot.client import PipelineBot
from bot.render import message_kwargs
from bot.showcase import with_share
from bot.showcase.service import ShowcaseService
from chat.cards import Card, Reply
from store import Showcase
from tests.bot.conftest import BotFactory, final_message
from tests.bot.test_config import admin, configure
from tests.bot.test_imagine import imagine
from tests.fakediscord import FakeChannel, FakeDiscord, InteractionRecord, MessageRecord

SHARE = "showcase:share"


def showcase_posts(fake: FakeDiscord, channel: FakeChannel) -> list[MessageRecord]:
    return [m for m in fake.channel_messages(channel) if not m.deleted and m.embeds]


async def set_up(fake: FakeDiscord, start_bot: BotFactory) -> tuple[FakeChannel, PipelineBot]:
    """A bot whose server shares to #showcase."""
    channel = fake.guild.add_channel("showcase")
    bot = await start_bot()
    done = await configure(fake, "showcase", {"channel": channel}, admin(fake))
    assert done.original.content.startswith("✅"), done.original.content
    return channel, bot


async def answer(inter: InteractionRecord) -> str:
    """The ephemeral text a click finally got."""

    def text() -> str | None:
        messages = [inter.original, *inter.followups] if inter.original else inter.followups
        said = [m.content for m in messages if m.ephemeral and m.content and not m.loading]
        return said[-1] if said else None

    return await inter.wait_until(lambda i: text(), 10)


async def share(fake: FakeDiscord, result: MessageRecord, user: Any = None) -> str:
    return await answer(await fake.click(result, SHARE, user=user or fake.user))


async def vote(fake: FakeDiscord, post: MessageRecord, user: Any) -> InteractionRecord:
    [vote_id] = [c for c in post.custom_ids if c.startswith("showcase:vote:")]
    inter = await fake.click(post, vote_id, user=user)
    await inter.wait_for_response()
    return inter


def votes_shown(post: MessageRecord) -> str:
    [vote_id] = [c for c in post.custom_ids if c.startswith("showcase:vote:")]
    return post.component(vote_id)["label"]


async def test_share_once_vote_unvote_restart_top_and_remove(
    fake_discord: FakeDiscord, start_bot: BotFactory, tmp_path: Path
) -> None:
    fake = fake_discord
    channel, bot = await set_up(fake, start_bot)
    result = await final_message(await imagine(fake, "a red *fox* @everyone"))
    assert SHARE in result.custom_ids and "imagine:again" in result.custom_ids

    other = fake.add_user("bob")
    assert "Only the person who made" in await share(fake, result, other)
    assert showcase_posts(fake, channel) == []

    said = await share(fake, result)
    assert said.startswith("✅ Shared to the showcase")
    [post] = showcase_posts(fake, channel)
    embed = post.embeds[0]
    assert f"<@{fake.user.id}>" in embed["description"]
    assert "a red *fox* @everyone" in embed["description"]
    assert post.writes[0].allowed_mentions == {"parse": []}  # the author is not pinged
    assert post.mentions.users == () and not post.mentions.everyone
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert {"Seed", "Steps", "Size", "Model"} <= set(fields)
    assert f"/{result.channel_id}/{result.id}" in fields["Original"]  # the jump link
    (original,) = result.files
    assert post.file(original.filename).data == original.data
    assert embed["image"]["url"] == f"attachment://{original.filename}"
    assert votes_shown(post) == "0"

    # a second share: a short answer, no second post
    again = await share(fake, result)
    assert "in the showcase already" in again and str(post.id) in again
    assert len(showcase_posts(fake, channel)) == 1

    # votes: one per member, a second click takes it back
    carol = fake.add_user("carol")
    await vote(fake, post, other)
    assert votes_shown(post) == "1"
    await vote(fake, post, carol)
    assert votes_shown(post) == "2"
    await vote(fake, post, other)
    assert votes_shown(post) == "1"
    for _ in range(3):  # a flood of clicks by one member counts once at most
        await vote(fake, post, fake.user)
    assert votes_shown(post) == "2"

    # a restart keeps the votes: carol's click now takes hers back
    await bot.close()
    await start_bot()
    await vote(fake, post, carol)
    assert votes_shown(post) == "1"

    top = await fake.invoke_slash("showcase top", {"period": "all"})
    shown = (await top.wait_for_message()).embeds[0]["description"]
    assert shown.startswith("1. ⭐ 1 ·") and f"/{channel.id}/{post.id}" in shown
    assert top.original.mentions.users == ()

    # Remove: moderators only; the post and its file go
    files = list((tmp_path / "data" / "showcase").rglob("*.png"))
    assert len(files) == 1
    assert "Only moderators" in await answer(await fake.click(post, remove_id(post), user=other))
    assert not post.deleted
    removed = await answer(await fake.click(post, remove_id(post), user=fake.moderator))
    assert removed.startswith("🗑️ Removed")
    await fake.wait_for(lambda: post.deleted)
    assert not files[0].exists()
    # a vote on (or a share of) a removed post: short answers
    assert "removed" in await answer(await fake.click(post, vote_id(post), user=carol))
    assert "removed from the showcase by a moderator" in await share(fake, result)
    empty = await fake.invoke_slash("showcase top", {"period": "all"})
    assert (await empty.wait_for_message()).embeds[0]["description"] == "No votes yet."


def remove_id(post: MessageRecord) -> str:
    return next(c for c in post.custom_ids if c.startswith("showcase:remove:"))


def vote_id(post: MessageRecord) -> str:
    return next(c for c in post.custom_ids if c.startswith("showcase:vote:"))


async def test_speech_and_text_are_shared_with_their_file_and_excerpt(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    fake = fake_discord
    channel, bot = await set_up(fake, start_bot)
    speech = await final_message(await fake.invoke_slash("speak", {"text": "hello there"}))
    assert (await share(fake, speech)).startswith("✅")
    text = await final_message(
        await fake.invoke_slash("generate", {"prompt": "Once upon", "max_tokens": 5})
    )
    assert SHARE in text.custom_ids and "generate:continue" in text.custom_ids
    assert (await share(fake, text)).startswith("✅")

    audio_post, text_post = showcase_posts(fake, channel)
    assert audio_post.embeds[0]["title"] == "🔊 Speech"
    assert "hello there" in audio_post.embeds[0]["description"]
    assert audio_post.files[0].data == speech.files[0].data  # the WAV itself
    assert text_post.embeds[0]["title"] == "📖 Story"
    assert "Once upon" in text_post.embeds[0]["description"]
    assert not text_post.files

    # a moderator deletes a post by hand: it leaves the gallery too
    guild = fake.guild.id
    assert list(bot.showcase.db.data_dir.rglob("*.wav"))
    assert await bot.showcase.db.find_post(guild, audio_post.id) is not None
    event = {"id": str(audio_post.id), "channel_id": str(channel.id), "guild_id": str(guild)}
    await fake.dispatch("MESSAGE_DELETE", event)
    await fake.wait_for(lambda: not list(bot.showcase.db.data_dir.rglob("*.wav")))
    assert await bot.showcase.db.find_post(guild, audio_post.id) is None
    assert [p.kind for p in (await bot.showcase.db.page(guild))[0]] == ["text"]


async def test_bad_clicks_get_short_answers(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    fake = fake_discord
    channel = fake.guild.add_channel("showcase")
    await start_bot()
    result = await final_message(await imagine(fake))
    assert "Sharing is off" in await share(fake, result)  # no showcase channel yet
    for user in (fake.user, fake.moderator):  # Manage Messages is not Manage Server
        refused = await configure(fake, "showcase", {"channel": channel}, user)
        assert refused.original.content.startswith("🔒")
    assert "Sharing is off" in await share(fake, result)

    boss = admin(fake)
    await configure(fake, "showcase", {"channel": channel}, boss)
    shown = (await configure(fake, "show", {}, boss)).original.embeds[0]["fields"]
    assert {"name": "Showcase", "value": f"<#{channel.id}>", "inline": False} in shown
    result.deleted = True  # the result was deleted before the click reached the bot
    assert "deleted" in await share(fake, result)
    assert showcase_posts(fake, channel) == []
    [gone] = fake.take_rejections()  # the bot looked the result up: Discord said 404
    assert gone.status == 404

    done = await configure(fake, "showcase", {"off": True}, boss)
    assert "Sharing: off" in done.original.content
    fresh = await final_message(await imagine(fake, "another"))
    assert "Sharing is off" in await share(fake, fresh)


async def test_weekly_highlights_name_the_top_three_once_a_week(
    fake_discord: FakeDiscord, start_bot: BotFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_discord
    monkeypatch.setattr(ShowcaseService, "check_every_s", 0.05)
    channel = fake.guild.add_channel("showcase")
    bot = await start_bot(cooldown_rate=10)
    bot.showcase.clock = fake.clock.wall
    await configure(fake, "showcase", {"channel": channel, "weekly": True}, admin(fake))

    posts = []
    for n in range(4):
        result = await final_message(await imagine(fake, f"picture {n}", options={"seed": n}))
        await share(fake, result)
        posts.append(showcase_posts(fake, channel)[-1])
    voters = [fake.add_user(f"voter{n}") for n in range(3)]
    for post, count in zip(posts, (1, 3, 0, 2), strict=True):
        for voter in voters[:count]:
            await vote(fake, post, voter)

    await asyncio.sleep(0.3)  # the week is not over: nothing yet
    assert len(showcase_posts(fake, channel)) == 4

    fake.clock.advance(7 * 24 * 3600 + 1)
    highlights = await fake.wait_for(
        lambda: next((m for m in showcase_posts(fake, channel) if is_highlights(m)), None)
    )
    lines = highlights.embeds[0]["description"].splitlines()
    assert [line.split(" · ")[0] for line in lines] == ["1. ⭐ 3", "2. ⭐ 2", "3. ⭐ 1"]
    assert f"/{posts[1].id})" in lines[0] and "picture 1" in lines[0]
    assert highlights.writes[0].allowed_mentions == {"parse": []}
    await asyncio.sleep(0.3)  # once a week, not once a check
    assert len(showcase_posts(fake, channel)) == 5


async def test_the_gallery_link_rotates_and_leaving_the_server_deletes_the_showcase(
    fake_discord: FakeDiscord, start_bot: BotFactory, tmp_path: Path
) -> None:
    fake = fake_discord
    channel = fake.guild.add_channel("showcase")
    port = free_port()
    bot = await start_bot(gallery_url="https://gallery.example/", gallery_port=port)
    boss = admin(fake)
    off = await fake.invoke_slash("showcase gallery", {}, user=boss)
    assert "gallery is off" in (await off.wait_for_message()).content
    await configure(fake, "showcase", {"channel": channel, "gallery": True}, boss)

    refused = await fake.invoke_slash("showcase gallery", {}, user=fake.moderator)
    assert (await refused.wait_for_message()).content.startswith("🔒")
    told = await fake.invoke_slash("showcase gallery", {}, user=boss)
    first = link_in((await told.wait_for_message()).content)
    assert told.ephemeral and first.startswith("https://gallery.example/g/")
    rotated = await fake.invoke_slash("showcase gallery", {"rotate": True}, user=boss)
    second = link_in((await rotated.wait_for_message()).content)
    assert second != first
    db = Showcase(bot.store)
    assert await db.server_for(first.rsplit("/", 1)[1]) is None
    assert await db.server_for(second.rsplit("/", 1)[1]) == str(fake.guild.id)

    await share(fake, await final_message(await imagine(fake, "a fox by the sea")))
    assert list((tmp_path / "data" / "showcase").rglob("*.png"))
    # the bot serves the gallery itself (GALLERY_PORT); the link works, the old one not
    page = second.replace("https://gallery.example", f"http://127.0.0.1:{port}")
    async with aiohttp.ClientSession() as http:
        async with http.get(page) as response:
            assert response.status == 200 and "a fox by the sea" in await response.text()
        async with http.get(page.replace(second.rsplit("/", 1)[1], first.rsplit("/", 1)[1])) as old:
            assert old.status == 404
    await fake.dispatch("GUILD_DELETE", {"id": str(fake.guild.id)})
    await fake.wait_for(lambda: not list((tmp_path / "data" / "showcase").rglob("*")))
    assert await db.page(fake.guild.id) == ([], 0)
    assert await db.server_for(second.rsplit("/", 1)[1]) is None
    assert bot.server_config.showcase_channel(fake.guild.id) is None
    async with aiohttp.ClientSession() as http, http.get(page) as response:
        assert response.status == 404


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_story_export_gets_share_through_with_share(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    """The /story export (another cog) adds Share with ``with_share``; a stand-in command
    posts an export as it would: a title embed and the story as a text file."""
    fake = fake_discord
    channel, bot = await set_up(fake, start_bot)
    story = "Once upon a time a tiny model wrote a story.\n\nThe end."

    @app_commands.command(name="export")
    async def export(interaction: discord.Interaction) -> None:
        title = Card(title="📖 The tiny model's story")
        reply = Reply.one(cards=[title], files=[("story.txt", story.encode())])
        [message] = with_share(reply).messages
        await interaction.response.send_message(**message_kwargs(message))

    bot.tree.add_command(export)
    await bot.sync_commands()
    exported = await (await fake.invoke_slash("export")).wait_for_message()
    assert (await share(fake, exported)).startswith("✅")
    [post] = showcase_posts(fake, channel)
    assert "The tiny model's story" in post.embeds[0]["description"]
    assert "a tiny model wrote a story" in post.embeds[0]["description"]  # from the file
    assert post.file("story.txt").data == story.encode()
    [shown], _ = await bot.showcase.db.page(fake.guild.id)
    assert shown.kind == "text" and shown.excerpt == story


def is_highlights(message: MessageRecord) -> bool:
    return "highlights" in message.embeds[0].get("title", "")


def link_in(content: str) -> str:
    return content.split("<", 1)[1].split(">", 1)[0]
