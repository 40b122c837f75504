"""Tiny random-weight models, built offline in seconds, for the test suite.

Every ``build_*`` function writes a complete model directory with
``save_pretrained`` (safetensors) and returns its path, so tests load the
models through the same code path as a Hub id::

    pipeline("text-classification", model=str(path))
    AutoModelForSeq2SeqLM.from_pretrained(path)
    DiffusionPipeline.from_pretrained(path)

Nothing here touches the network.  Vocabularies come from a handful of
sentences: WordPiece and byte-level BPE vocabularies are learned here, in
plain Python with the ``tokenizers`` normalizers / pre-tokenizers (the
``tokenizers`` trainers break ties in hash-map order, so their output changes
from run to run); Marian and SpeechT5 use ``sentencepiece`` models trained in
memory.  They are wrapped in the matching transformers tokenizer class (fast,
``tokenizers``-backed, except Marian, VITS and SpeechT5 which have no fast
class).  Weights are random but deterministic: each builder seeds torch
(``seed=0`` by default).  Building twice gives byte-identical files, and the
same inputs give the same outputs.

The outputs of these models are meaningless (random labels, gibberish text,
noise images and audio); tests should check shapes, types and plumbing, not
content.

Maximum lengths (``tokenizer.model_max_length`` / positions in the model):

=============  =====================================  ==========
key            model                                  max length
=============  =====================================  ==========
sentiment      DistilBertForSequenceClassification    64
ner            BertForTokenClassification (cased)     64
qa             DistilBertForQuestionAnswering         64
summarize      BartForConditionalGeneration           128 (generation max_length 32)
translate      MarianMTModel (one dir per pair)       128 (generation max_length 32)
classify       BartForSequenceClassification (NLI)    128
generate       GPT2LMHeadModel (no pad token)         1024
chat           LlamaForCausalLM + ChatML template     2048
imagine        StableDiffusionPipeline                77 (CLIP), images 64x64 by default
speak          VitsModel (MMS-TTS style)              n/a (16 kHz audio)
speecht5       SpeechT5ForTextToSpeech                600 text tokens (16 kHz with vocoder)
=============  =====================================  ==========

``build_all(root)`` builds everything and returns a dict; see its docstring.
"""

from __future__ import annotations

import inspect
import io
import itertools
import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tests.tiny_docs_models import build_embedder

__all__ = [
    "CHATML_TEMPLATE",
    "MARIAN_PAIRS",
    "XVECTOR_SPEAKERS",
    "build_all",
    "build_bart_summarizer",
    "build_chat",
    "build_gpt2",
    "build_marian",
    "build_ner",
    "build_qa",
    "build_safety_checker",
    "build_sentiment",
    "build_speaker_embedding",
    "build_speecht5",
    "build_speecht5_vocoder",
    "build_stable_diffusion",
    "build_translate",
    "build_vits",
    "build_xvectors",
    "build_zero_shot",
]

# --------------------------------------------------------------------------
# corpora
# --------------------------------------------------------------------------

# Covers every ASCII letter (both cases), digit and common punctuation so that
# WordPiece / BPE vocabularies never need [UNK] for plain English text.
_ALPHABET_LINES = [
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789",
    "xabcdefghijklmnopqrstuvwxyz xABCDEFGHIJKLMNOPQRSTUVWXYZ x0123456789",
    ". , ! ? ' \" - : ; ( ) / & % $ # @ + = * _ [ ] { } < > ~ ^ | \\ `",
]

CORPUS: dict[str, list[str]] = {
    "en": [
        "I love this movie, it is wonderful and the actors are great!",
        "This was a terrible film and I hated every minute of it.",
        "The food was okay, but the service was slow.",
        "Angela Merkel visited Paris with Emmanuel Macron in June.",
        "Apple and Google opened new offices in London and Berlin.",
        "The Eiffel Tower is in Paris, the capital of France.",
        "Hugging Face is a company based in New York City.",
        "My name is Wolfgang and I live in Berlin.",
        "Where is the Eiffel Tower? It is in Paris.",
        "What is the capital of Germany? The capital of Germany is Berlin.",
        "The quick brown fox jumps over the lazy dog.",
        "Once upon a time, there was a little robot who wanted to paint.",
        "A photo of an astronaut riding a horse on the moon.",
        "Hello, how are you today? I am fine, thank you.",
        "Please summarize this long article about science and technology.",
        "The weather is nice today, so we will go to the park.",
    ],
    "fr": [
        "J'aime ce film, il est merveilleux et les acteurs sont excellents !",
        "La tour Eiffel est à Paris, la capitale de la France.",
        "Bonjour, comment allez-vous aujourd'hui ? Je vais bien, merci.",
        "Le renard brun rapide saute par-dessus le chien paresseux.",
        "Il fait beau aujourd'hui, alors nous irons au parc.",
        "Mon nom est Wolfgang et j'habite à Berlin.",
        "Où est la tour Eiffel ? Elle est à Paris.",
        "Il était une fois un petit robot qui voulait peindre.",
    ],
    "de": [
        "Ich liebe diesen Film, er ist wunderbar und die Schauspieler sind großartig!",
        "Der Eiffelturm ist in Paris, der Hauptstadt von Frankreich.",
        "Hallo, wie geht es Ihnen heute? Mir geht es gut, danke.",
        "Der schnelle braune Fuchs springt über den faulen Hund.",
        "Das Wetter ist heute schön, also gehen wir in den Park.",
        "Mein Name ist Wolfgang und ich wohne in Berlin.",
        "Wo ist der Eiffelturm? Er ist in Paris.",
        "Es war einmal ein kleiner Roboter, der malen wollte.",
    ],
    "es": [
        "Me encanta esta película, es maravillosa.",
        "La torre Eiffel está en París, la capital de Francia.",
        "Hola, ¿cómo estás hoy? Estoy bien, gracias.",
        "El rápido zorro marrón salta sobre el perro perezoso.",
        "Hace buen tiempo hoy, así que iremos al parque.",
        "Mi nombre es Wolfgang y vivo en Berlín.",
    ],
}


