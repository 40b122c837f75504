"""Loaded text-to-speech models and their voices, for the speak task.

``Speaker`` holds a loaded pipeline (VITS or SpeechT5), the speaker embeddings of its
voices and its limits, and synthesises one padded pass; the helpers read speaker
x-vectors and a model's kind without loading it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..spoken import speakable
from ..text import split_to_fit

log = logging.getLogger(__name__)

VITS = "vits"
SPEECHT5 = "speecht5"
#: The voice of single-speaker models.
DEFAULT_VOICE = "default"
#: Where SPEAK_XVECTORS keeps its x-vectors (as in regisss/cmu-arctic-xvectors).
XVECTOR_SPLIT = "validation"
XVECTOR_COLUMN = "xvector"
#: The speakers of CMU ARCTIC x-vector datasets (the default SPEAK_VOICES).
CMU_ARCTIC_SPEAKERS = frozenset({"awb", "bdl", "clb", "jmk", "ksp", "rms", "slt"})


@dataclass
class Speaker:
    """A loaded text-to-speech pipeline, the voices it can speak in and its limits."""

    pipe: Any
    kind: str
    #: Voice name -> speaker embedding on the model's device (None for VITS).
    voices: dict[str, torch.Tensor | None]
    sampling_rate: int
    max_tokens: int
    device: torch.device
    #: The voice's language (ISO 639-1), for writing numbers out; None when unknown.
    language: str | None = None

    def pieces(self, chunks: Sequence[str]) -> tuple[list[str], list[str]]:
        """The chunks with numbers and symbols written out (``speakable``), split further
        where the model cannot read them whole, without pieces that have nothing to
        pronounce (emoji, or letters the model lacks); and the characters this voice
        cannot say, which the speech leaves out."""
        tokenizer = self.pipe.tokenizer

        def fits(text: str) -> bool:
            return len(tokenizer(text)["input_ids"]) <= self.max_tokens

        spoken = [speakable(chunk, self.language) for chunk in chunks]
        pieces = [
            piece
            for chunk in spoken
            for piece in split_to_fit(chunk, fits)
            if self._pronounceable(piece)
        ]
        return pieces, self._unspeakable(" ".join(spoken))

    def _unspeakable(self, text: str) -> list[str]:
        """Characters of ``text`` a character-level voice (VITS) has no symbol for and
        drops. Voices that romanise (uroman) or phonemise first are not checked."""
        tokenizer = self.pipe.tokenizer
        if self.kind != VITS or getattr(tokenizer, "is_uroman", False):
            return []
        if getattr(tokenizer, "phonemize", False):
            return []
        vocab = tokenizer.get_vocab()
        if getattr(tokenizer, "normalize", False):
            text = text.lower()
        missing = (ch for ch in text if not ch.isspace() and ch not in vocab)
        return list(dict.fromkeys(ch for ch in missing if ch.isalnum() or not ch.isascii()))

    def _pronounceable(self, text: str) -> bool:
        tokenizer = self.pipe.tokenizer
        special = set(tokenizer.all_special_ids)
        ids = [i for i in tokenizer(text)["input_ids"] if i not in special]
        return any(
            any(ch.isalnum() for ch in str(token)) for token in tokenizer.convert_ids_to_tokens(ids)
        )

    def synthesise(
        self, texts: Sequence[str], voices: Sequence[str], seed: int
    ) -> list[np.ndarray]:
        """One padded pass over ``texts``; float32 waveforms trimmed to their lengths."""
        inputs = self.pipe.tokenizer(list(texts), padding=True, return_tensors="pt").to(self.device)
        with torch.inference_mode(), seeded(seed, self.device):
            if self.kind == SPEECHT5:
                embeddings = torch.stack([self.voices[v] for v in voices])  # type: ignore[misc]
                waves, lengths = self.pipe.model.generate(
                    input_ids=inputs["input_ids"],
                    attention_mask=inputs["attention_mask"],
                    speaker_embeddings=embeddings,
                    vocoder=self.pipe.vocoder,
                    return_output_lengths=True,
                )
            else:
                output = self.pipe.model(**inputs)
                waves, lengths = output.waveform, output.sequence_lengths.tolist()
        audio = waves.float().cpu().numpy()
        return [audio[k, : int(n)] for k, n in enumerate(lengths)]


def xvector_row(table: Any, name: str, row: int) -> Any:
    if not 0 <= row < len(table):
        raise ValueError(f"voice {name!r}: row {row} is outside the x-vectors (0-{len(table) - 1})")
    record = table[row]
    # CMU ARCTIC file names carry the speaker ("cmu_us_slt_arctic-..."): warn when a voice
    # named after one points at another speaker's row.
    speaker = re.match(r"cmu_us_([a-z]+)_arctic", str(record.get("filename", "")))
    if speaker and name in CMU_ARCTIC_SPEAKERS and speaker.group(1) != name:
        log.warning("voice %r uses row %d, which is speaker %r", name, row, speaker.group(1))
    return record[XVECTOR_COLUMN]


def peek_model_type(model_id: str) -> str | None:
    """The ``model_type`` of a local or already downloaded config.json; None when the
    config is not on this machine (nothing is fetched: this runs on the event loop)."""
    path = Path(model_id).expanduser()
    if path.is_dir():
        config_file: Any = path / "config.json"
    else:
        try:
            from huggingface_hub import try_to_load_from_cache

            config_file = try_to_load_from_cache(model_id, "config.json")
        except Exception:  # not a valid repo id, say
            return None
        if not isinstance(config_file, str):
            return None
    try:
        return json.loads(Path(config_file).read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's CPU (and this CUDA device's) generator for the block, then put their
    states back, so other tasks' sampling is not made repeatable by ours. A negative
    seed leaves the generators alone."""
    if seed < 0:
        yield
        return
    cuda = device.type == "cuda"
    index = (
        (device.index if device.index is not None else torch.cuda.current_device())
        if cuda
        else None
    )
    with torch.random.fork_rng(devices=[index] if cuda else []):
        torch.default_generator.manual_seed(seed)
        if cuda:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield
