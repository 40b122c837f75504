"""The speak task on tiny VITS and SpeechT5 models, through the service like real model ids.

Facts about the tiny models this file relies on (tests/tiny_models.py): VITS samples its
durations, so only SpeechT5 gives exact lengths: every input token (one per character,
plus the end token) gives 1280 samples at 16 kHz, and a padded pass gives every piece the
length of the longest.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from inference import InferenceService, InferenceSettings, InvalidInput
from inference.audio import PAUSE_S, encode_wav, fit_wav
from inference.errors import ModelUnavailable
from inference.tasks.speak import SpeakResult
from inference.tasks.speak_voices import Speaker
from inference.text import split_sentences, split_to_fit
from tests.inference.test_cli import cli
from tests.tiny_models import build_speecht5

RATE = 16_000
SAMPLES_PER_TOKEN = 1280


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def short_speecht5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SpeechT5 that reads 32 tokens at most, to hit the token limit with short texts."""
    return build_speecht5(tmp_path_factory.mktemp("speecht5-32"), max_length=32)


def settings(tiny_models: dict[str, Path], **extra: object) -> InferenceSettings:
    return InferenceSettings(
        _env_file=None,
        speak_vocoder=str(tiny_models["speecht5_vocoder"]),
        speak_xvectors=str(tiny_models["xvectors"]),
        **extra,
    )


def read_wav(result: SpeakResult) -> np.ndarray:
    info = sf.info(io.BytesIO(result.wav))
    assert info.subtype == "PCM_16"
    assert info.samplerate == result.sampling_rate
    assert info.channels == 1
    samples, _ = sf.read(io.BytesIO(result.wav), dtype="float32")
    assert samples.size / info.samplerate == pytest.approx(result.duration_s, abs=1e-3)
    return samples


@pytest.fixture
async def vits(tiny_models: dict[str, Path]):
    async with InferenceService(
        settings(tiny_models), models={"speak": str(tiny_models["speak"])}
    ) as service:
        yield service


@pytest.fixture
async def speecht5(tiny_models: dict[str, Path]):
    npy = str(tiny_models["speaker_embedding"])
    voices = {"slt": 7306, "bdl": 1699, "mine": npy}
    async with InferenceService(
        settings(tiny_models, speak_voices=voices, speak_voice="bdl"),
        models={"speak": str(tiny_models["speecht5"])},
    ) as service:
        yield service


# -- VITS ---------------------------------------------------------------------------


async def test_vits_gives_a_16_bit_wav(vits: InferenceService) -> None:
    result = await vits.run("speak", text="Hello there, general Kenobi")
    samples = read_wav(result)
    assert result.sampling_rate == RATE
    assert samples.size > 0
    assert (result.voice, result.chunks, result.truncated) == ("default", 1, False)
    assert result.attachment() == ("hello-there-general-kenobi.wav", result.wav)
    data = result.to_dict()
    json.dumps(data)
    assert "wav" not in data
    assert data["model"].endswith("speak")


async def test_vits_has_one_voice(vits: InferenceService) -> None:
    assert vits.task("speak").voices() == ["default"]
    with pytest.raises(InvalidInput, match=r"Unknown voice 'slt'; choose one of: default\."):
        await vits.run("speak", text="hi", voice="slt")


async def test_vits_noise_is_seeded(vits: InferenceService) -> None:
    first = await vits.run("speak", text="the same words again")
    torch.rand(3)  # whatever else ran in between
    second = await vits.run("speak", text="the same words again")
    assert first.wav == second.wav


async def test_vits_seed_does_not_touch_the_global_generator(vits: InferenceService) -> None:
    await vits.run("speak", text="load the model first")  # loading draws random numbers
    torch.manual_seed(123)
    expected = torch.rand(4)
    torch.manual_seed(123)
    await vits.run("speak", text="hello")
    assert torch.equal(torch.rand(4), expected)


async def test_long_speech_is_cut_at_the_limit(tiny_models: dict[str, Path]) -> None:
    async with InferenceService(
        settings(tiny_models, speak_max_seconds=0.5), models={"speak": str(tiny_models["speak"])}
    ) as service:
        result = await service.run("speak", text="One two three. " * 20)
    assert result.truncated is True
    assert 0 < result.duration_s <= 0.5
    assert read_wav(result).size == round(result.duration_s * RATE)
    assert result.chunks < 20  # stopped synthesising once the limit was reached


async def test_vits_batch_trims_each_clip(vits: InferenceService) -> None:
    texts = ["hi", "a much longer sentence than the first one, with many more words in it"]
    together = await asyncio.gather(*(vits.run("speak", text=t) for t in texts))
    short, long = (read_wav(r) for r in together)
    assert short.size < long.size / 3  # not padded to the longest clip
    assert {r.sampling_rate for r in together} == {RATE}


