"""/speak and the "Speak" message menu, end to end through the fake Discord.

VITS (the default tiny "speak" model) has one voice; the SpeechT5 tests configure
several voices (dataset rows and a .npy file).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from inference.audio import PAUSE_S
from tests.bot.conftest import BotFactory, final_message
from tests.fakediscord import FakeDiscord

RATE = 16_000


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def speecht5_settings(tiny_models: dict[str, Path]) -> dict[str, Any]:
    """SpeechT5 with 33 voices: two dataset rows, a .npy file, and 30 more rows."""
    voices: dict[str, int | str] = {
        "slt": 7306,
        "bdl": 1699,
        "mine": str(tiny_models["speaker_embedding"]),
    }
    voices |= {f"extra{i:02d}": i for i in range(30)}
    return {
        "speak_model": str(tiny_models["speecht5"]),
        "speak_vocoder": str(tiny_models["speecht5_vocoder"]),
        "speak_xvectors": str(tiny_models["xvectors"]),
        "speak_voices": voices,
        "speak_voice": "bdl",
    }


def the_wav(message: Any) -> tuple[np.ndarray, int, str]:
    """The message's one attachment, read back: samples, rate and file name."""
    (attached,) = message.files
    assert attached.filename.endswith(".wav")
    samples, rate = sf.read(io.BytesIO(attached.data), dtype="float32")
    assert samples.ndim == 1
    return samples, rate, attached.filename


async def error_text(inter: Any) -> str:
    """The ephemeral error of an interaction, before or after it was deferred."""
    await inter.wait_until(lambda i: (i.original and i.original.ephemeral) or i.followups, 20)
    message = inter.followups[-1] if inter.followups else inter.original
    assert message.ephemeral
    assert not message.files
    assert inter.original is None or inter.original.ephemeral or inter.original.deleted
    return message.content


# -- VITS -------------------------------------------------------------------------------