def _corpus(lang: str = "en") -> list[str]:
    """Sentences for ``lang`` (English for unknown codes) plus the alphabet lines."""
    return CORPUS.get(lang, CORPUS["en"]) + _ALPHABET_LINES


def _all_text() -> list[str]:
    lines: list[str] = []
    for sents in CORPUS.values():
        lines.extend(sents)
    return lines + _ALPHABET_LINES


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _seed(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)


def _prepare(path: Path | str) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _save_model(model: Any, path: Path) -> None:
    model.save_pretrained(path, safe_serialization=True)


_WORDPIECE_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_WORDPIECE_SUFFIXES = ["##s", "##es", "##ed", "##er", "##ing", "##ly", "##ion", "##al", "##en"]


def _wordpiece_vocab(lowercase: bool) -> dict[str, int]:
    """A deterministic BERT WordPiece vocabulary built from the corpus.

    [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, then every character seen (alone
    and as ``##c``), a few common suffixes and every corpus word.  Unknown
    words split into characters, so plain ASCII text never needs [UNK].
    (The ``tokenizers`` WordPiece trainer breaks ties in hash-map order, so
    it is not reproducible from run to run.)
    """
    from tokenizers import normalizers, pre_tokenizers

    normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words: set[str] = set()
    for line in _all_text():
        for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(line)):
            words.add(word)
    chars = sorted({c for w in words for c in w})
    tokens = (
        _WORDPIECE_SPECIALS
        + chars
        + [f"##{c}" for c in chars]
        + _WORDPIECE_SUFFIXES
        + sorted(w for w in words if len(w) > 1)
    )
    vocab: dict[str, int] = {}
    for token in tokens:
        vocab.setdefault(token, len(vocab))
    return vocab


def _learn_bpe(words: dict[tuple[str, ...], int], num_merges: int) -> list[tuple[str, str]]:
    """Plain BPE: repeatedly merge the most frequent adjacent pair.

    Ties break on the pair itself, so the result is reproducible (the
    ``tokenizers`` trainer breaks ties in hash-map order).
    """
    merges: list[tuple[str, str]] = []
    for _ in range(num_merges):
        pairs: dict[tuple[str, str], int] = {}
        for word, count in words.items():
            for pair in itertools.pairwise(word):
                pairs[pair] = pairs.get(pair, 0) + count
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        if pairs[best] < 2:
            break
        merges.append(best)
        joined = best[0] + best[1]
        merged: dict[tuple[str, ...], int] = {}
        for word, count in words.items():
            out: list[str] = []
            i = 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(joined)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + count
        words = merged
    return merges


