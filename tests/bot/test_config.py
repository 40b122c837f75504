"""/config end to end: a server's moderators set its rules, within the operator's;
everyone else's commands, menus and buttons follow them; the rules survive restarts."""

from __future__ import annotations

from typing import Any

import discord

from tests.bot.conftest import BotFactory, final_message
from tests.bot.test_imagine import imagine
from tests.fakediscord import MEMBER_PERMISSIONS, FakeDiscord, FakeUser, InteractionRecord

MANAGE_GUILD = discord.Permissions(manage_guild=True).value


def admin(fake: FakeDiscord) -> FakeUser:
    return fake.add_user("admin", permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)


async def configure(
    fake: FakeDiscord, sub: str, options: dict[str, Any], user: FakeUser
) -> InteractionRecord:
    """``/config sub ...`` by ``user``; returns it once answered (always ephemerally)."""
    inter = await fake.invoke_slash(f"config {sub}", options, user=user)
    await inter.wait_for_response()
    assert inter.ephemeral
    return inter


async def refused(inter: InteractionRecord) -> str:
    """The short ephemeral refusal ``inter`` got, before anything ran."""
    await inter.wait_for_response()
    assert inter.ephemeral and not inter.deferred
    content = inter.original.content
    assert "\n" not in content and len(content) < 120
    return content


