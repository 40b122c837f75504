"""Audio helpers for speech tasks: joining clips with pauses, 16-bit WAV encoding,
resampling, and shrinking a WAV to fit an upload limit.

Pure functions on numpy arrays and bytes; nothing here loads a model, so the bot side
(``fit_wav``) can use them without importing torch or transformers.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import soundfile as sf

#: Silence between two synthesised sentences.
PAUSE_S = 0.25

#: Rates ``fit_wav`` tries, highest first: speech stays intelligible down to 8 kHz.
FIT_RATES = (24_000, 22_050, 16_000, 12_000, 8_000)

# -- audio ------------------------------------------------------------------------


def join_with_pauses(
    clips: Sequence[np.ndarray], sampling_rate: int, pause_s: float = PAUSE_S
) -> np.ndarray:
    """Concatenate mono clips with ``pause_s`` of silence between them (float32)."""
    if not clips:
        return np.zeros(0, dtype=np.float32)
    silence = np.zeros(round(pause_s * sampling_rate), dtype=np.float32)
    parts: list[np.ndarray] = []
    for i, clip in enumerate(clips):
        if i:
            parts.append(silence)
        parts.append(np.asarray(clip, dtype=np.float32).reshape(-1))
    return np.concatenate(parts)


def encode_wav(samples: np.ndarray, sampling_rate: int) -> bytes:
    """16-bit PCM WAV bytes of float samples in [-1, 1] (louder samples are clipped)."""
    buffer = io.BytesIO()
    clipped = np.clip(np.nan_to_num(np.asarray(samples, dtype=np.float32)), -1.0, 1.0)
    sf.write(buffer, clipped, sampling_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Resample mono float samples by linear interpolation, low-pass filtered first when
    going down so that frequencies above the new Nyquist limit do not alias."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if source_rate == target_rate or samples.size == 0:
        return samples
    if target_rate < source_rate:
        samples = _low_pass(samples, cutoff=0.45 * target_rate / source_rate)
    count = max(1, round(samples.size * target_rate / source_rate))
    positions = np.arange(count) * (source_rate / target_rate)
    return np.interp(positions, np.arange(samples.size), samples).astype(np.float32)


def _low_pass(samples: np.ndarray, cutoff: float, taps: int = 101) -> np.ndarray:
    """Windowed-sinc FIR low-pass; ``cutoff`` in cycles per sample (0 to 0.5)."""
    n = np.arange(taps) - (taps - 1) / 2
    kernel = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
    kernel /= kernel.sum()
    return np.convolve(samples, kernel.astype(np.float32), mode="same")


def fit_wav(wav: bytes, max_bytes: int) -> bytes | None:
    """``wav`` itself when it is at most ``max_bytes``; else the same audio as 16-bit
    mono at the highest rate of ``FIT_RATES`` below its own that fits; None when even
    8 kHz is too big (the caller should say the recording is too long)."""
    if len(wav) <= max_bytes:
        return wav
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    candidates = [rate] if samples.shape[1] > 1 else []  # mono alone may be enough
    candidates += [r for r in FIT_RATES if r < rate]
    for target in candidates:
        smaller = encode_wav(resample(mono, rate, target), target)
        if len(smaller) <= max_bytes:
            return smaller
    return None
