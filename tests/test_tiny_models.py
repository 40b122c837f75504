"""Checks that every tiny model from tests/tiny_models.py works through the API
the bot uses with it (transformers 5 / diffusers 0.42), fully offline."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import torch

from tests import tiny_models

EXPECTED_KEYS = {
    "embed",
    "sentiment",
    "ner",
    "qa",
    "summarize",
    "translate",
    "classify",
    "generate",
    "chat",
    "imagine",
    "speak",
    "speecht5",
    "speecht5_vocoder",
    "speaker_embedding",
    "xvectors",
}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict[str, float]]:
    timings: dict[str, float] = {}
    paths = tiny_models.build_all(tmp_path_factory.mktemp("tiny-models"), timings=timings)
    return paths, timings


@pytest.fixture(scope="module")
def paths(built: tuple[dict, dict[str, float]]) -> dict:
    return built[0]


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------
# build_all
# --------------------------------------------------------------------------


def test_build_all_keys_files_and_speed(built: tuple[dict, dict[str, float]]) -> None:
    paths, timings = built
    assert set(paths) == EXPECTED_KEYS
    assert set(timings) == EXPECTED_KEYS
    for key, path in paths.items():
        assert Path(path).exists(), key
    for key in (
        "sentiment",
        "ner",
        "qa",
        "summarize",
        "classify",
        "generate",
        "chat",
        "speak",
        "speecht5",
    ):
        files = {p.name for p in Path(paths[key]).iterdir()}
        assert "model.safetensors" in files, key
        assert "pytorch_model.bin" not in files, key
        assert "tokenizer_config.json" in files, key
    assert (Path(paths["speecht5_vocoder"]) / "model.safetensors").exists()
    assert not list(Path(paths["imagine"]).rglob("*.bin"))
    assert len(list(Path(paths["imagine"]).rglob("*.safetensors"))) == 3


def test_builds_are_deterministic(tmp_path: Path) -> None:
    a = tiny_models.build_sentiment(tmp_path / "a")
    b = tiny_models.build_sentiment(tmp_path / "b")
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    c = tiny_models.build_marian(tmp_path / "c", "en", "de")
    d = tiny_models.build_marian(tmp_path / "d", "en", "de")
    for name in ("model.safetensors", "source.spm", "target.spm", "vocab.json"):
        assert (c / name).read_bytes() == (d / name).read_bytes(), name


# --------------------------------------------------------------------------
# sentiment / ner / qa / classify
# --------------------------------------------------------------------------


def test_sentiment_pipeline(paths: dict) -> None:
    from transformers import AutoTokenizer, pipeline

    tok = AutoTokenizer.from_pretrained(paths["sentiment"])
    assert tok.is_fast
    assert tok.model_max_length == 64
    clf = pipeline("text-classification", model=str(paths["sentiment"]))
    assert clf.model.config.id2label == {0: "NEGATIVE", 1: "POSITIVE"}
    (top,) = clf("I love this movie!")
    assert top["label"] in {"NEGATIVE", "POSITIVE"}
    assert 0.0 <= top["score"] <= 1.0
    results = clf(["I love it", "terrible " * 200], top_k=None, truncation=True)
    assert len(results) == 2
    for scores in results:
        assert {s["label"] for s in scores} == {"NEGATIVE", "POSITIVE"}
        assert sum(s["score"] for s in scores) == pytest.approx(1.0, abs=1e-5)
    assert len(tok("terrible " * 200, truncation=True)["input_ids"]) == 64


def test_ner_pipeline(paths: dict) -> None:
    from transformers import pipeline

    ner = pipeline("token-classification", model=str(paths["ner"]), aggregation_strategy="simple")
    assert ner.tokenizer.is_fast
    assert ner.model.config.id2label[0] == "O"
    assert set(ner.model.config.label2id) == set(tiny_models.CONLL_LABELS)
    # cased vocabulary
    assert ner.tokenizer.tokenize("Paris") != ner.tokenizer.tokenize("paris")
    text = "Angela Merkel visited Paris with Emmanuel Macron in June."
    entities = ner(text)
    assert entities, "random weights should still tag something"
    for ent in entities:
        assert ent["entity_group"] in {"PER", "ORG", "LOC", "MISC"}
        assert isinstance(ent["score"], np.float32)
        assert 0 <= ent["start"] < ent["end"] <= len(text)
    with pytest.raises(TypeError):
        pipeline("token-classification", model=str(paths["ner"]), grouped_entities=True)


def test_qa_model_and_overflowing_tokenizer(paths: dict) -> None:
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(paths["qa"])
    model = AutoModelForQuestionAnswering.from_pretrained(paths["qa"])
    assert tok.is_fast
    assert tok.model_max_length == 64
    question = "Where is the Eiffel Tower?"
    context = "The weather is nice today. " * 12 + "The Eiffel Tower is in Paris."
    enc = tok(
        question,
        context,
        truncation="only_second",
        max_length=tok.model_max_length,
        stride=16,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",
        return_tensors="pt",
    )
    n = enc["input_ids"].shape[0]
    assert n > 1
    assert enc["input_ids"].shape == (n, 64)
    assert enc["overflow_to_sample_mapping"].tolist() == [0] * n
    seq_ids = enc.sequence_ids(0)
    assert seq_ids[0] is None and 0 in seq_ids and 1 in seq_ids
    offsets = enc.pop("offset_mapping")
    enc.pop("overflow_to_sample_mapping")
    with torch.no_grad():
        out = model(**enc)
    assert out.start_logits.shape == (n, 64)
    assert out.end_logits.shape == (n, 64)
    # offsets of context tokens point into the context
    i = seq_ids.index(1)
    start, end = offsets[0][i].tolist()
    assert context[start:end].lower() == tok.convert_ids_to_tokens(
        int(enc["input_ids"][0][i])
    ).lstrip("#")


def test_zero_shot_pipeline(paths: dict) -> None:
    from transformers import pipeline

    zsc = pipeline("zero-shot-classification", model=str(paths["classify"]))
    assert zsc.model.config.label2id == {"contradiction": 0, "neutral": 1, "entailment": 2}
    labels = ["sports", "politics", "cooking"]
    out = zsc("I love football", candidate_labels=labels)
    assert sorted(out["labels"]) == sorted(labels)
    assert sum(out["scores"]) == pytest.approx(1.0, abs=1e-5)
    multi = zsc("I love football", candidate_labels=labels, multi_label=True)
    assert sorted(multi["labels"]) == sorted(labels)
    assert all(0.0 <= s <= 1.0 for s in multi["scores"])
    assert zsc.tokenizer.model_max_length == 128
    long = zsc("football " * 500, candidate_labels=labels)
    assert len(long["labels"]) == 3


# --------------------------------------------------------------------------
# seq2seq: summarize / translate
# --------------------------------------------------------------------------


def test_summarize_generate(paths: dict) -> None:
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(paths["summarize"])
    model = AutoModelForSeq2SeqLM.from_pretrained(paths["summarize"])
    assert tok.is_fast
    assert tok.model_max_length == 128
    gc = model.generation_config
    assert (gc.decoder_start_token_id, gc.bos_token_id, gc.eos_token_id, gc.pad_token_id) == (
        2,
        0,
        2,
        1,
    )
    assert gc.max_length == 32
    enc = tok(
        ["The quick brown fox jumps over the lazy dog. " * 40, "Hello."],
        truncation=True,
        padding=True,
        return_tensors="pt",
    )
    assert enc["input_ids"].shape[1] == 128
    out = model.generate(**enc)
    assert out.shape[0] == 2 and out.shape[1] <= 32
    texts = tok.batch_decode(out, skip_special_tokens=True)
    assert all(isinstance(t, str) for t in texts)
    short = model.generate(**enc, max_new_tokens=5, min_new_tokens=1, num_beams=1)
    assert short.shape[1] <= 6


@pytest.mark.parametrize("pair", tiny_models.MARIAN_PAIRS)
def test_translate_generate(paths: dict, pair: tuple[str, str]) -> None:
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, MarianTokenizer

    src, tgt = pair
    model_dir = Path(f"{paths['translate']}/opus-mt-{{src}}-{{tgt}}".format(src=src, tgt=tgt))
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir)
    assert isinstance(tok, MarianTokenizer)
    assert (tok.source_lang, tok.target_lang) == (src, tgt)
    assert type(model).__name__ == "MarianMTModel"
    enc = tok(
        ["Hello, how are you today?", "Paris " * 300],
        truncation=True,
        padding=True,
        return_tensors="pt",
    )
    assert enc["input_ids"].shape[1] == tok.model_max_length == 128
    out = model.generate(**enc, max_new_tokens=8)
    assert out.shape[0] == 2
    texts = tok.batch_decode(out, skip_special_tokens=True)
    assert all(isinstance(t, str) and "<pad>" not in t for t in texts)


def test_build_marian_other_pair(tmp_path: Path) -> None:
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    path = tiny_models.build_marian(tmp_path / "opus-mt-it-en", "it", "en")
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSeq2SeqLM.from_pretrained(path)
    out = model.generate(**tok(["Ciao"], return_tensors="pt"), max_new_tokens=4)
    assert isinstance(tok.decode(out[0], skip_special_tokens=True), str)


# --------------------------------------------------------------------------
# causal LMs
# --------------------------------------------------------------------------


def test_gpt2_text_generation(paths: dict) -> None:
    from transformers import AutoTokenizer, pipeline

    tok = AutoTokenizer.from_pretrained(paths["generate"])
    assert tok.is_fast
    assert tok.pad_token is None, "like the real GPT-2"
    assert tok.chat_template is None
    assert tok.model_max_length == 1024
    gen = pipeline("text-generation", model=str(paths["generate"]))
    (out,) = gen("Once upon a time", max_new_tokens=8, do_sample=False)
    assert out["generated_text"].startswith("Once upon a time")
    # what the bot does for batches: pad = eos, left padding
    gen.tokenizer.pad_token = gen.tokenizer.eos_token
    gen.tokenizer.padding_side = "left"
    outs = gen(
        ["Hi", "The quick brown fox jumps over"],
        max_new_tokens=6,
        do_sample=True,
        temperature=0.8,
        batch_size=2,
        pad_token_id=gen.tokenizer.eos_token_id,
    )
    assert [o[0]["generated_text"][:2] for o in outs] == ["Hi", "Th"]
    # the default max_new_tokens (256) fits into the positions
    (full,) = gen("Hello", do_sample=False)
    assert len(full["generated_text"]) > len("Hello")


def test_chat_template_and_pipeline(paths: dict) -> None:
    from transformers import AutoTokenizer, pipeline

    tok = AutoTokenizer.from_pretrained(paths["chat"])
    assert tok.is_fast
    assert tok.chat_template
    messages = [
        {"role": "system", "content": "You are a helpful bot."},
        {"role": "user", "content": "Hello!"},
    ]
    text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert text == (
        "<|im_start|>system\nYou are a helpful bot.<|im_end|>\n"
        "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n"
    )
    ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_dict=False)
    assert ids[0] == tok.convert_tokens_to_ids("<|im_start|>")
    assert tok.decode(ids) == text
    assert tok.eos_token == "<|im_end|>"
    assert tok.pad_token == "<|endoftext|>"
    gen = pipeline("text-generation", model=str(paths["chat"]))
    assert type(gen.model).__name__ == "LlamaForCausalLM"
    (out,) = gen(messages, max_new_tokens=8, do_sample=False)
    conversation = out["generated_text"]
    assert conversation[:2] == messages
    assert conversation[-1]["role"] == "assistant"
    assert isinstance(conversation[-1]["content"], str)
    (plain,) = gen("Hello", max_new_tokens=4, do_sample=False)
    assert plain["generated_text"].startswith("Hello")


# --------------------------------------------------------------------------
# imagine
# --------------------------------------------------------------------------


def _sd_call(pipe, prompt: str, seed: int, **kwargs):
    return pipe(
        prompt,
        num_inference_steps=2,
        height=64,
        width=64,
        generator=torch.Generator().manual_seed(seed),
        **kwargs,
    )


def test_stable_diffusion(paths: dict) -> None:
    from diffusers import DiffusionPipeline, StableDiffusionPipeline
    from PIL import Image

    pipe = DiffusionPipeline.from_pretrained(paths["imagine"])
    assert isinstance(pipe, StableDiffusionPipeline)
    assert pipe.safety_checker is None
    assert pipe.tokenizer.model_max_length == 77
    steps: list[int] = []

    def on_step_end(p, step: int, timestep, callback_kwargs: dict) -> dict:
        steps.append(step)
        assert "latents" in callback_kwargs
        return callback_kwargs

    out = _sd_call(pipe, "a cat", 0, negative_prompt="blurry", callback_on_step_end=on_step_end)
    (image,) = out.images
    assert isinstance(image, Image.Image)
    assert image.size == (64, 64)
    assert steps == [0, 1]
    again = _sd_call(pipe, "a cat", 0, negative_prompt="blurry").images[0]
    other = _sd_call(pipe, "a cat", 1, negative_prompt="blurry").images[0]
    assert np.array_equal(np.asarray(image), np.asarray(again))
    assert not np.array_equal(np.asarray(image), np.asarray(other))
    wide = pipe("a dog", num_inference_steps=1, height=64, width=96).images[0]
    assert wide.size == (96, 64)
    assert pipe("default size", num_inference_steps=1).images[0].size == (64, 64)


@pytest.mark.parametrize("flag_everything", [False, True])
def test_stable_diffusion_with_safety_checker(tmp_path: Path, flag_everything: bool) -> None:
    from diffusers import DiffusionPipeline

    path = tiny_models.build_stable_diffusion(
        tmp_path / "sd", safety_checker=True, flag_everything_nsfw=flag_everything
    )
    assert _json(path / "model_index.json")["safety_checker"][1] == "StableDiffusionSafetyChecker"
    pipe = DiffusionPipeline.from_pretrained(path)
    assert pipe.safety_checker is not None
    out = _sd_call(pipe, "a cat", 0)
    assert out.nsfw_content_detected == [flag_everything]
    pixels = np.asarray(out.images[0])
    assert pixels.shape == (64, 64, 3)
    assert bool(pixels.max() == 0) == flag_everything


# --------------------------------------------------------------------------
# speak
# --------------------------------------------------------------------------


def test_vits_text_to_speech(paths: dict) -> None:
    from transformers import pipeline

    tts = pipeline("text-to-speech", model=str(paths["speak"]))
    assert type(tts.model).__name__ == "VitsModel"
    torch.manual_seed(0)
    out = tts("Hello world, this is a test!")
    assert set(out) == {"audio", "sampling_rate"}
    assert out["sampling_rate"] == 16000
    assert isinstance(out["audio"], np.ndarray)
    assert out["audio"].dtype == np.float32
    assert out["audio"].size > 0
    assert np.isfinite(out["audio"]).all()


def test_speecht5_with_vocoder_and_speaker_embedding(paths: dict) -> None:
    import datasets
    from transformers import SpeechT5HifiGan, pipeline

    emb = np.load(paths["speaker_embedding"])
    assert emb.shape == (512,) and emb.dtype == np.float32
    vocoder = SpeechT5HifiGan.from_pretrained(paths["speecht5_vocoder"])
    tts = pipeline("text-to-speech", model=str(paths["speecht5"]), vocoder=vocoder)
    assert type(tts.model).__name__ == "SpeechT5ForTextToSpeech"
    out = tts("Hello world!", forward_params={"speaker_embeddings": torch.tensor(emb)[None]})
    assert out["sampling_rate"] == 16000
    audio = out["audio"]
    assert isinstance(audio, np.ndarray) and audio.ndim == 1
    # 10 decoder steps x 2 frames per input token, 64 samples per frame
    n_tokens = len(tts.tokenizer("Hello world!")["input_ids"])
    assert audio.shape == (n_tokens * 20 * 64,)

    ds = datasets.load_dataset(str(paths["xvectors"]), split="validation")
    assert ds.column_names == ["filename", "xvector"]
    assert len(ds) == 7931
    assert ds[7306]["filename"].startswith("cmu_us_slt_arctic")
    xvector = torch.tensor(ds[7306]["xvector"]).unsqueeze(0)
    assert xvector.shape == (1, 512)
    out2 = tts("Hi", forward_params={"speaker_embeddings": xvector})
    assert out2["audio"].size > 0