async def test_a_script_the_voice_lacks_is_refused(vits: InferenceService) -> None:
    with pytest.raises(InvalidInput, match="nothing this voice can pronounce"):
        await vits.run("speak", text="東京 Жж")


async def test_digits_are_read_as_words_by_a_letters_only_model(vits: InferenceService) -> None:
    result = await vits.run("speak", text="123 456")
    assert result.duration_s > 0 and result.unspoken == []


# -- SpeechT5 -----------------------------------------------------------------------


async def test_speecht5_wav_with_dataset_row_and_npy_voices(speecht5: InferenceService) -> None:
    task = speecht5.task("speak")
    assert task.voices() == ["bdl", "slt", "mine"]  # SPEAK_VOICE first
    for voice in ("slt", "mine"):
        result = await speecht5.run("speak", text="Hi you", voice=voice)
        samples = read_wav(result)
        assert result.voice == voice
        assert result.sampling_rate == RATE
        assert samples.size == 8 * SAMPLES_PER_TOKEN  # "▁hi▁you" + end token
        assert np.abs(samples).max() > 0.01
    assert (await speecht5.run("speak", text="Hi you")).voice == "bdl"


async def test_speecht5_voices_sound_different(speecht5: InferenceService) -> None:
    slt, bdl, slt_again = [
        await speecht5.run("speak", text="Hello", voice=v) for v in ("SLT", "bdl", "slt")
    ]
    assert slt.duration_s == bdl.duration_s
    assert not np.allclose(read_wav(slt), read_wav(bdl), atol=1e-3)
    assert slt.wav == slt_again.wav