async def test_speak_posts_a_wav_with_its_length_and_voice(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    inter = await fake_discord.invoke_slash("speak", {"text": "Hello there, general Kenobi"})
    message = await final_message(inter)
    assert inter.deferred and not inter.ephemeral
    assert inter.response_time is not None and inter.response_time < 3
    samples, rate, name = the_wav(message)
    assert name == "hello-there-general-kenobi.wav"
    assert rate == RATE and samples.size > 0
    embed = message.embeds[0]
    assert f"**{samples.size / rate:.1f} s**" in embed["description"]
    assert "voice **default**" in embed["description"]
    assert "> Hello there, general Kenobi" in embed["description"]
    assert "cut" not in embed["description"] and "Resampled" not in embed["description"]


async def test_message_menu(fake_discord: FakeDiscord, start_bot: BotFactory) -> None:
    await start_bot()
    posted = await fake_discord.post_message("Read this aloud, please")
    inter = await fake_discord.invoke_message_command("Speak", posted)
    message = await final_message(inter)
    samples, rate, name = the_wav(message)
    assert (name, rate) == ("read-this-aloud-please.wav", RATE) and samples.size > 0
    assert "> Read this aloud, please" in message.embeds[0]["description"]

    empty = await fake_discord.post_message("", files=[("cat.png", b"\x89PNG....")])
    refused = await fake_discord.invoke_message_command("Speak", empty)
    assert "no text" in await error_text(refused)


async def test_long_text_reaches_discord_as_one_wav(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    one = await final_message(await fake_discord.invoke_slash("speak", {"text": "One more."}))
    text = " ".join(["One more."] * 6) + "\n" + "A line with no full stop " * 20
    many = await final_message(await fake_discord.invoke_slash("speak", {"text": text}))
    inter = fake_discord.interactions[-1]
    assert not inter.followups and len(many.files) == 1
    short, _, _ = the_wav(one)
    samples, rate, _ = the_wav(many)
    assert samples.size > 6 * short.size
    # the sentences are joined by pauses of exact silence
    silent = np.flatnonzero(samples)
    gaps = np.diff(silent)
    assert (gaps >= round(PAUSE_S * rate)).sum() >= 6


async def test_speech_cut_at_the_time_limit_says_so(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot(speak_max_seconds=0.5)
    inter = await fake_discord.invoke_slash("speak", {"text": "One two three. " * 20})
    message = await final_message(inter)
    samples, rate, _ = the_wav(message)
    assert 0 < samples.size <= 0.5 * rate
    assert "The speech was cut at" in message.embeds[0]["description"]


async def test_audio_over_the_upload_limit_is_resampled_to_fit(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    text = {"text": "The same words, read three times."}
    full = await final_message(await fake_discord.invoke_slash("speak", text))
    size = full.files[0].size
    limit = int(size * 0.6)  # 12 kHz is 75 % of 16 kHz: 8 kHz it is

    inter = await fake_discord.invoke_slash("speak", text, attachment_size_limit=limit)
    message = await final_message(inter)
    assert message.files[0].size <= limit
    samples, rate, _ = the_wav(message)
    original, _, _ = the_wav(full)
    assert rate == 8_000
    assert samples.size / rate == pytest.approx(original.size / RATE, abs=1e-3)
    description = message.embeds[0]["description"]
    assert "Resampled from 16 kHz to 8 kHz to fit this server's upload limit" in description

    hopeless = await fake_discord.invoke_slash("speak", text, attachment_size_limit=size // 4)
    content = await error_text(hopeless)
    assert content.startswith("⚠️ The recording (")
    assert "upload limit of" in content and "try a shorter text" in content


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("   ", "⚠️ The text is empty."),
        ("?! ... ***", "⚠️ The text has no words to speak."),
        # letters this model lacks: found once the model reads it, after the defer
        ("東京 Жж", "⚠️ The text has nothing this voice can pronounce."),
    ],
)
async def test_bad_text_gets_a_short_ephemeral_error(
    fake_discord: FakeDiscord, start_bot: BotFactory, text: str, error: str
) -> None:
    await start_bot()
    inter = await fake_discord.invoke_slash("speak", {"text": text})
    assert await error_text(inter) == error


async def test_command_schema(fake_discord: FakeDiscord, start_bot: BotFactory) -> None:
    await start_bot()
    commands = fake_discord.guild_commands[fake_discord.guild.id]
    (schema,) = [c for c in commands if c["name"] == "speak" and c.get("type", 1) == 1]
    text, voice = schema["options"]
    assert (text["name"], text["required"], text["min_length"], text["max_length"]) == (
        "text",
        True,
        1,
        2000,
    )
    assert voice["name"] == "voice" and voice["autocomplete"] and not voice.get("required")
    assert "choices" not in voice
    assert [c["name"] for c in commands if c.get("type") == 3 and c["name"] == "Speak"]


async def test_vits_offers_its_one_voice(fake_discord: FakeDiscord, start_bot: BotFactory) -> None:
    await start_bot()
    choices = await fake_discord.invoke_autocomplete("speak", {"text": "hi"}, focused="voice")
    assert choices == [{"name": "default", "value": "default"}]
    inter = await fake_discord.invoke_slash("speak", {"text": "hi", "voice": "slt"})
    assert await error_text(inter) == "⚠️ Unknown voice 'slt'; choose one of: default."


# -- SpeechT5 ---------------------------------------------------------------------------


async def test_speecht5_voices_autocomplete_and_speak(
    fake_discord: FakeDiscord, start_bot: BotFactory, speecht5_settings: dict[str, Any]
) -> None:
    await start_bot(**speecht5_settings)
    everything = await fake_discord.invoke_autocomplete("speak", focused="voice")
    assert len(everything) == 25
    assert everything[:3] == [
        {"name": "bdl (default)", "value": "bdl"},
        {"name": "slt", "value": "slt"},
        {"name": "mine", "value": "mine"},
    ]
    typed = await fake_discord.invoke_autocomplete("speak", {"voice": " S"}, focused="voice")
    assert [c["value"] for c in typed] == ["slt"]
    typed = await fake_discord.invoke_autocomplete("speak", {"voice": "extra2"}, focused="voice")
    assert [c["value"] for c in typed] == [f"extra2{i}" for i in range(10)]
    autocompletes = [i for i in fake_discord.interactions if i.type == 4]
    assert all(i.response_time < 3 for i in autocompletes)

    inter = await fake_discord.invoke_slash("speak", {"text": "Hi you", "voice": "mine"})
    message = await final_message(inter, timeout=60)
    samples, rate, _ = the_wav(message)
    assert rate == RATE and samples.size > 0
    assert np.abs(samples).max() > 0.01  # audible
    assert "voice **mine**" in message.embeds[0]["description"]

    unknown = await fake_discord.invoke_slash("speak", {"text": "hi", "voice": "zed"})
    content = await error_text(unknown)
    assert content.startswith("⚠️ Unknown voice 'zed'; choose one of: bdl, slt, mine, extra00")
