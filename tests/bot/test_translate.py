"""/translate and the "Translate to English" menu, end to end through the fake Discord.

The tiny Marian set has en<->fr, en<->de, fr<->de and en<->es (no es->fr: that pair
goes through English). Its random weights translate into noise, so the tests look at
the route, the stages and the limits, not at the words.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import discord
import pytest

from tests.bot.conftest import BotFactory, final_message
from tests.fakediscord import FakeDiscord


def field_names(message: Any) -> list[str]:
    return [f["name"] for f in message.embeds[0].get("fields", [])]


async def test_translation_with_its_route_original_and_model(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    inter = await fake_discord.invoke_slash(
        "translate", {"text": "Hello, how are you?", "target": "fr"}
    )
    message = await final_message(inter)
    assert inter.deferred and not inter.ephemeral and inter.response_time < 3
    (embed,) = message.embeds
    assert embed["title"] == "English → French"
    assert embed["description"].strip()
    assert embed["fields"] == [
        {"name": "Original · English", "value": "Hello, how are you?", "inline": False}
    ]
    assert embed["footer"]["text"] == "opus-mt-en-fr"


async def test_chain_shows_every_stage(fake_discord: FakeDiscord, start_bot: BotFactory) -> None:
    await start_bot()
    inter = await fake_discord.invoke_slash(
        "translate", {"text": "Hello, how are you?", "target": "French>de>en"}
    )
    message = await final_message(inter)
    embed = message.embeds[0]
    assert embed["title"] == "English → French → German → English"
    assert field_names(message) == ["Original · English", "Step 1 · French", "Step 2 · German"]
    assert all(f["value"].strip() for f in embed["fields"])
    assert embed["footer"]["text"] == "opus-mt-en-fr, opus-mt-fr-de, opus-mt-de-en"


async def test_pair_without_a_model_goes_through_english_and_says_so(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    inter = await fake_discord.invoke_slash(
        "translate", {"text": "Hola, ¿cómo estás?", "source": "es", "target": "fr"}
    )
    message = await final_message(inter)
    assert message.embeds[0]["title"] == "Spanish → French"
    assert field_names(message) == [
        "Original · Spanish",
        "Step 1 · English (pivot: no Spanish → French model)",
    ]
    assert message.embeds[0]["footer"]["text"] == "opus-mt-es-en, opus-mt-en-fr"

    # English asked for in the chain is a stage of its own, not a pivot
    inter = await fake_discord.invoke_slash(
        "translate",
        {"text": "Hola", "source": "es", "target": "en>fr"},
        user=fake_discord.moderator,
    )
    message = await final_message(inter)
    assert message.embeds[0]["title"] == "Spanish → English → French"
    assert field_names(message)[1] == "Step 1 · English"


async def test_long_translation_is_split_within_the_limits(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    text = "\n".join(["The quick brown fox jumps over the lazy dog again and again."] * 70)
    inter = await fake_discord.invoke_slash("translate", {"text": text, "target": "de>fr"})
    message = await final_message(inter)
    await inter.wait_until(lambda i: i.followups, 20)
    assert len(message.embeds[0]["fields"][0]["value"]) <= 1200  # the original, clipped
    pages = [message.embeds[0]["description"]] + [
        m.embeds[0]["description"] for m in inter.followups
    ]
    assert len("".join(pages)) > 4096
    assert all(len(page) <= 4096 for page in pages)
    # the fake refuses any write over Discord's limits, failing the test


async def test_autocomplete_answers_at_once_with_at_most_25_languages(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot(translate_model="Helsinki-NLP/opus-mt-{src}-{tgt}")  # many pairs, no files

    async def choices(typed: str, focused: str = "target", **others: str) -> list[dict]:
        started = time.monotonic()
        answer = await fake_discord.invoke_autocomplete(
            "translate", {focused: typed, **others}, focused=focused
        )
        assert time.monotonic() - started < 3
        assert 0 < len(answer) <= 25
        return answer

    empty = await choices("")
    assert len(empty) == 25 and empty[0] == {"name": "fr (French)", "value": "fr"}
    assert "en" not in [c["value"] for c in empty]  # no English -> English
    assert (await choices("fr"))[0] == {"name": "fr (French)", "value": "fr"}
    assert (await choices("Ger"))[0] == {"name": "de (German)", "value": "de"}
    chained = await choices("fr>d")
    assert {"name": "fr>de (German)", "value": "fr>de"} in chained
    assert all(c["value"].startswith("fr>") for c in chained)
    # Korean has no model from English: the target lists no Korean, the source does
    assert "ko" not in [c["value"] for c in await choices("")]
    source = await choices("kor", focused="source", target="fr")
    assert source[0]["value"] == "ko"


async def test_autocomplete_offers_the_languages_the_models_reach(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()  # the tiny set: en, fr, de, es
    answer = await fake_discord.invoke_autocomplete("translate", {"target": ""}, focused="target")
    assert {c["value"] for c in answer} == {"fr", "de", "es"}
    answer = await fake_discord.invoke_autocomplete(
        "translate", {"target": "es>"}, focused="target"
    )
    assert {c["value"] for c in answer} == {"es>en", "es>fr", "es>de"}  # fr, de via English


async def test_unknown_language_gets_an_ephemeral_error_naming_close_matches(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    inter = await fake_discord.invoke_slash("translate", {"text": "Hello", "target": "fre"})
    await inter.wait_for_response()
    assert inter.ephemeral and not inter.deferred
    assert inter.original.content == "⚠️ Unknown language 'fre'. Did you mean fr (French)?"

    inter = await fake_discord.invoke_slash(
        "translate", {"text": "Hello", "target": "de", "source": "it"}
    )
    await inter.wait_for_response()
    assert inter.ephemeral
    assert "no translation model from Italian to German" in inter.original.content


async def test_menu_detects_the_language_of_the_message(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    text = "Bonjour, comment allez-vous ? Il fait beau aujourd'hui."
    inter = await fake_discord.invoke_message_command(
        "Translate to English", await fake_discord.post_message(text)
    )
    message = await final_message(inter)
    assert inter.response_time < 3
    embed = message.embeds[0]
    assert embed["title"] == "French → English"
    assert embed["fields"][0]["value"] == text
    assert embed["footer"]["text"].startswith("Detected French. Not right?")

    english = await fake_discord.post_message("The weather is lovely today, let us go out.")
    inter = await fake_discord.invoke_message_command("Translate to English", english)
    await inter.wait_for_response()
    assert inter.ephemeral and inter.original.content == "⚠️ That message is already in English."


async def test_menu_reads_a_message_too_short_to_tell_in_the_servers_language(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    posted = await fake_discord.post_message("Salut !")

    inter = await fake_discord.invoke_message_command("Translate to English", posted)
    await inter.wait_for_response()
    assert inter.ephemeral  # an English server, an English user: nothing to go on
    assert "/translate" in inter.original.content and "source:" in inter.original.content

    fake_discord.guild.locale = "fr"
    inter = await fake_discord.invoke_message_command("Translate to English", posted)
    message = await final_message(inter)
    embed = message.embeds[0]
    assert embed["title"] == "French → English"
    assert embed["fields"][0]["value"] == "Salut !"
    assert embed["footer"]["text"].startswith("Read as French, the language of this server.")


async def test_source_auto_detects_the_language(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    answer = await fake_discord.invoke_autocomplete(
        "translate", {"target": "fr", "source": "au"}, focused="source"
    )
    assert answer[0] == {"name": "auto (detect the language of the text)", "value": "auto"}

    text = "Wie spät ist es? Ich muss gleich zum Bahnhof."
    inter = await fake_discord.invoke_slash(
        "translate", {"text": text, "target": "fr", "source": "auto"}
    )
    embed = (await final_message(inter)).embeds[0]
    assert embed["title"] == "German → French"
    assert embed["footer"]["text"].startswith("Detected German.")

    unsure = await fake_discord.invoke_slash(
        "translate", {"text": "lol", "target": "fr", "source": "auto"}
    )
    await unsure.wait_for_response()
    assert unsure.ephemeral and not unsure.deferred
    assert "can't tell which language" in unsure.original.content


async def test_options_show_their_limits(fake_discord: FakeDiscord, start_bot: BotFactory) -> None:
    await start_bot()
    (schema,) = [
        c for c in fake_discord.guild_commands[fake_discord.guild.id] if c["name"] == "translate"
    ]
    options = {o["name"]: o for o in schema["options"]}
    assert options["text"]["max_length"] == 5000 and "5,000" in options["text"]["description"]
    assert options["target"]["autocomplete"] and options["source"]["autocomplete"]
    assert not options["source"].get("required")


async def test_a_failed_followup_keeps_the_result_already_shown(
    fake_discord: FakeDiscord, start_bot: BotFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reply of several messages whose second message fails: the first page stays, and
    the user hears about the failure (Discord refusing a followup is simulated)."""
    real_send = discord.Webhook.send
    refused: list[bool] = []

    async def send_once_refused(self: discord.Webhook, *args: Any, **kwargs: Any) -> Any:
        if not refused and not kwargs.get("ephemeral"):
            refused.append(True)
            response = SimpleNamespace(status=400, reason="Bad Request")
            raise discord.HTTPException(response, {"code": 50035, "message": "Invalid Form"})
        return await real_send(self, *args, **kwargs)

    monkeypatch.setattr(discord.Webhook, "send", send_once_refused)
    await start_bot()
    text = "\n".join(["The quick brown fox jumps over the lazy dog again and again."] * 70)
    inter = await fake_discord.invoke_slash("translate", {"text": text, "target": "de>fr"})
    message = await final_message(inter)
    await inter.wait_until(lambda i: i.followups, 20)
    assert refused
    assert not message.deleted and message.embeds[0]["description"]
    (apology,) = inter.followups
    assert apology.ephemeral and "Sorry, something went wrong" in apology.content
