"""End-to-end tests of the fake Discord with a tiny throwaway bot on the real discord.py client."""

from __future__ import annotations

import asyncio
import io

import discord
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

from tests.fakediscord import MODERATOR_PERMISSIONS, DiscordError, FakeDiscord, UploadedFile
from tests.fakediscord.limits import check_message_write

# The fake_discord fixture comes from tests.fakediscord.fixtures (see tests/conftest.py).

FRUITS = ["apple", "apricot", "banana", "cherry"]


class ToyBot(commands.Bot):
    """A bot with one command per thing the fake must handle; errors land in ``self.errors``."""

    def __init__(self) -> None:
        super().__init__(
            command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05
        )
        self.errors: list[Exception] = []
        self.proceed = asyncio.Event()  # lets a test decide when a command continues
        self.tree.error(self._on_tree_error)
        self._add_commands()

    async def _on_tree_error(self, interaction: discord.Interaction, error: Exception) -> None:
        self.errors.append(getattr(error, "original", error))

    def _add_commands(self) -> None:
        tree = self.tree
        bot = self

        @tree.command(description="Answers pong")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong")

        @tree.command(description="Defers, then edits the response")
        async def slow(interaction: discord.Interaction, text: str, times: int = 1) -> None:
            await interaction.response.defer(thinking=True)
            await asyncio.sleep(0.05)
            result = discord.File(io.BytesIO(text.encode()), "result.txt")
            await interaction.edit_original_response(
                content=f"done: {text * times}", attachments=[result]
            )

        @tree.command(description="Defers ephemerally, waits for the test, then edits")
        async def wait(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await bot.proceed.wait()
            await interaction.edit_original_response(content="finally")

        @tree.command(description="Waits for the test before the first response")
        async def hesitate(interaction: discord.Interaction) -> None:
            await bot.proceed.wait()
            await interaction.response.send_message("here I am")

        @tree.command(description="Sends a file, then a followup with two more")
        async def upload(interaction: discord.Interaction, size: int = 5) -> None:
            await interaction.response.send_message(
                "your file", file=discord.File(io.BytesIO(b"x" * size), "a.txt")
            )
            files = [
                discord.File(io.BytesIO(b"1"), "b.txt"),
                discord.File(io.BytesIO(b"22"), "c.txt"),
            ]
            await interaction.followup.send("more", files=files, ephemeral=True)

        @tree.command(description="Sends too many characters")
        async def shout(interaction: discord.Interaction, length: int) -> None:
            await interaction.response.send_message("A" * length)

        @tree.command(description="Embed with an out-of-range colour")
        async def badembed(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(
                embed=discord.Embed(title="hi", colour=0x1000000)
            )

        @tree.command(description="Reads an attached file")
        async def echo(interaction: discord.Interaction, file: discord.Attachment) -> None:
            data = await file.read()
            await interaction.response.send_message(
                f"{file.filename} ({file.size}): {data.decode()}"
            )

        @tree.command(description="Reports the context")
        async def whoami(interaction: discord.Interaction) -> None:
            channel = interaction.channel
            nsfw = channel.is_nsfw() if isinstance(channel, discord.TextChannel) else None
            await interaction.response.send_message(
                f"nsfw={nsfw} manage={interaction.permissions.manage_messages} "
                f"limit={interaction.filesize_limit} user={interaction.user.name}",
                ephemeral=True,
            )

        @tree.command(description="Posts in the channel and mentions everyone, safely")
        async def announce(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("posting", ephemeral=True)
            assert isinstance(interaction.channel, discord.TextChannel)
            message = await interaction.channel.send(
                "@everyone news", allowed_mentions=discord.AllowedMentions.none()
            )
            await message.edit(content="@everyone news (edited)")

        @tree.command(description="A vote button")
        async def vote(interaction: discord.Interaction) -> None:
            view = discord.ui.View()
            button: discord.ui.Button[discord.ui.View] = discord.ui.Button(
                label="Yes", custom_id="vote:yes"
            )

            async def on_click(click: discord.Interaction) -> None:
                await click.response.edit_message(content=f"{click.user.name} voted yes", view=None)

            button.callback = on_click
            view.add_item(button)
            await interaction.response.send_message("Vote?", view=view)

        @tree.command(description="A select menu")
        async def choose(interaction: discord.Interaction) -> None:
            view = discord.ui.View()
            select: discord.ui.Select[discord.ui.View] = discord.ui.Select(
                custom_id="pick", options=[discord.SelectOption(label=x) for x in "abc"]
            )

            async def on_select(picked: discord.Interaction) -> None:
                await picked.response.defer()  # deferred update (type 6)
                await picked.edit_original_response(content=f"chose {select.values}", view=None)

            select.callback = on_select
            view.add_item(select)
            await interaction.response.send_message("Choose", view=view, ephemeral=True)

        @tree.command(description="Pick a fruit")
        async def fruit(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.send_message(f"you picked {name}")

        @fruit.autocomplete("name")
        async def fruit_autocomplete(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=f, value=f) for f in FRUITS if f.startswith(current)]

        text = app_commands.Group(name="text", description="Text tools")

        @text.command(description="Upper-cases the text")
        async def upper(interaction: discord.Interaction, value: str) -> None:
            await interaction.response.send_message(value.upper())

        tree.add_command(text)

        @tree.context_menu(name="Word count")
        async def word_count(interaction: discord.Interaction, message: discord.Message) -> None:
            await interaction.response.send_message(
                f"{len(message.content.split())} words", ephemeral=True
            )

        @tree.context_menu(name="Greet")
        async def greet(interaction: discord.Interaction, member: discord.Member) -> None:
            await interaction.response.send_message(f"hello {member.mention}")


@pytest_asyncio.fixture
async def bot(fake_discord: FakeDiscord) -> ToyBot:
    """The toy bot, connected to the fake with its commands synced globally."""
    toy = ToyBot()
    await fake_discord.connect(toy, sync=True)
    return toy


async def test_startup_and_sync(fake_discord: FakeDiscord, bot: ToyBot) -> None:
    assert bot.user is not None and bot.user.id == fake_discord.bot_user.id
    assert bot.application_id == fake_discord.application_id
    guild = bot.get_guild(fake_discord.guild.id)
    assert guild is not None
    nsfw = guild.get_channel(fake_discord.nsfw_channel.id)
    assert isinstance(nsfw, discord.TextChannel) and nsfw.is_nsfw()
    assert {c["name"] for c in fake_discord.global_commands} >= {
        "ping",
        "slow",
        "Word count",
        "Greet",
    }
    assert any(
        r.method == "PUT" and r.route == "/applications/{application_id}/commands"
        for r in fake_discord.requests
    )


async def test_ping_responds(fake_discord: FakeDiscord, bot: ToyBot) -> None:
    inter = await fake_discord.invoke_slash("ping")
    message = await inter.wait_for_message()
    assert message.content == "pong"
    assert not inter.deferred and not inter.ephemeral
    assert inter.response is not None and inter.response.type == 4
    assert inter.response_time is not None and inter.response_time < 3
    assert message.writes[0].allowed_mentions is None
    callback = [r for r in fake_discord.requests if r.path.endswith("/callback")]
    assert [(r.query, r.status) for r in callback] == [({"with_response": "1"}, 200)]


async def test_defer_then_edit(fake_discord: FakeDiscord, bot: ToyBot) -> None:
    inter = await fake_discord.invoke_slash("slow", {"text": "ab", "times": 2})
    await inter.wait_for_response()
    assert inter.deferred
    message = await inter.wait_for_message()
    assert message.content == "done: abab"
    assert message.file("result.txt").data == b"ab"
    assert message.edits[0].files[0].filename == "result.txt"
    assert len(message.edits) == 1 and not message.loading


async def test_files_and_followups(fake_discord: FakeDiscord, bot: ToyBot) -> None:
    inter = await fake_discord.invoke_slash("upload")
    followups = await inter.wait_for_followups(1)
    assert inter.original is not None
    assert [f.filename for f in inter.original.files] == ["a.txt"]
    assert inter.original.file("a.txt").data == b"xxxxx"
    assert inter.original.attachments[0]["size"] == 5
    assert followups[0].content == "more" and followups[0].ephemeral
    assert [(f.filename, f.data) for f in followups[0].files] == [("b.txt", b"1"), ("c.txt", b"22")]
    assert [m.kind for m in inter.messages] == ["original", "followup"]


async def test_file_over_the_announced_limit_is_refused(
    fake_discord: FakeDiscord, bot: ToyBot
) -> None:
    inter = await fake_discord.invoke_slash("upload", {"size": 2048}, attachment_size_limit=1024)
    await fake_discord.wait_for(lambda: bot.errors)
    assert isinstance(bot.errors[0], discord.HTTPException) and bot.errors[0].status == 413
    assert bot.errors[0].code == 40005
    assert not inter.responded
    assert [r.status for r in fake_discord.take_rejections()] == [413]


async def test_content_over_2000_is_refused(fake_discord: FakeDiscord, bot: ToyBot) -> None:
    inter = await fake_discord.invoke_slash("shout", {"length": 2001})
    await fake_discord.wait_for(lambda: bot.errors)
    error = bot.errors[0]
    assert isinstance(error, discord.HTTPException) and error.status == 400 and error.code == 50035
    assert "2000 or fewer" in str(error)
    assert not inter.responded
    assert len(fake_discord.take_rejections()) == 1
    assert not fake_discord.violations  # a refused limit is not a schema violation

    ok = await fake_discord.invoke_slash("shout", {"length": 2000})
    assert len((await ok.wait_for_message()).content) == 2000


async def test_schema_violation_is_caught(fake_discord: FakeDiscord, bot: ToyBot) -> None:
    await fake_discord.invoke_slash("badembed")
    await fake_discord.wait_for(lambda: bot.errors)
    assert isinstance(bot.errors[0], discord.HTTPException) and bot.errors[0].status == 400
    violations = fake_discord.take_violations()
    assert len(violations) == 1 and "embeds/0/color" in violations[0]
    fake_discord.take_rejections()


async def test_attachment_option_is_readable(fake_discord: FakeDiscord, bot: ToyBot) -> None:
    inter = await fake_discord.invoke_slash(
        "echo", attachments={"file": ("notes.txt", b"hello world")}
    )
    message = await inter.wait_for_message()
    assert message.content == "notes.txt (11): hello world"


async def test_context_permissions_and_nsfw(fake_discord: FakeDiscord, bot: ToyBot) -> None:
    inter = await fake_discord.invoke_slash(
        "whoami", channel=fake_discord.nsfw_channel, attachment_size_limit=5000
    )
    message = await inter.wait_for_message()
    assert message.content == "nsfw=True manage=False limit=5000 user=alice"
    assert inter.ephemeral

    mod = await fake_discord.invoke_slash("whoami", user=fake_discord.moderator)
    assert (await mod.wait_for_message()).content.startswith("nsfw=False manage=True")

    carol = fake_discord.add_user("carol", permissions=MODERATOR_PERMISSIONS)
    other = await fake_discord.invoke_slash("whoami", user=carol)
    assert (await other.wait_for_message()).content.endswith("user=carol")


async def test_channel_messages_and_mentions(fake_discord: FakeDiscord, bot: ToyBot) -> None:
    inter = await fake_discord.invoke_slash("announce")
    await inter.wait_for_message()
    posted = await fake_discord.wait_for(
        lambda: [m for m in fake_discord.channel_messages(fake_discord.channel) if m.edits]
    )
    assert posted[0].kind == "channel"
    assert posted[0].content == "@everyone news (edited)"
    assert not posted[0].mentions.everyone
    allowed = posted[0].writes[0].allowed_mentions
    assert allowed is not None and allowed["parse"] == []


async def test_button_click(fake_discord: FakeDiscord, bot: ToyBot) -> None:
    inter = await fake_discord.invoke_slash("vote")
    message = await inter.wait_for_message()
    assert message.custom_ids == ["vote:yes"]
    click = await fake_discord.click(message, "vote:yes", user=fake_discord.moderator)
    await click.wait_for_response()
    assert click.response is not None and click.response.type == 7
    assert message.content == "mod voted yes"
    assert message.components == []


async def test_select_with_deferred_update(fake_discord: FakeDiscord, bot: ToyBot) -> None:
    inter = await fake_discord.invoke_slash("choose")
    message = await inter.wait_for_message()
    assert message.ephemeral and message.component("pick")["type"] == 3
    picked = await fake_discord.click(message, "pick", values=["b"])
    await picked.wait_until(lambda i: i.original is not None and i.original.edits)
    assert picked.response is not None and picked.response.type == 6
    assert picked.original is message and message.content == "chose ['b']"


async def test_context_menus(fake_discord: FakeDiscord, bot: ToyBot) -> None:
    posted = await fake_discord.post_message("one two three", author=fake_discord.moderator)
    inter = await fake_discord.invoke_message_command("Word count", posted)
    assert (await inter.wait_for_message()).content == "3 words"
    assert inter.ephemeral

    greet = await fake_discord.invoke_user_command("Greet", fake_discord.moderator)
    message = await greet.wait_for_message()
    assert message.content == f"hello {fake_discord.moderator.mention}"
    assert message.mentions.users == (fake_discord.moderator.id,)  # users are pinged by default


async def test_autocomplete(fake_discord: FakeDiscord, bot: ToyBot) -> None:
    choices = await fake_discord.invoke_autocomplete("fruit", {"name": "ap"}, focused="name")
    assert [c["value"] for c in choices] == ["apple", "apricot"]


async def test_three_second_deadline(fake_discord: FakeDiscord, bot: ToyBot) -> None:
    inter = await fake_discord.invoke_slash("hesitate")
    fake_discord.clock.advance(3.5)  # as if the bot had been busy for 3.5 s
    bot.proceed.set()
    await fake_discord.wait_for(lambda: bot.errors)
    assert isinstance(bot.errors[0], discord.NotFound) and bot.errors[0].code == 10062
    assert not inter.responded and len(inter.late_callbacks) == 1
    assert [r.status for r in fake_discord.take_rejections()] == [404]


async def test_deadline_is_configurable(fake_discord: FakeDiscord, bot: ToyBot) -> None:
    fake_discord.response_deadline = 0.1
    inter = await fake_discord.invoke_slash("hesitate")
    await asyncio.sleep(0.2)  # real time this time
    bot.proceed.set()
    await fake_discord.wait_for(lambda: bot.errors)
    assert isinstance(bot.errors[0], discord.NotFound) and inter.late_callbacks
    fake_discord.take_rejections()


async def test_token_expires_after_15_minutes(fake_discord: FakeDiscord, bot: ToyBot) -> None:
    inter = await fake_discord.invoke_slash("wait")
    await inter.wait_for_response()
    assert inter.deferred and inter.ephemeral
    fake_discord.clock.advance(15 * 60 + 1)
    bot.proceed.set()
    await fake_discord.wait_for(lambda: bot.errors)
    error = bot.errors[0]
    assert isinstance(error, discord.HTTPException) and error.status == 401 and error.code == 50027
    assert inter.original is not None and inter.original.loading  # the edit never landed
    fake_discord.take_rejections()


async def test_edit_within_15_minutes_succeeds(fake_discord: FakeDiscord, bot: ToyBot) -> None:
    inter = await fake_discord.invoke_slash("wait")
    await inter.wait_for_response()
    fake_discord.clock.advance(14 * 60)
    bot.proceed.set()
    assert (await inter.wait_for_message()).content == "finally"


async def test_second_guild_and_unknown_route(fake_discord: FakeDiscord) -> None:
    other = fake_discord.add_guild("Second", channels=("lobby", "random"))
    bot = ToyBot()
    await fake_discord.connect(bot, sync=True)
    assert bot.get_guild(other.id) is not None
    inter = await fake_discord.invoke_slash("ping", guild=other, channel=other.channel("random"))
    assert (await inter.wait_for_message()).channel_id == other.channel("random").id

    with pytest.raises(discord.NotFound):
        await bot.http.request(
            discord.http.Route("GET", "/guilds/{guild_id}/bans", guild_id=other.id)
        )
    assert [r.path for r in fake_discord.take_rejections()] == [f"/guilds/{other.id}/bans"]


async def test_invoking_unsynced_or_bad_options_fails_in_the_test(
    fake_discord: FakeDiscord, bot: ToyBot
) -> None:
    with pytest.raises(LookupError):
        await fake_discord.invoke_slash("nope")
    with pytest.raises(ValueError, match="requires"):
        await fake_discord.invoke_slash("slow")
    with pytest.raises(ValueError, match="no option"):
        await fake_discord.invoke_slash("ping", {"bogus": 1})


async def test_subcommand_and_dm(fake_discord: FakeDiscord, bot: ToyBot) -> None:
    inter = await fake_discord.invoke_slash("text upper", {"value": "abc"})
    assert (await inter.wait_for_message()).content == "ABC"
    options = inter.payload["data"]["options"]
    assert options == [
        {"type": 1, "name": "upper", "options": [{"type": 3, "name": "value", "value": "abc"}]}
    ]

    dm = await fake_discord.invoke_slash("ping", dm=True)
    assert (await dm.wait_for_message()).content == "pong"
    assert "guild_id" not in dm.payload and dm.payload["channel"]["type"] == 1


def test_embed_and_file_limits() -> None:
    def refused(body: dict, files: int = 0, size: int = 1) -> DiscordError:
        uploads = [UploadedFile(f"{i}.bin", b"x" * size, index=i) for i in range(files)]
        with pytest.raises(DiscordError) as info:
            check_message_write(body, uploads, size_limit=100)
        return info.value

    fields = [{"name": "n", "value": "v"}] * 26
    assert refused({"embeds": [{"fields": fields}]}).errors == {
        "embeds": {"0": {"fields": {"_errors": [
            {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 25 or fewer in length."}
        ]}}}
    }  # fmt: skip
    assert "title" in refused({"embeds": [{"title": "t" * 257}]}).errors["embeds"]["0"]
    assert "description" in refused({"embeds": [{"description": "d" * 4097}]}).errors["embeds"]["0"]
    total = refused({"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]})
    assert total.errors["embeds"]["_errors"][0]["code"] == "MAX_EMBED_SIZE_EXCEEDED"
    assert refused({}, files=11).errors == {
        "attachments": {"_errors": [
            {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 10 or fewer in length."}
        ]}
    }  # fmt: skip
    too_big = refused({}, files=1, size=101)
    assert (too_big.status, too_big.code) == (413, 40005)
    check_message_write({"content": "x" * 2000, "embeds": [{"fields": fields[:25]}]}, [], 100)
