"""Renderers of the speech commands: /speak (and the "Speak" message menu).

The recording goes out as a WAV attachment, which Discord shows with a player. A WAV
larger than the interaction's upload limit is resampled down (in a thread) until it
fits, and the reply says so; when even the lowest rate is too big, the user is told
to try a shorter text instead of seeing a failed upload. Voice choices for autocomplete
are made here too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io

import soundfile as sf

from inference.audio import fit_wav
from inference.tasks.speak import SpeakResult

from ..cards import COLOUR, Card, Reply
from ..errors import UserError
from .base import (
    CHOICE_CHARS,
    EMBED_DESCRIPTION,
    Choice,
    byte_size,
    choices,
    clip,
    duration,
    escape,
    quote,
    render,
)


@render.register
def _(result: SpeakResult, text: str = "", resampled_from: int | None = None) -> Reply:
    """The WAV with its length and voice; ``resampled_from`` is the model's rate when the
    file was resampled to fit the upload limit."""
    card = Card(title="🔊 Speech", colour=COLOUR)
    lines = [f"**{speech_length(result.duration_s)}** · voice **{escape(result.voice)}**"]
    if text:
        lines.append(quote(text))
    if result.truncated:
        lines.append(
            f"-# The speech was cut at {speech_length(result.duration_s)}, "
            "the most one request gets."
        )
    if result.unspoken:
        shown = " ".join(escape(ch) for ch in result.unspoken[:20])
        lines.append(f"-# This voice cannot say some characters; they were left out: {shown}")
    if resampled_from is not None:
        lines.append(
            f"-# Resampled from {khz(resampled_from)} to {khz(result.sampling_rate)} "
            "to fit this server's upload limit."
        )
    card.description = clip("\n".join(lines), EMBED_DESCRIPTION)
    return Reply.one(cards=[card], files=[result.attachment()])


async def render_fitted(result: SpeakResult, max_bytes: int, text: str = "") -> Reply:
    """``render(result)`` with the WAV made small enough for ``max_bytes`` (the
    interaction's ``filesize_limit``), resampling in a thread when it is too big."""
    if len(result.wav) <= max_bytes:
        return render(result, text=text)
    fitted = await asyncio.to_thread(_fit, result.wav, max_bytes)
    if fitted is None:
        raise UserError(
            f"The recording ({speech_length(result.duration_s)}) is too large for this "
            f"server's upload limit of {byte_size(max_bytes)}, even at a lower quality; "
            "try a shorter text."
        )
    wav, rate = fitted
    smaller = dataclasses.replace(result, wav=wav, sampling_rate=rate)
    return render(smaller, text=text, resampled_from=result.sampling_rate)


def _fit(wav: bytes, max_bytes: int) -> tuple[bytes, int] | None:
    """``fit_wav`` and the rate it chose (blocking: run it in a thread)."""
    fitted = fit_wav(wav, max_bytes)
    return None if fitted is None else (fitted, sf.info(io.BytesIO(fitted)).samplerate)


def speech_length(seconds: float) -> str:
    """``2.4 s`` for a short clip, ``1 min 5 s`` from a minute on."""
    return f"{seconds:.1f} s" if seconds < 60 else duration(seconds)


def khz(rate: int) -> str:
    """``16000`` as ``16 kHz``."""
    return f"{rate / 1000:g} kHz"


def voice_choices(voices: list[str], typed: str) -> list[Choice]:
    """Autocomplete choices for the voice option: the ``voices`` (default first) that
    contain what was typed, those that start with it first; the default is marked when
    there is a choice."""
    typed = typed.strip().lower()
    default = voices[0] if len(voices) > 1 else None
    matches = sorted((v for v in voices if typed in v), key=lambda v: not v.startswith(typed))
    return choices((voice_label(v, default=v == default), v) for v in matches)


def voice_label(voice: str, *, default: bool) -> str:
    """What the list shows for a voice: its name, marked when it is the default."""
    marked = f"{voice} (default)"
    return marked if default and len(marked) <= CHOICE_CHARS else voice