def _bytelevel_bpe(
    special_tokens: list[str],
    vocab_size: int = 500,
    texts: Iterable[str] | None = None,
    end_of_word_suffix: str = "",
    lowercase: bool = False,
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Learn a byte-level BPE (GPT-2 / RoBERTa / CLIP style), deterministically.

    Special tokens get the first ids, in the order given, then the 256 byte
    symbols (and, with ``end_of_word_suffix``, their end-of-word forms), so
    any input can be encoded without an unknown token; then the merges.
    """
    from tokenizers import pre_tokenizers

    if end_of_word_suffix:
        # CLIP: words are split apart (no "Ġ" space marker), then byte-mapped
        pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Whitespace(),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    else:
        pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    words: dict[tuple[str, ...], int] = {}
    for line in list(texts) if texts is not None else _all_text():
        for piece, _ in pre_tokenizer.pre_tokenize_str(line.lower() if lowercase else line):
            symbols = list(piece)
            if end_of_word_suffix:
                symbols[-1] += end_of_word_suffix
            words[tuple(symbols)] = words.get(tuple(symbols), 0) + 1
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    if end_of_word_suffix:
        alphabet += [c + end_of_word_suffix for c in alphabet]
    vocab: dict[str, int] = {}
    for token in [*special_tokens, *alphabet]:
        vocab.setdefault(token, len(vocab))
    merges = _learn_bpe(words, max(vocab_size - len(vocab), 0))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    return vocab, merges


def _train_spm(
    texts: list[str],
    model_type: str = "unigram",
    vocab_size: int = 120,
    **kwargs: Any,
) -> bytes:
    """Train a sentencepiece model in memory and return its serialized proto."""
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=buf,
        model_type=model_type,
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        character_coverage=1.0,
        num_threads=1,
        minloglevel=2,
        **kwargs,
    )
    return buf.getvalue()


# --------------------------------------------------------------------------
# encoders: sentiment, ner, qa
# --------------------------------------------------------------------------

SENTIMENT_LABELS = {0: "NEGATIVE", 1: "POSITIVE"}
CONLL_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
NLI_LABELS = {0: "contradiction", 1: "neutral", 2: "entailment"}


def _distilbert_config(vocab_size: int, max_len: int, **kwargs: Any) -> Any:
    from transformers import DistilBertConfig

    return DistilBertConfig(
        vocab_size=vocab_size,
        dim=32,
        hidden_dim=37,
        n_layers=2,
        n_heads=2,
        max_position_embeddings=max_len,
        pad_token_id=0,
        **kwargs,
    )


def build_sentiment(path: Path, seed: int = 0, max_length: int = 64) -> Path:
    """DistilBERT sequence classifier, labels {0: NEGATIVE, 1: POSITIVE}.

    Fast ``DistilBertTokenizer`` (uncased WordPiece), ``model_max_length=64``;
    use ``truncation=True`` for longer text.
    """
    from transformers import DistilBertForSequenceClassification, DistilBertTokenizer

    path = _prepare(path)
    _seed(seed)
    tokenizer = DistilBertTokenizer(
        vocab=_wordpiece_vocab(lowercase=True), model_max_length=max_length
    )
    config = _distilbert_config(
        len(tokenizer),
        max_length,
        id2label=dict(SENTIMENT_LABELS),
        label2id={v: k for k, v in SENTIMENT_LABELS.items()},
    )
    _save_model(DistilBertForSequenceClassification(config), path)
    tokenizer.save_pretrained(path)
    return path


def build_ner(path: Path, seed: int = 0, max_length: int = 64) -> Path:
    """Cased BERT token classifier with the 9 CoNLL-2003 labels.

    Fast ``BertTokenizer`` (cased WordPiece, offsets mapping available), so
    ``aggregation_strategy="simple"`` works; ``model_max_length=64``.
    """
    from transformers import BertConfig, BertForTokenClassification, BertTokenizer

    path = _prepare(path)
    _seed(seed)
    tokenizer = BertTokenizer(
        vocab=_wordpiece_vocab(lowercase=False), do_lower_case=False, model_max_length=max_length
    )
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=max_length,
        type_vocab_size=2,
        pad_token_id=0,
        id2label=dict(enumerate(CONLL_LABELS)),
        label2id={label: i for i, label in enumerate(CONLL_LABELS)},
    )
    _save_model(BertForTokenClassification(config), path)
    tokenizer.save_pretrained(path)
    return path


def build_qa(path: Path, seed: int = 0, max_length: int = 64) -> Path:
    """DistilBERT extractive QA model (start/end logits) + fast tokenizer.

    Pair inputs ``(question, context)`` with ``truncation="only_second"``,
    ``stride``, ``return_overflowing_tokens`` and ``return_offsets_mapping``
    all work; ``model_max_length=64`` so long contexts overflow quickly.
    """
    from transformers import DistilBertForQuestionAnswering, DistilBertTokenizer

    path = _prepare(path)
    _seed(seed)
    tokenizer = DistilBertTokenizer(
        vocab=_wordpiece_vocab(lowercase=True), model_max_length=max_length
    )
    config = _distilbert_config(len(tokenizer), max_length)
    _save_model(DistilBertForQuestionAnswering(config), path)
    tokenizer.save_pretrained(path)
    return path


# --------------------------------------------------------------------------
# BART: summarize, zero-shot classify
# --------------------------------------------------------------------------


def _bart_tokenizer(max_length: int) -> Any:
    """RoBERTa-style byte-level BPE: <s>=0 <pad>=1 </s>=2 <unk>=3 <mask>=4."""
    from transformers import BartTokenizer

    vocab, merges = _bytelevel_bpe(["<s>", "<pad>", "</s>", "<unk>", "<mask>"], vocab_size=500)
    return BartTokenizer(vocab=vocab, merges=merges, model_max_length=max_length)


def _bart_config(vocab_size: int, max_length: int, **kwargs: Any) -> Any:
    from transformers import BartConfig

    return BartConfig(
        vocab_size=vocab_size,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=max_length,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_bos_token_id=0,
        forced_eos_token_id=2,
        **kwargs,
    )


def build_bart_summarizer(path: Path, seed: int = 0, max_length: int = 128) -> Path:
    """BART seq2seq (distilbart-cnn shaped) for ``AutoModelForSeq2SeqLM.generate``.

    Tokenizer: fast ``BartTokenizer`` (=RoBERTa byte-level BPE),
    ``model_max_length=128`` (inputs must be truncated to it).  Generation
    config: decoder_start=2 (</s>), bos=0, eos=2, pad=1, forced bos/eos,
    ``max_length=32``, ``min_length=4``, ``num_beams=2``,
    ``no_repeat_ngram_size=3``.
    """
    from transformers import BartForConditionalGeneration, GenerationConfig

    path = _prepare(path)
    _seed(seed)
    tokenizer = _bart_tokenizer(max_length)
    model = BartForConditionalGeneration(_bart_config(len(tokenizer), max_length))
    model.generation_config = GenerationConfig(
        bos_token_id=0,
        eos_token_id=2,
        pad_token_id=1,
        decoder_start_token_id=2,
        forced_bos_token_id=0,
        forced_eos_token_id=2,
        max_length=32,
        min_length=4,
        num_beams=2,
        no_repeat_ngram_size=3,
        early_stopping=True,
    )
    _save_model(model, path)
    tokenizer.save_pretrained(path)
    return path


def build_zero_shot(path: Path, seed: int = 0, max_length: int = 128) -> Path:
    """BART NLI classifier (bart-large-mnli shaped) for zero-shot classification.

    ``label2id = {contradiction: 0, neutral: 1, entailment: 2}``; fast
    ``BartTokenizer``, ``model_max_length=128``.
    """
    from transformers import BartForSequenceClassification

    path = _prepare(path)
    _seed(seed)
    tokenizer = _bart_tokenizer(max_length)
    config = _bart_config(
        len(tokenizer),
        max_length,
        id2label=dict(NLI_LABELS),
        label2id={v: k for k, v in NLI_LABELS.items()},
    )
    _save_model(BartForSequenceClassification(config), path)
    tokenizer.save_pretrained(path)
    return path


# --------------------------------------------------------------------------
# Marian translation
# --------------------------------------------------------------------------

MARIAN_PAIRS: tuple[tuple[str, str], ...] = (
    ("en", "fr"),
    ("fr", "en"),
    ("en", "de"),
    ("de", "en"),
    ("fr", "de"),
    ("de", "fr"),
    ("en", "es"),
    ("es", "en"),
)


def build_marian(
    path: Path,
    src: str = "en",
    tgt: str = "fr",
    seed: int = 0,
    max_length: int = 128,
    target_tokens: Sequence[str] = (),
) -> Path:
    """Marian MT model (opus-mt shaped) for ``src`` -> ``tgt``.

    ``source.spm`` / ``target.spm`` are sentencepiece unigram models trained
    on a few sentences of each language (English for unknown codes);
    ``vocab.json`` is the shared vocabulary (</s>=0, <unk>=1, pieces...,
    <pad>=last; ``target_tokens`` such as ``>>fra<<`` come before <pad>, as in
    multi-target models like opus-mt-en-zh).  ``AutoTokenizer`` gives the (slow, sentencepiece)
    ``MarianTokenizer``; ``model_max_length=128``.  Generation config:
    decoder_start = pad, eos=0, ``max_length=32``, greedy.
    """
    from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer

    path = _prepare(path)
    _seed(seed)
    spm_kwargs = {
        "unk_id": 2,
        "bos_id": -1,
        "eos_id": 1,
        "pad_id": 0,
        "unk_piece": "<unk>",
        "eos_piece": "</s>",
    }
    src_proto = _train_spm(_corpus(src), **spm_kwargs)
    tgt_proto = _train_spm(_corpus(tgt), **spm_kwargs)
    (path / "source.spm").write_bytes(src_proto)
    (path / "target.spm").write_bytes(tgt_proto)

    import sentencepiece as spm

    vocab: dict[str, int] = {"</s>": 0, "<unk>": 1}
    for proto in (src_proto, tgt_proto):
        sp = spm.SentencePieceProcessor(model_proto=proto)
        for i in range(sp.get_piece_size()):
            piece = sp.id_to_piece(i)
            if piece not in vocab and piece not in ("<pad>",) and not sp.is_control(i):
                vocab[piece] = len(vocab)
    for token in target_tokens:
        vocab.setdefault(token, len(vocab))
    vocab["<pad>"] = len(vocab)
    (path / "vocab.json").write_text(
        json.dumps(vocab, ensure_ascii=False, indent=1), encoding="utf-8"
    )

    tokenizer = MarianTokenizer(
        source_spm=str(path / "source.spm"),
        target_spm=str(path / "target.spm"),
        vocab=str(path / "vocab.json"),
        source_lang=src,
        target_lang=tgt,
        model_max_length=max_length,
    )
    pad_id = vocab["<pad>"]
    config = MarianConfig(
        vocab_size=len(vocab),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=max_length,
        pad_token_id=pad_id,
        eos_token_id=0,
        decoder_start_token_id=pad_id,
        forced_eos_token_id=0,
        share_encoder_decoder_embeddings=True,
        scale_embedding=True,
    )
    model = MarianMTModel(config)
    model.generation_config = GenerationConfig(
        bad_words_ids=[[pad_id]],
        decoder_start_token_id=pad_id,
        eos_token_id=0,
        forced_eos_token_id=0,
        pad_token_id=pad_id,
        max_length=32,
        num_beams=1,
    )
    _save_model(model, path)
    tokenizer.save_pretrained(path)
    return path


def build_translate(
    root: Path,
    pairs: Iterable[tuple[str, str]] = MARIAN_PAIRS,
    seed: int = 0,
) -> dict[tuple[str, str], Path]:
    """Build one Marian model per pair under ``root/opus-mt-{src}-{tgt}``.

    The layout mirrors ``Helsinki-NLP/opus-mt-{src}-{tgt}``, so a model id
    template of ``f"{root}/opus-mt-{{src}}-{{tgt}}"`` resolves every pair.
    """
    root = _prepare(root)
    return {(s, t): build_marian(root / f"opus-mt-{s}-{t}", s, t, seed=seed) for s, t in pairs}


# --------------------------------------------------------------------------
# causal LMs: GPT-2 and a Llama chat model
# --------------------------------------------------------------------------

CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- endif %}"
)


def build_gpt2(path: Path, seed: int = 0, max_length: int = 1024) -> Path:
    """GPT-2 LM with a byte-level BPE tokenizer, like ``openai-community/gpt2``.

    ``<|endoftext|>`` (id 0) is bos/eos/unk and there is NO pad token; the
    code under test must add one (e.g. pad = eos, ``padding_side="left"``).
    Fast ``GPT2Tokenizer``; ``model_max_length = n_positions = 1024``.
    """
    from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel, GPT2Tokenizer

    path = _prepare(path)
    _seed(seed)
    vocab, merges = _bytelevel_bpe(["<|endoftext|>"], vocab_size=500)
    tokenizer = GPT2Tokenizer(vocab=vocab, merges=merges, model_max_length=max_length)
    eos = vocab["<|endoftext|>"]
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=max_length,
        n_embd=32,
        n_layer=2,
        n_head=2,
        n_inner=37,
        bos_token_id=eos,
        eos_token_id=eos,
    )
    model = GPT2LMHeadModel(config)
    model.generation_config = GenerationConfig(bos_token_id=eos, eos_token_id=eos)
    _save_model(model, path)
    tokenizer.save_pretrained(path)
    return path


def build_chat(path: Path, seed: int = 0, max_length: int = 2048) -> Path:
    """Llama-architecture chat model with a ChatML ``chat_template``.

    Tokenizer: fast ``Qwen2Tokenizer`` (byte-level BPE) with special tokens
    ``<|endoftext|>`` (pad/unk), ``<|im_start|>``, ``<|im_end|>`` (eos).
    ``apply_chat_template(messages, add_generation_prompt=True)`` works and
    ``pipeline("text-generation")`` accepts message lists.  Generation config
    stops on ``<|im_end|>`` or ``<|endoftext|>``; ``model_max_length=2048``
    (RoPE, so no position parameters).
    """
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, Qwen2Tokenizer

    path = _prepare(path)
    _seed(seed)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    vocab, merges = _bytelevel_bpe(specials, vocab_size=500)
    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
        model_max_length=max_length,
        chat_template=CHATML_TEMPLATE,
    )
    pad, eos = vocab["<|endoftext|>"], vocab["<|im_end|>"]
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=max_length,
        bos_token_id=None,
        eos_token_id=eos,
        pad_token_id=pad,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=[eos, pad], pad_token_id=pad)
    _save_model(model, path)
    tokenizer.save_pretrained(path)
    return path


# --------------------------------------------------------------------------
# Stable Diffusion
# --------------------------------------------------------------------------


def build_stable_diffusion(
    path: Path,
    seed: int = 0,
    safety_checker: bool = False,
    flag_everything_nsfw: bool = False,
    scheduler: str = "DPMSolverMultistepScheduler",
) -> Path:
    """Tiny ``StableDiffusionPipeline`` (SD 1.x layout) saved as safetensors.

    UNet (2 blocks, 8/16 channels, ``sample_size=8``) + AutoencoderKL with
    4 blocks (``vae_scale_factor=8`` as the real one, so the default output is
    64x64; height/width must be multiples of 16) + CLIP text encoder
    (hidden 32, 77 positions) + ``CLIPTokenizer`` (lowercased byte-level BPE
    with ``</w>``, ``model_max_length=77``) + a scheduler named by
    ``scheduler`` (any diffusers scheduler class name; SD 1.5 betas).

    ``safety_checker=True`` adds a tiny ``StableDiffusionSafetyChecker`` +
    ``CLIPImageProcessor``; its concept thresholds make it pass every image,
    unless ``flag_everything_nsfw=True``, which makes it flag every image
    (the pipeline then returns black images and ``nsfw_content_detected``).
    """
    import diffusers
    from diffusers import AutoencoderKL, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    path = _prepare(path)
    _seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16),
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=4,
        norm_num_groups=4,
    )
    _seed(seed)
    vae = AutoencoderKL(
        block_out_channels=(4, 4, 4, 4),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=2,
        sample_size=64,
    )
    _seed(seed)
    vocab, merges = _bytelevel_bpe(
        ["<|startoftext|>", "<|endoftext|>"],
        vocab_size=800,
        end_of_word_suffix="</w>",
        lowercase=True,
    )
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)
    text_config = CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=77,
        projection_dim=32,
        bos_token_id=vocab["<|startoftext|>"],
        eos_token_id=vocab["<|endoftext|>"],
        pad_token_id=vocab["<|endoftext|>"],
    )
    text_encoder = CLIPTextModel(text_config)
    scheduler_cls = getattr(diffusers, scheduler)
    sched = scheduler_cls(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        **(
            {"steps_offset": 1}
            if "steps_offset" in inspect.signature(scheduler_cls.__init__).parameters
            else {}
        ),
    )

    checker = None
    feature_extractor = None
    if safety_checker:
        checker, feature_extractor = _tiny_safety_checker(seed, flag_everything_nsfw)

    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=sched,
        safety_checker=checker,
        feature_extractor=feature_extractor,
        requires_safety_checker=safety_checker,
    )
    pipe.save_pretrained(path, safe_serialization=True)
    return path


def build_safety_checker(path: Path, seed: int = 0, flag_everything_nsfw: bool = False) -> Path:
    """A tiny ``StableDiffusionSafetyChecker`` on its own, laid out like
    ``CompVis/stable-diffusion-safety-checker`` (weights and preprocessor in one
    directory), for ``IMAGINE_SAFETY_CHECKER``."""
    path = _prepare(path)
    checker, processor = _tiny_safety_checker(seed, flag_everything_nsfw)
    checker.save_pretrained(path, safe_serialization=True)
    processor.save_pretrained(path)
    return path


def _tiny_safety_checker(seed: int, flag_everything: bool) -> tuple[Any, Any]:
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig, CLIPImageProcessor

    _seed(seed)
    config = CLIPConfig(
        text_config={
            "vocab_size": 64,
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 16,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    checker = StableDiffusionSafetyChecker(config).eval()
    with torch.no_grad():
        # cos-sim(image, concept) - weight + adjustment > 0 means NSFW.  Weights
        # of 1 (the init value) can never be exceeded; -2 is always exceeded.
        weight = -2.0 if flag_everything else 1.0
        checker.concept_embeds_weights.fill_(weight)
        checker.special_care_embeds_weights.fill_(weight)
    processor = CLIPImageProcessor(
        size={"shortest_edge": 32},
        crop_size={"height": 32, "width": 32},
        do_center_crop=True,
        do_resize=True,
        do_normalize=True,
    )
    return checker, processor


# --------------------------------------------------------------------------
# text to speech: VITS and SpeechT5
# --------------------------------------------------------------------------

VITS_CHARS = list(" 'abcdefghijklmnopqrstuvwxyz-")


def build_vits(path: Path, seed: int = 0) -> Path:
    """VITS text-to-speech (``facebook/mms-tts-eng`` shaped), 16 kHz.

    ``VitsTokenizer`` (slow, character vocab: ``_`` pad/blank=0, space,
    apostrophe, a-z, ``-``; lowercases, drops unknown characters, inserts
    blanks).  ``pipeline("text-to-speech")`` returns
    ``{"audio": float32 ndarray (1, n), "sampling_rate": 16000}``.  VITS
    samples noise: seed torch before calling for repeatable audio.
    """
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    path = _prepare(path)
    _seed(seed)
    vocab = {"_": 0}
    for ch in VITS_CHARS:
        vocab.setdefault(ch, len(vocab))
    (path / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = VitsTokenizer(
        vocab_file=str(path / "vocab.json"),
        pad_token="_",
        unk_token="<unk>",
        add_blank=True,
        normalize=True,
        phonemize=False,
        is_uroman=False,
        language="eng",
    )
    config = VitsConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        window_size=2,
        ffn_dim=32,
        ffn_kernel_size=3,
        flow_size=16,
        spectrogram_bins=9,
        upsample_initial_channel=16,
        upsample_rates=[8, 8],
        upsample_kernel_sizes=[16, 16],
        resblock_kernel_sizes=[3],
        resblock_dilation_sizes=[[1, 3]],
        prior_encoder_num_flows=2,
        prior_encoder_num_wavenet_layers=1,
        posterior_encoder_num_wavenet_layers=1,
        duration_predictor_num_flows=2,
        duration_predictor_filter_channels=16,
        duration_predictor_flow_bins=4,
        depth_separable_num_layers=2,
        wavenet_kernel_size=3,
        sampling_rate=16000,
    )
    _save_model(VitsModel(config), path)
    tokenizer.save_pretrained(path)
    return path


SPEECHT5_SPEAKER_DIM = 512


def build_speecht5(path: Path, seed: int = 0, max_length: int = 600) -> Path:
    """SpeechT5 text-to-speech (``microsoft/speecht5_tts`` shaped).

    ``SpeechT5Processor`` = ``SpeechT5Tokenizer`` (sentencepiece *char* model
    ``spm_char.model`` trained offline) + ``SpeechT5FeatureExtractor``.
    80 mel bins, reduction factor 2, speaker embeddings of dim 512 (same as
    the real x-vectors).  ``model_max_length = max_text_positions = 600``
    tokens (one token per character), as the real model: longer input raises
    a size-mismatch ``RuntimeError`` in the encoder, so split or truncate.
    The stop head is disabled, so every input token gives 10 decoder steps
    = 20 mel frames (about 2 ms of CPU per step; keep test texts short, or
    pass ``forward_params={"maxlenratio": ...}``).  Needs a vocoder (see
    :func:`build_speecht5_vocoder`) and ``speaker_embeddings`` in
    ``forward_params``.
    """
    from transformers import (
        SpeechT5Config,
        SpeechT5FeatureExtractor,
        SpeechT5ForTextToSpeech,
        SpeechT5Processor,
        SpeechT5Tokenizer,
    )

    path = _prepare(path)
    _seed(seed)
    proto = _train_spm(
        _corpus("en"),
        model_type="char",
        vocab_size=100,
        unk_id=3,
        bos_id=0,
        pad_id=1,
        eos_id=2,
        unk_piece="<unk>",
        bos_piece="<s>",
        eos_piece="</s>",
        pad_piece="<pad>",
    )
    spm_file = path / "spm_char.model"
    spm_file.write_bytes(proto)
    tokenizer = SpeechT5Tokenizer(vocab_file=str(spm_file), model_max_length=max_length)
    feature_extractor = SpeechT5FeatureExtractor(num_mel_bins=80)
    processor = SpeechT5Processor(feature_extractor=feature_extractor, tokenizer=tokenizer)

    config = SpeechT5Config(
        vocab_size=len(tokenizer),
        hidden_size=24,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        positional_dropout=0.0,
        max_text_positions=max_length,
        max_speech_positions=1024,
        num_mel_bins=80,
        reduction_factor=2,
        speech_decoder_prenet_units=32,
        speech_decoder_prenet_layers=2,
        speech_decoder_postnet_units=32,
        speech_decoder_postnet_layers=2,
        speech_decoder_postnet_kernel=5,
        speaker_embedding_dim=SPEECHT5_SPEAKER_DIM,
        conv_dim=(8, 8),
        conv_stride=(5, 2),
        conv_kernel=(10, 3),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=2,
    )
    model = SpeechT5ForTextToSpeech(config)
    with torch.no_grad():
        # Random weights would stop after one step (a 2-frame clip).  Disable
        # the stop head instead: generation then runs to its length limit,
        # maxlenratio (20) / reduction_factor (2) = 10 decoder steps per input
        # token, so the audio length grows with the text.
        model.speech_decoder_postnet.prob_out.weight.zero_()
        model.speech_decoder_postnet.prob_out.bias.fill_(-20.0)
    _save_model(model, path)
    processor.save_pretrained(path)
    return path


def build_speecht5_vocoder(path: Path, seed: int = 0) -> Path:
    """Tiny ``SpeechT5HifiGan``: 80 mel bins in, 16 kHz out.

    Upsamples 64x (the real vocoder: 256x), so with :func:`build_speecht5`
    one input character gives 20 frames = 1280 samples = 80 ms of audio.
    """
    from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

    path = _prepare(path)
    _seed(seed)
    config = SpeechT5HifiGanConfig(
        model_in_dim=80,
        sampling_rate=16000,
        upsample_initial_channel=16,
        upsample_rates=[8, 8],
        upsample_kernel_sizes=[16, 16],
        resblock_kernel_sizes=[3],
        resblock_dilation_sizes=[[1, 3]],
        normalize_before=True,
    )
    vocoder = SpeechT5HifiGan(config)
    with torch.no_grad():  # random weights give ~1e-5: below one 16-bit step, i.e. silence
        vocoder.conv_post.weight.mul_(3e4)
        vocoder.conv_post.bias.mul_(3e4)
    _save_model(vocoder, path)
    return path


def build_speaker_embedding(path: Path, seed: int = 0, dim: int = SPEECHT5_SPEAKER_DIM) -> Path:
    """A float32 x-vector of shape ``(dim,)`` (512) saved with ``np.save``.

    ``path`` is the ``.npy`` file to write (its parent is created).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    vec = _xvector(rng, dim)
    np.save(path, vec)
    return path


def _xvector(rng: np.random.Generator, dim: int) -> np.ndarray:
    vec = rng.standard_normal(dim).astype(np.float32)
    return (vec / np.linalg.norm(vec)).astype(np.float32)


# Speaker order of regisss/cmu-arctic-xvectors ("validation" split, 7931 rows);
# row 7306 — the index used in the SpeechT5 docs — falls in "slt".
XVECTOR_SPEAKERS = ("awb", "bdl", "clb", "jmk", "ksp", "rms", "slt")


def build_xvectors(
    path: Path,
    seed: int = 0,
    num_rows: int = 7931,
    dim: int = SPEECHT5_SPEAKER_DIM,
) -> Path:
    """A local stand-in for the ``regisss/cmu-arctic-xvectors`` dataset.

    Writes ``path/data/validation-00000-of-00001.parquet`` with columns
    ``filename`` (``cmu_us_<spk>_arctic-wav-arctic_a0001`` ...) and ``xvector``
    (list of ``dim`` float32), so
    ``datasets.load_dataset(str(path), split="validation")`` reads it and
    ``ds[7306]["xvector"]`` works as in the SpeechT5 docs.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = _prepare(path)
    (path / "data").mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    per_speaker = -(-num_rows // len(XVECTOR_SPEAKERS))
    filenames = [
        f"cmu_us_{XVECTOR_SPEAKERS[i // per_speaker]}_arctic-wav-arctic_a{i % per_speaker + 1:04d}"
        for i in range(num_rows)
    ]
    # One base voice per speaker plus a little noise per utterance.
    base = np.stack([_xvector(rng, dim) for _ in XVECTOR_SPEAKERS])
    idx = np.arange(num_rows) // per_speaker
    vecs = (base[idx] + 0.01 * rng.standard_normal((num_rows, dim))).astype(np.float32)
    values = pa.array(vecs.reshape(-1), type=pa.float32())
    xvector = pa.FixedSizeListArray.from_arrays(values, dim).cast(pa.list_(pa.float32()))
    table = pa.table({"filename": pa.array(filenames, type=pa.string()), "xvector": xvector})
    pq.write_table(table, path / "data" / "validation-00000-of-00001.parquet")
    (path / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: validation\n"
        "    path: data/validation-*\n---\n"
        "Tiny offline stand-in for regisss/cmu-arctic-xvectors.\n",
        encoding="utf-8",
    )
    return path


# --------------------------------------------------------------------------
# everything
# --------------------------------------------------------------------------


def build_all(root: Path, timings: dict[str, float] | None = None) -> dict[str, Any]:
    """Build every tiny model under ``root`` and return their locations.

    Keys (all values are ``Path`` unless noted):

    - ``sentiment``, ``ner``, ``qa``, ``summarize``, ``classify``,
      ``generate`` (GPT-2), ``chat`` (Llama + ChatML), ``imagine``
      (Stable Diffusion, no safety checker), ``speak`` (VITS), ``speecht5``,
      ``speecht5_vocoder``: model directories.
    - ``translate``: directory holding ``opus-mt-{src}-{tgt}`` for every pair
      in :data:`MARIAN_PAIRS` (en<->fr, en<->de, fr<->de, en<->es); use the
      template ``f"{paths['translate']}/opus-mt-{{src}}-{{tgt}}"``.
    - ``embed``: the e5 stand-in of the document library (``tiny_docs_models``).
    - ``speaker_embedding``: ``.npy`` file, float32, shape (512,).
    - ``xvectors``: dataset directory for ``load_dataset(dir, split="validation")``.

    If ``timings`` is given, the build time in seconds of each key is stored
    in it.
    """
    root = _prepare(root)
    builders: dict[str, Callable[[Path], Any]] = {
        "sentiment": build_sentiment,
        "ner": build_ner,
        "qa": build_qa,
        "summarize": build_bart_summarizer,
        "translate": build_translate,
        "classify": build_zero_shot,
        "generate": build_gpt2,
        "chat": build_chat,
        "imagine": build_stable_diffusion,
        "speak": build_vits,
        "speecht5": build_speecht5,
        "speecht5_vocoder": build_speecht5_vocoder,
        "speaker_embedding": build_speaker_embedding,
        "xvectors": build_xvectors,
        "embed": build_embedder,  # tests/tiny_docs_models.py
    }
    targets = {key: root / key for key in builders}
    targets["speaker_embedding"] = root / "speaker_embedding.npy"
    paths: dict[str, Any] = {}
    for key, builder in builders.items():
        start = time.perf_counter()
        builder(targets[key])
        paths[key] = targets[key]
        if timings is not None:
            timings[key] = time.perf_counter() - start
    return paths


if __name__ == "__main__":  # pragma: no cover - manual timing helper
    import sys
    import tempfile

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="tiny-models-"))
    times: dict[str, float] = {}
    total = time.perf_counter()
    built = build_all(out, timings=times)
    for name, seconds in times.items():
        print(f"{name:18s} {seconds:6.2f}s  {built[name]}")
    print(f"{'total':18s} {time.perf_counter() - total:6.2f}s")
