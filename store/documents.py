"""The document library: documents of a collection, cut into passages, found by keyword
(BM25) and by meaning (embedding vectors), the two merged by rank.

``DocumentLibrary`` is the interface; ``SqliteLibrary`` (``documents_sqlite.py``, in the
store's SQLite file) is the default, ``QdrantLibrary`` (``documents_qdrant.py``) serves a
library that has outgrown one machine. Both keep every row in one collection (a Discord
server, or a name given on the command line): nothing of another collection is ever
returned. A document is added whole or not at all: a crash half-way leaves it absent.
What the passages are and where their vectors come from is the caller's business.
"""

from __future__ import annotations

import asyncio
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: The constant of reciprocal rank fusion (Cormack et al., 2009): a passage scores
#: sum(1 / (RRF_K + rank)) over the lists it is in.
RRF_K = 60
#: Passages each side retrieves before the merge, per passage asked for.
DEPTH_PER_RESULT = 4


class LibraryError(Exception):
    """A request the library refuses (a collection or vector it cannot take); the
    message is short and safe to show."""


@dataclass
class Document:
    name: str
    #: Passages it was cut into.
    chunks: int
    #: Size of the file it came from.
    bytes: int
    created_at: float
    #: The caller's JSON about where it came from (who added it, a link...).
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Passage:
    document: str
    text: str
    #: Position of the passage in its document.
    position: int
    #: The side's own score (BM25, cosine), or the merged rank score.
    score: float
    meta: dict[str, Any] = field(default_factory=dict)


class DocumentLibrary(ABC):
    """Documents by collection. Every method is a coroutine that never blocks the event
    loop (the work runs on a thread of the implementation's own)."""

    @abstractmethod
    async def add(
        self,
        collection: str,
        name: str,
        chunks: Sequence[str],
        vectors: Sequence[Sequence[float]],
        *,
        size: int,
        meta: dict[str, Any] | None = None,
    ) -> Document:
        """Add a document (replacing one of the same name) with its passages and their
        vectors, all at once."""

    @abstractmethod
    async def documents(self, collection: str) -> list[Document]:
        """The collection's documents, oldest first (none for an unknown collection)."""

    @abstractmethod
    async def remove(self, collection: str, name: str) -> Document | None:
        """Remove a document with its passages and vectors; None when there is none."""

    @abstractmethod
    async def drop(self, collection: str) -> int:
        """Remove a whole collection; returns how many documents it had."""

    @abstractmethod
    async def keyword_search(self, collection: str, query: str, k: int) -> list[Passage]:
        """The ``k`` passages that best match ``query``'s words (BM25), best first."""

    @abstractmethod
    async def vector_search(
        self, collection: str, vector: Sequence[float], k: int
    ) -> list[Passage]:
        """The ``k`` passages nearest ``vector`` (cosine), best first."""

    async def close(self) -> None:  # noqa: B027 (most libraries hold nothing to release)
        """Release the library's connections and thread."""

    async def search(
        self, collection: str, query: str, vector: Sequence[float], k: int
    ) -> list[Passage]:
        """Hybrid retrieval: both sides, merged by rank (``merge_by_rank``)."""
        depth = search_depth(k)
        keyword, dense = await asyncio.gather(
            self.keyword_search(collection, query, depth),
            self.vector_search(collection, vector, depth),
        )
        return merge_by_rank([keyword, dense], k)


def search_depth(k: int) -> int:
    """Passages each side retrieves for a hybrid search of ``k``."""
    return max(k, k * DEPTH_PER_RESULT)


def merge_by_rank(rankings: Sequence[Sequence[Passage]], k: int) -> list[Passage]:
    """Reciprocal rank fusion: each passage scores sum(1 / (RRF_K + rank)) over the
    lists that hold it, so a passage found by both sides beats one found by one, and
    neither side's raw scores (BM25 is unbounded, cosine is not) need to agree."""
    merged: dict[tuple[str, int], Passage] = {}
    scores: dict[tuple[str, int], float] = {}
    for ranking in rankings:
        for rank, passage in enumerate(ranking, start=1):
            key = (passage.document, passage.position)
            merged.setdefault(key, passage)
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
    best = sorted(scores, key=lambda key: -scores[key])[:k]
    return [
        Passage(
            merged[key].document,
            merged[key].text,
            merged[key].position,
            scores[key],
            merged[key].meta,
        )
        for key in best
    ]


def new_document(
    name: str,
    chunks: Sequence[str],
    vectors: Sequence[Sequence[float]],
    size: int,
    meta: dict[str, Any] | None,
) -> Document:
    """The record of a document about to be added, after checking there is one finite
    vector per passage, all of one size."""
    if not chunks:
        raise LibraryError("A document needs at least one passage.")
    if len(vectors) != len(chunks):
        raise LibraryError(f"{len(chunks)} passages but {len(vectors)} vectors.")
    dims = {len(v) for v in vectors}
    if len(dims) != 1 or 0 in dims:
        raise LibraryError("The passages' vectors differ in size.")
    if not all(math.isfinite(x) for v in vectors for x in v):
        raise LibraryError("A passage's vector is not finite.")
    return Document(name, len(chunks), size, time.time(), dict(meta or {}))