async def test_only_server_managers_may_see_or_change_the_rules(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    [synced] = [
        c for c in fake_discord.guild_commands[fake_discord.guild.id] if c["name"] == "config"
    ]
    assert int(synced["default_member_permissions"]) == MANAGE_GUILD  # hidden from others
    for user in (fake_discord.user, fake_discord.moderator):  # manage messages is not enough
        change = await configure(
            fake_discord, "command", {"name": "sentiment", "state": "off"}, user
        )
        assert (
            change.original.content.startswith("🔒") and "Manage Server" in change.original.content
        )
        show = await configure(fake_discord, "show", {}, user)
        assert show.original.content.startswith("🔒") and not show.original.embeds
    still_on = await fake_discord.invoke_slash("sentiment", {"text": "fine"})
    assert (await final_message(still_on)).embeds


async def test_a_disabled_command_its_menu_and_buttons_get_a_short_refusal(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    boss = admin(fake_discord)
    done = await configure(fake_discord, "command", {"name": "/sentiment", "state": "off"}, boss)
    assert done.original.content == "✅ /sentiment in this server: off."

    content = await refused(await fake_discord.invoke_slash("sentiment", {"text": "hi"}))
    assert content == "🔒 /sentiment is turned off here by this server's moderators."
    posted = await fake_discord.post_message("What a lovely day")
    content = await refused(await fake_discord.invoke_message_command("Sentiment", posted))
    assert "/sentiment is turned off" in content
    other = await fake_discord.invoke_slash("ner", {"text": "Ada Lovelace lived in London."})
    assert (await final_message(other)).embeds  # other commands are untouched

    # a button of a command turned off: /generate's Continue
    story = await fake_discord.invoke_slash("generate", {"prompt": "Once", "max_tokens": 2})
    message = await final_message(story)
    await configure(fake_discord, "command", {"name": "generate", "state": "off"}, boss)
    click = await fake_discord.click(message, "generate:continue")
    await click.wait_until(lambda i: i.followups or (i.original is not message), 10)
    await click.wait_for_response()
    texts = [m.content for m in click.followups] + [click.original.content]
    assert any("/generate is turned off" in t for t in texts)


async def test_channel_rules_win_over_the_servers(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    boss = admin(fake_discord)
    general, nsfw = fake_discord.channel, fake_discord.nsfw_channel
    await configure(fake_discord, "command", {"name": "sentiment", "state": "off"}, boss)
    done = await configure(
        fake_discord, "command", {"name": "sentiment", "state": "on", "channel": nsfw}, boss
    )
    assert done.original.content == f"✅ /sentiment in <#{nsfw.id}>: on."

    await refused(await fake_discord.invoke_slash("sentiment", {"text": "a"}, channel=general))
    there = await fake_discord.invoke_slash("sentiment", {"text": "b"}, channel=nsfw)
    assert (await final_message(there)).embeds

    # the server's rule back to default, one channel off
    await configure(fake_discord, "command", {"name": "sentiment", "state": "default"}, boss)
    await configure(
        fake_discord, "command", {"name": "sentiment", "state": "off", "channel": general}, boss
    )
    await refused(await fake_discord.invoke_slash("sentiment", {"text": "c"}, channel=general))
    there = await fake_discord.invoke_slash("sentiment", {"text": "d"}, channel=nsfw)
    assert (await final_message(there)).embeds


async def test_the_rules_survive_a_restart_and_show_lists_them(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    bot = await start_bot()
    boss = admin(fake_discord)
    general = fake_discord.channel
    await configure(fake_discord, "command", {"name": "imagine", "state": "off"}, boss)
    await configure(
        fake_discord, "command", {"name": "qa", "state": "off", "channel": general}, boss
    )
    await configure(fake_discord, "cooldown", {"uses": 2, "per_seconds": 60}, boss)
    await configure(fake_discord, "language", {"language": "German"}, boss)
    await bot.close()

    await start_bot()
    await refused(await fake_discord.invoke_slash("imagine", {"prompt": "a fox"}))
    show = await configure(fake_discord, "show", {}, boss)
    fields = {f["name"]: f["value"] for f in show.original.embeds[0]["fields"]}
    assert "Off everywhere: /imagine" in fields["Commands"]
    assert f"<#{general.id}>: /qa off" in fields["Commands"]
    assert "every command: 2 uses per 60 s" in fields["Cooldowns"]
    assert "the bot's: 3 uses per 30 s" in fields["Cooldowns"]
    assert fields["Language"] == "de (German)"
    assert fields["Unfiltered images"].startswith("age-restricted")


async def test_cooldowns_can_only_be_stricter_than_the_operators(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()  # the operator's: 3 per 30 s
    boss = admin(fake_discord)
    for options in ({"uses": 5, "per_seconds": 60}, {"uses": 1, "per_seconds": 10}):
        looser = await configure(fake_discord, "cooldown", options, boss)
        assert "only be stricter than the bot's" in looser.original.content
    half = await configure(fake_discord, "cooldown", {"uses": 1}, boss)
    assert "both uses and per_seconds" in half.original.content

    done = await configure(
        fake_discord, "cooldown", {"uses": 1, "per_seconds": 60, "command": "sentiment"}, boss
    )
    assert done.original.content == "✅ /sentiment: 1 uses per 60 s per user."
    first = await fake_discord.invoke_slash("sentiment", {"text": "one"})
    assert (await final_message(first)).embeds
    content = await refused(await fake_discord.invoke_slash("sentiment", {"text": "two"}))
    assert content.startswith("🧊 Easy there!")
    other = await fake_discord.invoke_slash("ner", {"text": "Ada Lovelace"})  # not limited
    assert (await final_message(other)).embeds

    await configure(fake_discord, "cooldown", {"command": "sentiment"}, boss)  # back
    again = await fake_discord.invoke_slash("sentiment", {"text": "three"})
    assert (await final_message(again)).embeds


async def test_the_image_policy_can_only_be_tightened(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()  # the operator's IMAGINE_NSFW_POLICY: age-restricted
    boss = admin(fake_discord)
    choices = await fake_discord.invoke_autocomplete(
        "config safety", {"policy": ""}, focused="policy", user=boss
    )
    assert [c["value"] for c in choices] == ["age-restricted", "nowhere", "default"]
    looser = await configure(fake_discord, "safety", {"policy": "anywhere"}, boss)
    assert "allows 'age-restricted' at most" in looser.original.content

    done = await configure(fake_discord, "safety", {"policy": "nowhere"}, boss)
    assert done.original.content == "✅ Unfiltered images: nowhere."
    inter = await imagine(fake_discord)  # the age-restricted channel, where it drew before
    followup = (await inter.wait_for_followups(timeout=30))[0]
    assert followup.ephemeral and "draw only with one" in followup.content


async def test_the_servers_language_reads_messages_that_cannot_be_told(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    boss = admin(fake_discord)
    choices = await fake_discord.invoke_autocomplete(
        "config language", {"language": "fre"}, focused="language", user=boss
    )
    assert "fr" in [c["value"] for c in choices]
    bad = await configure(fake_discord, "language", {"language": "Klingon"}, boss)
    assert bad.original.content.startswith("⚠️")
    await configure(fake_discord, "language", {"language": "fr"}, boss)

    posted = await fake_discord.post_message("Salut !")  # too short to tell
    inter = await fake_discord.invoke_message_command("Translate to English", posted)
    embed = (await final_message(inter)).embeds[0]
    assert embed["title"] == "French → English"
    assert embed["footer"]["text"].startswith("Read as French, the language this server chose.")


async def test_command_names_autocomplete(fake_discord: FakeDiscord, start_bot: BotFactory) -> None:
    await start_bot()
    choices = await fake_discord.invoke_autocomplete(
        "config command", {"name": "s"}, focused="name", user=admin(fake_discord)
    )
    assert [c["value"] for c in choices] == ["sentiment", "summarize", "speak", "story"]
    unknown = await configure(
        fake_discord, "command", {"name": "help", "state": "off"}, admin(fake_discord)
    )
    assert unknown.original.content == "⚠️ There is no command 'help' to turn on or off here."
