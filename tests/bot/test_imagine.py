"""/imagine with its Cancel and Regenerate buttons, end to end through the fake Discord.

The tiny Stable Diffusion pipeline makes 64x64 noise in milliseconds a step; tests that
need a slow model hold its UNet's forward pass (a torch pre-hook, as ModelGate does for
the other tasks' models).
"""

from __future__ import annotations

import asyncio
import io
import itertools
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.client import PipelineBot
from chat.render.imagine import escape_prompt, unescape_prompt
from inference import InferenceService, InferenceSettings
from tests.bot.conftest import BotFactory, ModelGate, engine, final_message, reply_to_click
from tests.bot.test_restart import every_model_gated, stop
from tests.fakediscord import FakeDiscord
from tests.fakediscord.records import InteractionRecord, MessageRecord

#: What every test asks for unless it says otherwise: quick, and a size the tiny model makes.
QUICK = {"size": "64x64", "steps": 2}


async def imagine(fake: FakeDiscord, prompt: str = "a red fox", **kwargs: Any) -> InteractionRecord:
    """/imagine in the age-restricted channel (the tiny model has no safety checker)."""
    options = {"prompt": prompt, **QUICK, **kwargs.pop("options", {})}
    kwargs.setdefault("channel", fake.nsfw_channel)
    return await fake.invoke_slash("imagine", options, **kwargs)


async def hold_unet(bot: PipelineBot, gate: ModelGate) -> list[int]:
    """Load the pipeline now and hold every UNet pass at ``gate``; returns a list that
    grows by one per UNet pass."""
    await engine(bot).preload(["imagine"])
    calls: list[int] = []
    for loaded in engine(bot).loaded_models("imagine"):
        loaded.pipe.unet.register_forward_pre_hook(lambda module, args: calls.append(1))
        loaded.pipe.unet.register_forward_pre_hook(gate.hook)
    return calls


def png_of(message: MessageRecord) -> Image.Image:
    (upload,) = message.files
    image = Image.open(io.BytesIO(upload.data))
    image.load()
    return image


def fields(message: MessageRecord) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message.embeds[0]["fields"]}


def cancel_id(message: MessageRecord | None) -> str | None:
    ids = [c for c in message.custom_ids if c.startswith("imagine:cancel:")] if message else []
    return ids[0] if ids else None


async def wait_for_cancel_button(inter: InteractionRecord) -> str:
    return await inter.wait_until(lambda i: cancel_id(i.original), 10)


async def new_message(click: InteractionRecord, old: MessageRecord) -> MessageRecord:
    """The image a button click made (its own message, not the one clicked)."""
    return await reply_to_click(click, old, ready=lambda message: message.files)


# -- the image --------------------------------------------------------------------------