async def test_default_voice_before_the_model_kind_is_known(
    tiny_models: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # A Hub model that is not downloaded yet and whose name does not say "speecht5":
    # "default" is all parse() can offer, and the loaded model resolves it.
    monkeypatch.setattr("inference.tasks.speak.peek_model_type", lambda model: None)
    model = shutil.copytree(tiny_models["speecht5"], tmp_path / "tts")
    async with InferenceService(
        settings(tiny_models, speak_voice="bdl"), models={"speak": str(model)}
    ) as service:
        assert service.task("speak").voices() == ["default"]
        result = await service.run("speak", text="Hi", voice="default")
        assert result.voice == "bdl"
        assert service.task("speak").voices()[:2] == ["bdl", "slt"]


async def test_unknown_voice_lists_the_voices(speecht5: InferenceService) -> None:
    with pytest.raises(InvalidInput, match=r"Unknown voice 'zed'; choose one of: bdl, slt, mine\."):
        await speecht5.run("speak", text="hi", voice="zed")


async def test_sentences_are_joined_with_pauses(speecht5: InferenceService) -> None:
    one = await speecht5.run("speak", text="Abc def.")
    three = await speecht5.run("speak", text="Abc def. Ghi jkl! Mno pqr?")
    assert (one.chunks, three.chunks) == (1, 3)
    assert three.duration_s == pytest.approx(3 * one.duration_s + 2 * PAUSE_S, abs=1e-3)
    samples = read_wav(three)
    pause = samples[round(one.duration_s * RATE) : round((one.duration_s + PAUSE_S) * RATE)]
    assert pause.size > 0 and not pause.any()


async def test_batched_requests_match_single_runs(
    speecht5: InferenceService, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = [("Aaa bb", "slt"), ("Ccc dd", "bdl"), ("Eee ff", "mine")]
    alone = [await speecht5.run("speak", text=t, voice=v) for t, v in requests]

    passes: list[list[str]] = []
    synthesise = Speaker.synthesise

    def spy(self: Speaker, texts: list[str], voices: list[str], seed: int) -> list[np.ndarray]:
        passes.append(list(voices))
        return synthesise(self, texts, voices, seed)

    monkeypatch.setattr(Speaker, "synthesise", spy)
    together = await asyncio.gather(*(speecht5.run("speak", text=t, voice=v) for t, v in requests))
    assert passes == [["slt", "bdl", "mine"]]  # one padded pass, a voice per row
    for a, b in zip(alone, together, strict=True):
        assert (a.duration_s, a.sampling_rate, a.chunks, a.voice) == (
            b.duration_s,
            b.sampling_rate,
            b.chunks,
            b.voice,
        )
        assert np.allclose(read_wav(a), read_wav(b), atol=2e-3)


async def test_sentence_longer_than_the_model_reads_is_split(
    tiny_models: dict[str, Path], short_speecht5: Path
) -> None:
    text = "one two three four five six seven eight nine ten eleven"  # 56 tokens > 32
    async with InferenceService(
        settings(tiny_models), models={"speak": str(short_speecht5)}
    ) as service:
        result = await service.run("speak", text=text)
    assert result.chunks == 2
    pieces = split_to_fit(text, lambda piece: len(piece) + 2 <= 32)
    longest = max(len(p) for p in pieces) + 2  # padded to the longest piece of the pass
    assert result.duration_s == pytest.approx(2 * longest * 0.08 + PAUSE_S, abs=1e-3)


async def test_broken_voice_setting_makes_the_model_unavailable(
    tiny_models: dict[str, Path],
) -> None:
    async with InferenceService(
        settings(tiny_models, speak_voices={"far": 99_999}),
        models={"speak": str(tiny_models["speecht5"])},
    ) as service:
        with pytest.raises(ModelUnavailable, match="row 99999 is outside"):
            await service.run("speak", text="hi")


async def test_voice_named_after_another_speakers_row_is_logged(
    tiny_models: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    async with InferenceService(
        settings(tiny_models, speak_voices={"slt": 0}),
        models={"speak": str(tiny_models["speecht5"])},
    ) as service:
        await service.run("speak", text="Hi")
    assert "voice 'slt' uses row 0, which is speaker 'awb'" in caplog.text


async def test_unsupported_model_type(tiny_models: dict[str, Path]) -> None:
    async with InferenceService(
        settings(tiny_models), models={"speak": str(tiny_models["sentiment"])}
    ) as service:
        with pytest.raises(ModelUnavailable, match="'distilbert' models are not supported"):
            await service.run("speak", text="hi")


# -- input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        (" \n ", "empty"),
        ("x" * 2001, "too long"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        ("?! ...", "no words"),
        (None, "Please give"),
    ],
)
async def test_bad_input(vits: InferenceService, text: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        await vits.run("speak", text=text)


async def test_unknown_option(vits: InferenceService) -> None:
    with pytest.raises(InvalidInput, match="no option 'speed'"):
        await vits.run("speak", text="hi", speed=2)


def test_split_sentences() -> None:
    text = 'Dr. Smith met J. R. Ewing. Hello!\nNew line "quoted." Last one'
    assert split_sentences(text, 300) == [
        "Dr. Smith met J. R. Ewing.",
        "Hello!",
        'New line "quoted."',
        "Last one",
    ]
    long = "word " * 100 + "end, " + "more " * 10
    pieces = split_sentences(long, 60)
    assert all(len(p) <= 60 for p in pieces)
    assert " ".join(pieces).split() == long.split()
    assert split_sentences("x" * 130, 60) == ["x" * 60, "x" * 60, "x" * 10]


# -- fit_wav ------------------------------------------------------------------------


def test_fit_wav_resamples_down_until_it_fits() -> None:
    seconds = 2.0
    t = np.arange(int(24_000 * seconds)) / 24_000
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([tone, tone], axis=1).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, stereo, 24_000, format="WAV", subtype="PCM_16")
    wav = buffer.getvalue()

    assert fit_wav(wav, len(wav)) is wav
    fitted = fit_wav(wav, 40_000)  # 16 kHz mono is 64 kB, 8 kHz mono 32 kB
    assert fitted is not None and len(fitted) <= 40_000
    samples, rate = sf.read(io.BytesIO(fitted), dtype="float32")
    assert (rate, samples.ndim) == (8_000, 1)
    assert samples.size / rate == pytest.approx(seconds, abs=1e-3)
    # the 440 Hz tone survives: its spectrum peaks there
    spectrum = np.abs(np.fft.rfft(samples))
    assert np.fft.rfftfreq(samples.size, 1 / rate)[spectrum.argmax()] == pytest.approx(440, abs=2)
    assert fit_wav(wav, 10_000) is None


def test_fit_wav_mono_first_when_that_is_enough() -> None:
    stereo = np.zeros((16_000, 2), dtype=np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, stereo, 16_000, format="WAV", subtype="PCM_16")
    fitted = fit_wav(buffer.getvalue(), 40_000)
    assert fitted is not None
    assert sf.info(io.BytesIO(fitted)).samplerate == 16_000
    assert sf.info(io.BytesIO(fitted)).channels == 1


def test_encode_wav_clips_instead_of_wrapping() -> None:
    samples, _ = sf.read(io.BytesIO(encode_wav(np.array([2.0, -2.0, 0.5]), RATE)))
    assert samples[0] > 0.99 and samples[1] < -0.99


# -- command line -------------------------------------------------------------------


def test_cli_writes_the_wav_and_prints_json(
    tiny_models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = tmp_path / "hello.wav"
    done = cli(
        "run", "speak", "Hello there", "--out", str(out), "--model", str(tiny_models["speak"])
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["path"] == str(out)
    assert data["sampling_rate"] == RATE
    samples, rate = sf.read(out)
    assert rate == RATE
    assert samples.size / rate == pytest.approx(data["duration_s"], abs=1e-3)
