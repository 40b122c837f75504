"""Document library benchmark: ``python -m bench.docs``.

One collection of 10,000 passages (about 250 tokens each, Zipf-distributed words, one
in ten Korean), vectors of 384 dimensions (multilingual-e5-small's size), in the store's
SQLite file (``--qdrant``: Qdrant's local mode instead). It prints:

- indexing: passages stored per second (text, keyword index and vectors; documents of
  100 passages, each committed whole), and passages embedded per second by an encoder
  of e5-small's shape (12 layers, 384 wide; random weights, the same work) on this CPU;
- retrieval: p50 / p99 of hybrid retrieval (keyword + vector search, merged by rank) of
  a question, with the embedding of the question timed apart (its own p50 / p99).

Target: retrieval p99 <= 50 ms. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.store import percentile
from store import Store
from store.documents import DocumentLibrary
from store.documents_sqlite import SqliteLibrary

DIM = 384
PER_DOCUMENT = 100


def vocabulary(rng: random.Random, size: int = 20_000) -> tuple[list[str], list[str]]:
    latin = [
        "".join(rng.choice("abcdefghijklmnoprstuvwy") for _ in range(rng.randint(3, 9)))
        for _ in range(size)
    ]
    hangul = [
        "".join(chr(0xAC00 + rng.randrange(11172)) for _ in range(rng.randint(2, 4)))
        for _ in range(size // 4)
    ]
    return latin, hangul


def passage(rng: random.Random, words: list[str], weights: list[float], tokens: int = 200) -> str:
    """About ``tokens`` words drawn by ``weights`` (cumulative), in sentences of 14."""
    picked = rng.choices(words, cum_weights=weights, k=tokens)
    sentences = [" ".join(picked[i : i + 14]).capitalize() + "." for i in range(0, tokens, 14)]
    return " ".join(sentences)


def zipf(n: int) -> list[float]:
    """Cumulative Zipf weights of ``n`` words (the first most common)."""
    return list(itertools.accumulate(1 / (i + 1) for i in range(n)))


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


async def open_library(where: Path, qdrant: bool) -> tuple[DocumentLibrary, Any]:
    if qdrant:
        from qdrant_client import QdrantClient

        from store.documents_qdrant import QdrantLibrary

        library = await QdrantLibrary.open(QdrantClient(path=str(where / "qdrant")))
        return library, library.close
    store = await Store.open(where)
    return SqliteLibrary(store), store.close


async def bench_library(args: argparse.Namespace, where: Path) -> dict[str, Any]:
    rng = random.Random(0)
    nrng = np.random.default_rng(0)
    latin, hangul = vocabulary(rng)
    zipf_latin = zipf(len(latin))
    zipf_hangul = zipf(len(hangul))
    library, close = await open_library(where, args.qdrant)
    try:
        chunks = [
            passage(rng, hangul, zipf_hangul) if i % 10 == 9 else passage(rng, latin, zipf_latin)
            for i in range(args.chunks)
        ]
        vectors = unit(nrng, args.chunks)
        started = time.perf_counter()
        for first in range(0, args.chunks, PER_DOCUMENT):
            await library.add(
                "bench",
                f"doc-{first // PER_DOCUMENT}.txt",
                chunks[first : first + PER_DOCUMENT],
                vectors[first : first + PER_DOCUMENT].tolist(),
                size=sum(len(c) for c in chunks[first : first + PER_DOCUMENT]),
            )
        index_s = time.perf_counter() - started

        questions = []
        for i in range(args.queries):
            words, weights = (hangul, zipf_hangul) if i % 10 == 9 else (latin, zipf_latin)
            questions.append(" ".join(rng.choices(words, cum_weights=weights, k=6)) + "?")
        qvectors = unit(nrng, args.queries)
        await library.search("bench", questions[0], qvectors[0].tolist(), 8)  # warm caches
        times: dict[str, list[float]] = {"hybrid": [], "keyword": [], "vector": []}
        for question, vector in zip(questions, qvectors.tolist(), strict=True):
            for name, call in (
                ("hybrid", functools.partial(library.search, "bench", question, vector, 8)),
                ("keyword", functools.partial(library.keyword_search, "bench", question, 32)),
                ("vector", functools.partial(library.vector_search, "bench", vector, 32)),
            ):
                t = time.perf_counter()
                await call()
                times[name].append((time.perf_counter() - t) * 1000)
    finally:
        await close()
    return {
        "backend": "qdrant-local" if args.qdrant else "sqlite",
        "chunks": args.chunks,
        "index_chunks_per_s": round(args.chunks / index_s, 1),
        "retrieval_p50_ms": round(statistics.median(times["hybrid"]), 2),
        "retrieval_p99_ms": round(percentile(times["hybrid"], 0.99), 2),
        "keyword_p50_ms": round(statistics.median(times["keyword"]), 2),
        "vector_p50_ms": round(statistics.median(times["vector"]), 2),
    }


def e5_small_shape(where: Path, words: list[str]) -> Path:
    """A random encoder of multilingual-e5-small's shape (the vocabulary is smaller: the
    embedding table's size changes memory, not work)."""
    from transformers import BertConfig, BertModel, BertTokenizer

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ":", "query", "passage"]
    vocab += list(dict.fromkeys(words))[:30_000]
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, model_max_length=512)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=384,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=1536,
        max_position_embeddings=512,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(where)
    tokenizer.save_pretrained(where)
    return where


async def bench_embedding(args: argparse.Namespace, where: Path) -> dict[str, Any]:
    from inference import InferenceService, InferenceSettings

    rng = random.Random(1)
    latin, _ = vocabulary(rng)
    weights = zipf(len(latin))
    model = args.embed_model or str(e5_small_shape(where / "e5-shape", latin))
    settings = InferenceSettings(_env_file=None, embed_model=model, max_wait_ms=1)
    texts = [passage(rng, latin, weights) for _ in range(args.embed_chunks)]
    async with InferenceService(settings) as service:
        await service.run("embed", texts=texts[:2])  # load
        started = time.perf_counter()
        for first in range(0, len(texts), 32):
            await service.run("embed", texts=texts[first : first + 32])
        embed_s = time.perf_counter() - started
        query_ms = []
        for _ in range(20):
            t = time.perf_counter()
            await service.run("embed", text=" ".join(rng.choices(latin, k=8)), kind="query")
            query_ms.append((time.perf_counter() - t) * 1000)
    return {
        "embed_model": args.embed_model or "random, e5-small shape",
        "embed_chunks_per_s": round(len(texts) / embed_s, 1),
        "question_embed_p50_ms": round(statistics.median(query_ms), 1),
        "question_embed_p99_ms": round(percentile(query_ms, 0.99), 1),
        "device": service.placement.describe(),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        figures = await bench_library(args, Path(tmp))
        if not args.skip_embedding:
            figures |= await bench_embedding(args, Path(tmp))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.docs", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--qdrant", action="store_true", help="Qdrant's local mode, not SQLite")
    parser.add_argument("--embed-model", help="a real EMBED_MODEL directory to time instead")
    parser.add_argument("--embed-chunks", type=int, default=128)
    parser.add_argument("--skip-embedding", action="store_true")
    args = parser.parse_args(argv)
    figures = asyncio.run(main_async(args))
    for key, value in figures.items():
        print(f"{key:>24}: {value}", file=sys.stderr)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