async def test_png_of_the_requested_size_in_an_embed_with_its_parameters(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    prompt = "A red *fox* in_the snow <@123> [x](y) # - `a` \\ ~~b~~ |c| >d"
    inter = await imagine(
        fake_discord, prompt, options={"negative": "blurry, _dark_", "seed": 7, "steps": 3}
    )
    message = await final_message(inter)
    assert inter.deferred and inter.response_time < 3 and not inter.ephemeral

    image = png_of(message)
    assert image.format == "PNG" and image.size == (64, 64)
    assert image.text["prompt"] == prompt
    assert image.text["negative_prompt"] == "blurry, _dark_"
    assert (image.text["seed"], image.text["steps"], image.text["size"]) == ("7", "3", "64x64")

    embed = message.embeds[0]
    name = message.files[0].filename
    assert name.endswith("-7.png") and name.startswith("a-red-fox-in-the-snow")
    assert embed["image"]["url"] == f"attachment://{name}"
    assert unescape_prompt(embed["description"]) == prompt
    assert "\\*fox\\*" in embed["description"]  # shows as typed, not in italics
    assert fields(message) | {"Time": ""} == {
        "Seed": "`7`",
        "Steps": "3",
        "Size": "64x64",
        "Time": "",
        "Negative prompt": escape_prompt("blurry, _dark_"),
    }
    assert fields(message)["Time"].endswith(" s")
    assert "imagine" in embed["footer"]["text"]  # the model, by its directory's name
    # Cancel is gone; Regenerate and Share are there
    assert message.custom_ids == ["imagine:again", "showcase:share"]


async def test_same_seed_same_image(fake_discord: FakeDiscord, start_bot: BotFactory) -> None:
    await start_bot()
    first = await final_message(await imagine(fake_discord, options={"seed": 42}))
    again = await final_message(await imagine(fake_discord, options={"seed": 42}))
    other = await final_message(await imagine(fake_discord, options={"seed": 43}))
    assert first.files[0].data == again.files[0].data
    assert other.files[0].data != first.files[0].data


async def test_progress_is_one_message_edited_at_most_once_a_second(
    fake_discord: FakeDiscord, start_bot: BotFactory, gate: ModelGate
) -> None:
    bot = await start_bot()
    await hold_unet(bot, gate)
    gate.delay = 0.3  # 10 steps of 0.3 s
    inter = await imagine(fake_discord, options={"steps": 10})
    message = await final_message(inter)
    waits = message.edits[:-1]  # the last edit is the image
    steps = [w for w in waits if "Step" in (w.body.get("content") or "")]
    assert 2 <= len(steps) < 10
    assert any("/10" in w.body["content"] and "█" in w.body["content"] for w in steps)
    assert "s left" in steps[0].body["content"]
    gaps = [b.at - a.at for a, b in itertools.pairwise(waits)]
    assert all(gap >= 0.9 for gap in gaps), gaps
    assert cancel_id(message) is None and message.files


async def test_cancel_while_queued_by_the_requester_not_by_others(
    fake_discord: FakeDiscord, start_bot: BotFactory, gate: ModelGate
) -> None:
    bot = await start_bot()
    await hold_unet(bot, gate)
    gate.opened.clear()
    bob, carol = fake_discord.add_user("bob"), fake_discord.add_user("carol")
    running = await imagine(fake_discord, "first", user=bob)
    await asyncio.to_thread(gate.entered.wait, 10)
    queued = await imagine(fake_discord, "second")
    custom_id = await wait_for_cancel_button(queued)
    await queued.wait_until(lambda i: "Your image is next in line" in i.original.content, 10)

    refused = await fake_discord.click(queued.original, custom_id, user=carol)
    await refused.wait_until(lambda i: i.original is not queued.original, 5)
    assert refused.original.ephemeral and "Only the person who asked" in refused.original.content

    cancelled = await fake_discord.click(queued.original, custom_id)
    await cancelled.wait_for_response()
    followup = (await queued.wait_for_followups())[0]
    assert followup.ephemeral and "cancelled" in followup.content
    assert queued.original.deleted  # no public placeholder left behind

    gate.opened.set()
    assert png_of(await final_message(running)).text["prompt"] == "first"
    assert bot.service.job(custom_id.rsplit(":", 1)[1]) is None


async def test_cancel_while_running_by_a_moderator_stops_within_a_step(
    fake_discord: FakeDiscord, start_bot: BotFactory, gate: ModelGate
) -> None:
    bot = await start_bot()
    calls = await hold_unet(bot, gate)
    gate.opened.clear()
    inter = await imagine(fake_discord, options={"steps": 50})
    custom_id = await wait_for_cancel_button(inter)
    await asyncio.to_thread(gate.entered.wait, 10)

    click = await fake_discord.click(inter.original, custom_id, user=fake_discord.moderator)
    await click.wait_until(lambda i: i.original is not inter.original, 5)
    assert click.original.ephemeral and "Cancelled" in click.original.content
    assert not click.original.mentions.users  # names the requester without a ping
    gate.opened.set()
    followup = (await inter.wait_for_followups())[0]
    assert "cancelled" in followup.content
    await asyncio.sleep(0.5)  # time for any further step to show
    assert len(calls) <= 2  # the step that was running, at most one more


async def test_regenerate_same_request_new_seed_also_after_a_restart(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    bot = await start_bot()
    prompt = "a *lighthouse* at_night \\ [sea](x)"
    first = await final_message(
        await imagine(fake_discord, prompt, options={"negative": "fog", "seed": 5})
    )

    click = await fake_discord.click(first, "imagine:again", user=fake_discord.moderator)
    again = await new_message(click, first)
    assert not again.ephemeral and again.custom_ids == ["imagine:again", "showcase:share"]
    image = png_of(again)
    assert image.text["prompt"] == prompt and image.text["negative_prompt"] == "fog"
    assert (image.text["steps"], image.text["size"]) == ("2", "64x64")
    assert image.text["seed"] != "5"

    await bot.close()  # a restart: the new process knows nothing of the old messages
    await start_bot()
    click = await fake_discord.click(first, "imagine:again")
    after_restart = png_of(await new_message(click, first))
    assert after_restart.text["prompt"] == prompt and after_restart.text["seed"] != "5"


async def test_a_cancelled_regenerate_leaves_no_placeholder(
    fake_discord: FakeDiscord, start_bot: BotFactory, gate: ModelGate
) -> None:
    bot = await start_bot()
    first = await final_message(await imagine(fake_discord))
    await hold_unet(bot, gate)
    gate.opened.clear()
    click = await fake_discord.click(first, "imagine:again")
    custom_id = await wait_for_cancel_button(click)
    placeholder = click.original  # the button's own "thinking…" message, now the progress
    assert placeholder is not first and not placeholder.ephemeral
    cancel = await fake_discord.click(placeholder, custom_id)
    await cancel.wait_for_response()
    gate.opened.set()
    followup = (await click.wait_for_followups())[0]
    assert followup.ephemeral and "cancelled" in followup.content
    assert placeholder.deleted and not first.deleted


async def test_regenerate_on_a_message_it_cannot_read(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    first = await final_message(await imagine(fake_discord))
    first.data["embeds"] = []  # say, an edited or foreign message
    click = await fake_discord.click(first, "imagine:again")
    await click.wait_until(lambda i: i.original is not first, 5)
    assert click.original.ephemeral and "cannot be read" in click.original.content


async def test_regenerate_counts_towards_the_imagine_cooldown(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot(cooldown_rate=2, cooldown_per_s=60)
    first = await final_message(await imagine(fake_discord))
    click = await fake_discord.click(first, "imagine:again")
    await new_message(click, first)
    # /imagine and Regenerate used the user's two images: both are refused now
    again = await fake_discord.click(first, "imagine:again")
    await again.wait_until(lambda i: i.original is not first, 5)
    assert again.original.ephemeral and "Try again in" in again.original.content
    command = await imagine(fake_discord)
    await command.wait_for_response()
    assert command.ephemeral and "Try again in" in command.original.content
    # someone else may still regenerate it
    other = await fake_discord.click(first, "imagine:again", user=fake_discord.moderator)
    assert (await new_message(other, first)).files


async def test_image_larger_than_the_upload_limit_is_scaled_down_or_refused(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    full = await final_message(await imagine(fake_discord, options={"seed": 3}))
    limit = full.files[0].size // 3
    small = await final_message(
        await imagine(fake_discord, options={"seed": 3}, attachment_size_limit=limit)
    )
    assert small.files[0].size <= limit
    image = png_of(small)
    assert image.width < 64 and image.text["seed"] == "3"  # metadata kept
    assert f"scaled down to {image.width}x{image.height}" in small.embeds[0]["footer"]["text"]
    assert fields(small)["Size"] == "64x64"  # what was made, for Regenerate

    hopeless = await imagine(fake_discord, attachment_size_limit=100)
    followup = (await hopeless.wait_for_followups(timeout=20))[0]
    assert followup.ephemeral and "cannot be made small enough" in followup.content
    assert "100 bytes" in followup.content


async def test_a_result_after_15_minutes_goes_to_the_channel_mentioning_the_requester(
    fake_discord: FakeDiscord, start_bot: BotFactory, gate: ModelGate
) -> None:
    bot = await start_bot()
    await hold_unet(bot, gate)
    gate.opened.clear()
    inter = await imagine(fake_discord, "a slow fox")
    custom_id = await wait_for_cancel_button(inter)
    await asyncio.to_thread(gate.entered.wait, 10)
    fake_discord.clock.advance(15 * 60 + 1)  # the interaction token has expired
    gate.opened.set()

    def posted() -> list[MessageRecord]:
        channel = fake_discord.channel_messages(fake_discord.nsfw_channel)
        return [m for m in channel if m.kind == "channel"]

    notice, result = await fake_discord.wait_for(lambda: len(posted()) >= 2 and posted(), 20)
    assert fake_discord.user.mention in notice.content
    assert notice.mentions.users == (fake_discord.user.id,)  # that one ping, no other
    assert not notice.mentions.everyone and not notice.mentions.roles
    assert png_of(result).text["prompt"] == "a slow fox"
    assert result.custom_ids == ["imagine:again", "showcase:share"] and not result.mentions.users
    # The expired token refuses the progress edits, the edit with the image and the
    # removal of the placeholder, the last thing the bot tries.
    await fake_discord.wait_for(lambda: any(r.method == "DELETE" for r in fake_discord.requests))
    rejected = fake_discord.take_rejections()
    assert rejected and all(r.error["code"] == 50027 for r in rejected)

    stale = await fake_discord.click(inter.original, custom_id)  # still on the old message
    await stale.wait_until(lambda i: i.original is not inter.original, 5)
    assert stale.original.ephemeral
    assert "already finished or expired" in stale.original.content


# -- safety ---------------------------------------------------------------------------


async def test_unchecked_model_draws_only_in_age_restricted_channels(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    # Not loaded yet: the bot defers, loads the model, then refuses (the placeholder goes).
    first = await imagine(fake_discord, channel=fake_discord.channel)
    followup = (await first.wait_for_followups(timeout=20))[0]
    assert followup.ephemeral and "age-restricted" in followup.content
    assert first.original.deleted
    # Loaded: refused at once.
    second = await imagine(fake_discord, channel=fake_discord.channel)
    await second.wait_for_response()
    assert second.ephemeral and "age-restricted" in second.original.content

    allowed = await imagine(fake_discord)  # the age-restricted channel
    assert png_of(await final_message(allowed)).size == (64, 64)


@pytest.mark.parametrize(
    ("policy", "channel", "drawn"),
    [("anywhere", "general", True), ("nowhere", "nsfw", False)],
)
async def test_the_operator_sets_the_policy(
    fake_discord: FakeDiscord, start_bot: BotFactory, policy: str, channel: str, drawn: bool
) -> None:
    await start_bot(imagine_nsfw_policy=policy)
    inter = await imagine(fake_discord, channel=fake_discord.guild.channel(channel))
    if drawn:
        assert (await final_message(inter)).files
    else:
        followup = (await inter.wait_for_followups(timeout=20))[0]
        assert followup.ephemeral and "draw only with one" in followup.content


async def test_model_with_a_safety_checker_draws_anywhere_and_withholds_flagged_images(
    fake_discord: FakeDiscord, start_bot: BotFactory, checked_imagine_models: dict[str, Path]
) -> None:
    bot = await start_bot(imagine_model=str(checked_imagine_models["flag"]))
    inter = await imagine(fake_discord, channel=fake_discord.channel)
    message = await final_message(inter)
    assert not message.files and not message.components
    assert "safety checker flagged this image" in message.embeds[0]["description"]
    await bot.close()

    await start_bot(imagine_model=str(checked_imagine_models["pass"]))
    inter = await imagine(fake_discord, channel=fake_discord.channel)
    assert png_of(await final_message(inter)).size == (64, 64)


async def test_a_model_without_a_checker_draws_anywhere_with_the_separate_one(
    fake_discord: FakeDiscord, start_bot: BotFactory, safety_checkers: dict[str, Path]
) -> None:
    await start_bot(imagine_safety_checker=str(safety_checkers["pass"]))  # default policy
    inter = await imagine(fake_discord, channel=fake_discord.channel)
    assert png_of(await final_message(inter)).size == (64, 64)


async def test_blocked_words_are_refused_before_anything_runs(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    bot = await start_bot(imagine_blocklist="fox, red panda ,")
    for prompt in ("A FOX, jumping", "a Red   Panda"):
        inter = await imagine(fake_discord, prompt)
        await inter.wait_for_response()
        assert inter.ephemeral and not inter.deferred
        assert "are not allowed here" in inter.original.content
    assert engine(bot).loaded_models("imagine") == []  # nothing ran
    fine = await imagine(fake_discord, "foxglove and a red pandas' den")  # whole words only
    assert (await final_message(fine)).files


# -- options --------------------------------------------------------------------------


async def test_options_show_their_limits_and_size_is_suggested(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot(imagine_max_size=768)
    (schema,) = [
        c for c in fake_discord.guild_commands[fake_discord.guild.id] if c["name"] == "imagine"
    ]
    options = {o["name"]: o for o in schema["options"]}
    assert options["prompt"]["max_length"] == 500 and options["prompt"]["required"]
    assert (options["steps"]["min_value"], options["steps"]["max_value"]) == (1, 50)
    assert (options["seed"]["min_value"], options["seed"]["max_value"]) == (0, 2**32 - 1)
    assert options["size"]["autocomplete"]

    choices = await fake_discord.invoke_autocomplete(
        "imagine", {"prompt": "x", "size": ""}, focused="size"
    )
    values = [c["value"] for c in choices]
    assert "512x512" in values and "768x512" in values and "1024x1024" not in values
    assert {c["name"] for c in choices} >= {"512x768 (portrait)", "768x512 (landscape)"}
    typed = await fake_discord.invoke_autocomplete(
        "imagine", {"prompt": "x", "size": "64 x 96"}, focused="size"
    )
    assert [c["value"] for c in typed] == ["64x96"]

    bad = await imagine(fake_discord, options={"size": "100x64"})
    await bad.wait_for_response()
    assert bad.ephemeral and "multiple of 8" in bad.original.content


async def test_service_finds_active_jobs_by_id(tiny_models: dict[str, Path]) -> None:
    settings = InferenceSettings(_env_file=None)
    async with InferenceService(settings, models={"imagine": str(tiny_models["imagine"])}) as s:
        job = s.submit("imagine", prompt="a fox", **QUICK)
        assert s.job(job.id) is job
        await job.result()
        assert s.job(job.id) is None
        assert s.job("0123456789ab") is None


async def test_a_wait_resumed_after_a_restart_shows_a_cancel_button_that_works(
    fake_discord: FakeDiscord, start_bot: BotFactory, gate: ModelGate
) -> None:
    with every_model_gated(gate):
        first = await start_bot()
        waiting = await imagine(fake_discord, "a slow one")
        before = await wait_for_cancel_button(waiting)
        assert await asyncio.to_thread(gate.entered.wait, 20)
        await stop(first, [waiting], gate)  # (the gate is closed again for the next bot)
        assert cancel_id(waiting.original) is None  # the old job's button went with it

        second = await start_bot()
        after = await wait_for_cancel_button(waiting)
        assert after != before  # the resumed job's own id
        click = await fake_discord.click(waiting.original, after)
        await click.wait_for_response()
        await waiting.wait_until(lambda i: i.original.deleted, 20)
        notes = await waiting.wait_for_followups()
        assert notes[-1].ephemeral and "cancelled" in notes[-1].content
    assert second.service.job(after.rsplit(":", 1)[1]) is None
