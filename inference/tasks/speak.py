"""Speak: text to speech, returned as a 16-bit PCM WAV.

Two model families, told apart by the config's ``model_type``:

- VITS (``facebook/mms-tts-eng`` and the other MMS-TTS voices): one voice, "default";
  its duration predictor and prior sample noise, seeded per batch by SPEAK_SEED.
- SpeechT5 (``microsoft/speecht5_tts``): needs a vocoder (SPEAK_VOCODER, always passed
  to the pipeline explicitly, else it fetches one from the Hub) and a speaker x-vector
  per voice (SPEAK_VOICES: rows of the SPEAK_XVECTORS dataset or ``.npy`` files).

The text is split into sentences (and sentences longer than the model reads split
further), every sentence of every request in a batch is synthesised in shared padded
passes, and each request's clips are joined with a short pause, bounded to
SPEAK_MAX_SECONDS, and encoded as WAV.

``pipeline("text-to-speech")`` loads the model, its tokenizer and the vocoder; the
padded forward pass is run on its model directly because the pipeline's own batching
returns every clip padded to the longest one and drops the real lengths (short
sentences would end in seconds of noise).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoConfig, SpeechT5HifiGan, pipeline

from ..audio import PAUSE_S, encode_wav, join_with_pauses
from ..errors import InferenceError, InvalidInput, JobCancelled, ModelUnavailable
from ..results import Result
from ..spoken import language_of_voice
from ..text import split_sentences
from .base import BatchContext, Task, clean_text, max_input_tokens, reject_unknown
from .speak_voices import (
    DEFAULT_VOICE,
    SPEECHT5,
    VITS,
    XVECTOR_SPLIT,
    Speaker,
    peek_model_type,
    xvector_row,
)

#: Characters per synthesised piece at most: TTS prosody degrades over very long inputs,
#: and shorter pieces batch with less padding.
MAX_CHUNK_CHARS = 300
#: Pieces synthesised in one padded pass at most (bounds memory for long texts).
MAX_PIECES_PER_PASS = 16


@dataclass(frozen=True)
class SpeakRequest:
    text: str
    #: A name from ``SpeakTask.voices()`` ("default" while the model's kind is unknown).
    voice: str
    #: The text split into sentences of at most MAX_CHUNK_CHARS characters.
    chunks: tuple[str, ...]


@dataclass
class SpeakResult(Result):
    #: The recording: 16-bit PCM WAV, mono (left out of ``to_dict()``).
    wav: bytes
    #: A file name for the attachment, from the first words of the text.
    file_name: str
    duration_s: float
    sampling_rate: int
    voice: str
    model: str
    #: How many pieces (sentences) were synthesised.
    chunks: int
    #: True when the speech was cut at SPEAK_MAX_SECONDS.
    truncated: bool
    #: Characters of the text this voice cannot pronounce, left out of the speech (after
    #: numbers and symbols were written out in words), in order of first appearance.
    unspoken: list[str] = field(default_factory=list)

    def attachment(self) -> tuple[str, bytes]:
        return self.file_name, self.wav


class SpeakTask(Task[SpeakRequest, SpeakResult]):
    name = "speak"
    summary = "Read a text aloud (WAV)."
    max_batch_size = 8
    long_running = True
    #: Long texts with SpeechT5 on a CPU take a while (it is autoregressive).
    timeout_s = 300.0
    #: VITS (its flow and spline duration predictor) and SpeechT5 with its vocoder are
    #: known to give NaNs, noise or dtype errors in float16, and both are small: float32.
    half_precision = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kind: str | None = None  # known for sure once load() has run

    # -- voices -----------------------------------------------------------------

    def voices(self) -> list[str]:
        """The voices a request may choose, the default first. Cheap: before the model
        is loaded, its kind comes from a local or cached config.json, else its name
        (exact once the model is loaded; "default" is always accepted as well)."""
        if self._model_kind() != SPEECHT5:
            return [DEFAULT_VOICE]
        return list(self._configured_voices())

    def _configured_voices(self) -> dict[str, int | str]:
        """SPEAK_VOICES with lower-case names, SPEAK_VOICE first."""
        voices = {str(k).strip().lower(): v for k, v in self.settings.speak_voices.items()}
        default = self.settings.speak_voice.strip().lower()
        return dict(sorted(voices.items(), key=lambda item: item[0] != default))

    def _model_kind(self) -> str:
        if self._kind is None:
            model_type = peek_model_type(self.model)
            if model_type is None:  # not downloaded yet: guess from the name
                model_type = SPEECHT5 if SPEECHT5 in self.model.lower() else VITS
            self._kind = SPEECHT5 if model_type == SPEECHT5 else VITS
        return self._kind

    def _unknown_voice(self, voice: str, available: Sequence[str]) -> InvalidInput:
        return InvalidInput(f"Unknown voice {voice!r}; choose one of: {', '.join(available)}.")

    # -- parse --------------------------------------------------------------------

    def cost(self, request: SpeakRequest) -> float:
        return max(1.0, len(request.text) / 100)

    def parse(self, text: Any = None, voice: Any = None, **extra: Any) -> SpeakRequest:
        reject_unknown(self.name, extra)
        text = clean_text(text, max_chars=self.settings.speak_max_chars)
        if not any(ch.isalnum() for ch in text):
            raise InvalidInput("The text has no words to speak.")
        available = self.voices()
        name = "" if voice is None else str(voice).strip().lower()
        if name in ("", DEFAULT_VOICE):
            name = available[0] if available else DEFAULT_VOICE
        elif name not in available:
            raise self._unknown_voice(str(voice), available)
        return SpeakRequest(text, name, tuple(split_sentences(text, MAX_CHUNK_CHARS)))

    # -- load ---------------------------------------------------------------------

    def load(self, model_id: str) -> Speaker:
        kwargs = self.pretrained_kwargs()
        device, dtype = self.placement.device, self.placement.dtype
        config = AutoConfig.from_pretrained(model_id, **kwargs)
        kind = config.model_type
        if kind not in (VITS, SPEECHT5):
            raise ModelUnavailable(
                self.name, model_id, f"{kind!r} models are not supported; use VITS or SpeechT5"
            )
        vocoder = None
        if kind == SPEECHT5:
            vocoder = SpeechT5HifiGan.from_pretrained(
                self.settings.speak_vocoder, dtype=dtype, **kwargs
            )
            vocoder.to(device).eval()
        pipe = pipeline(
            "text-to-speech",
            model=model_id,
            config=config,
            vocoder=vocoder,
            device=device,
            dtype=dtype,
            **kwargs,
        )
        pipe.model.eval()
        voices = self._load_voices(model_id, kind, config)
        self._kind = kind
        return Speaker(
            pipe=pipe,
            kind=kind,
            voices=voices,
            sampling_rate=int(pipe.sampling_rate),
            max_tokens=max_input_tokens(pipe.tokenizer, pipe.model),
            device=device,
            language=language_of_voice(model_id, getattr(pipe.tokenizer, "language", None)),
        )

    def _load_voices(self, model_id: str, kind: str, config: Any) -> dict[str, torch.Tensor | None]:
        """Every configured voice's speaker embedding, so that a broken SPEAK_VOICES
        entry shows at load time (and in /status), not in one user's request."""
        if kind != SPEECHT5:
            return {DEFAULT_VOICE: None}
        configured = self._configured_voices()
        if not configured:
            raise ModelUnavailable(self.name, model_id, "SPEAK_VOICES is empty")
        uses_rows = any(isinstance(source, int) for source in configured.values())
        table = self._xvectors(model_id) if uses_rows else None
        voices: dict[str, torch.Tensor | None] = {}
        for name, source in configured.items():
            if isinstance(source, int):
                vector = xvector_row(table, name, source)
            else:
                vector = np.load(Path(source).expanduser(), allow_pickle=False)
            vector = np.asarray(vector, dtype=np.float32).reshape(-1)
            if vector.size != config.speaker_embedding_dim:
                raise ModelUnavailable(
                    self.name,
                    model_id,
                    f"voice {name!r} has {vector.size} values; the model takes "
                    f"{config.speaker_embedding_dim}",
                )
            voices[name] = torch.from_numpy(vector).to(self.placement.device, self.placement.dtype)
        return voices

    def _xvectors(self, model_id: str) -> Any:
        from datasets import load_dataset  # slow to import; only SpeechT5 needs it

        source = self.settings.speak_xvectors
        try:
            return load_dataset(source, split=XVECTOR_SPLIT, token=self.settings.token())
        except Exception as exc:  # datasets' messages run to many lines: keep the first
            first = next((line for line in str(exc).splitlines() if line.strip()), repr(exc))
            raise ModelUnavailable(
                self.name, model_id, f"the speaker x-vectors {source!r} do not load: {first[:200]}"
            ) from exc

    # -- run ----------------------------------------------------------------------

    def run_batch(
        self,
        models: Mapping[str, Any],
        requests: Sequence[SpeakRequest],
        ctx: BatchContext,
    ) -> list[SpeakResult | InferenceError]:
        speaker: Speaker = models[self.model]
        errors: list[InferenceError | None] = [None] * len(requests)
        voices: list[str] = []
        pieces: list[list[str]] = []
        unspoken: list[list[str]] = []
        for i, request in enumerate(requests):
            voice = request.voice
            if voice not in speaker.voices:  # parsed before the model's kind was known
                if voice == DEFAULT_VOICE:
                    voice = next(iter(speaker.voices))
                else:
                    errors[i] = self._unknown_voice(voice, list(speaker.voices))
            voices.append(voice)
            said, missing = speaker.pieces(request.chunks) if errors[i] is None else ([], [])
            pieces.append(said)
            unspoken.append(missing)
            if errors[i] is None and not pieces[i]:
                errors[i] = InvalidInput("The text has nothing this voice can pronounce.")

        clips = self._synthesise(speaker, voices, pieces, errors, ctx)

        rate = speaker.sampling_rate
        max_samples = int(self.settings.speak_max_seconds * rate)
        results: list[SpeakResult | InferenceError] = []
        for i, request in enumerate(requests):
            error = errors[i] or (
                JobCancelled("The request was cancelled.") if ctx.cancelled(i) else None
            )
            if error is not None:
                results.append(error)
                continue
            audio = join_with_pauses(clips[i], rate)
            truncated = len(clips[i]) < len(pieces[i]) or audio.size > max_samples
            audio = audio[:max_samples]
            results.append(
                SpeakResult(
                    wav=encode_wav(audio, rate),
                    file_name=_file_name(request.text),
                    duration_s=round(audio.size / rate, 3),
                    sampling_rate=rate,
                    voice=voices[i],
                    model=self.model,
                    chunks=len(clips[i]),
                    truncated=truncated,
                    unspoken=unspoken[i],
                )
            )
        return results

    def _synthesise(
        self,
        speaker: Speaker,
        voices: Sequence[str],
        pieces: Sequence[Sequence[str]],
        errors: Sequence[InferenceError | None],
        ctx: BatchContext,
    ) -> list[list[np.ndarray]]:
        """Synthesise the pieces of every request in shared padded passes.

        Passes take the first piece of every request, then the second..., so that all
        requests progress together; a request stops getting passes once its speech
        reaches SPEAK_MAX_SECONDS (the rest would be cut anyway) or it is cancelled.
        """
        rate = speaker.sampling_rate
        max_samples = self.settings.speak_max_seconds * rate
        pause = round(PAUSE_S * rate)
        order = sorted(
            ((i, j) for i, p in enumerate(pieces) for j in range(len(p))),
            key=lambda ij: (ij[1], ij[0]),
        )
        clips: list[list[np.ndarray]] = [[] for _ in pieces]
        length = [0] * len(pieces)  # samples so far, pauses included
        done = [error is not None for error in errors]
        cursor = 0
        while cursor < len(order):
            batch: list[tuple[int, int]] = []
            while cursor < len(order) and len(batch) < MAX_PIECES_PER_PASS:
                i, j = order[cursor]
                cursor += 1
                if not done[i] and not ctx.cancelled(i):
                    batch.append((i, j))
            if not batch:
                continue
            ctx.checkpoint()
            waves = speaker.synthesise(
                [pieces[i][j] for i, j in batch],
                [voices[i] for i, _ in batch],
                self.settings.speak_seed,
            )
            for (i, _), wave in zip(batch, waves, strict=True):
                if done[i]:  # reached the limit with an earlier piece of this pass
                    continue
                length[i] += (pause if clips[i] else 0) + wave.size
                clips[i].append(wave)
                ctx.progress(i, len(clips[i]), len(pieces[i]))
                done[i] = length[i] >= max_samples
        return clips


# -- helpers --------------------------------------------------------------------


def _file_name(text: str, max_chars: int = 40) -> str:
    """``hello-there.wav`` from "Hello there!"; ``speech.wav`` when no ASCII word is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    slug = ""
    for word in re.findall(r"[a-z0-9]+", ascii_text):
        if len(slug) + len(word) + 1 > max_chars:
            break
        slug = f"{slug}-{word}" if slug else word
    return f"{slug or 'speech'}.wav"
