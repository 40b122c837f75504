"""The document library on Qdrant (``QDRANT_URL``), for libraries that outgrow one
machine: the same interface and behaviour as ``SqliteLibrary``.

Layout: one Qdrant collection of passages per library collection (``chunks-<hash>``,
so that dropping a server's library is one call and no query can cross collections),
with a dense vector (cosine) and a sparse vector of keyword terms (``terms.py``, hashed)
that Qdrant weighs by IDF, which with saturated term counts makes BM25. Documents are
points of a ``documents`` collection.

All or nothing, without transactions: a new document's passages are written with
``live: false`` (searches skip them), then its record is written, then the passages
of any document it replaces are deleted and its own made live. ``open`` finishes or
undoes whatever a crash interrupted.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from qdrant_client import QdrantClient, models

from .documents import Document, DocumentLibrary, Passage, new_document
from .terms import index_terms, query_terms

T = TypeVar("T")

DOCUMENTS = "documents"
#: BM25's term-count saturation.
BM25_K1 = 1.2
#: Points written per upsert call.
UPSERT_BATCH = 256


def _chunks_of(collection: str) -> str:
    return "chunks-" + hashlib.sha256(collection.encode()).hexdigest()[:32]


def _record_id(collection: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{collection}\x00{name}"))


def _sparse(terms: Sequence[str], *, query: bool) -> models.SparseVector:
    """Terms as a sparse vector: each term's hash -> its saturated count (1 in a query)."""
    counts = Counter(zlib.crc32(term.encode()) for term in terms)
    indices = sorted(counts)
    if query:
        return models.SparseVector(indices=indices, values=[1.0] * len(indices))
    values = [counts[i] * (BM25_K1 + 1) / (counts[i] + BM25_K1) for i in indices]
    return models.SparseVector(indices=indices, values=values)


def _match(key: str, value: Any) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


_LIVE = models.Filter(must=[_match("live", True)])


class QdrantLibrary(DocumentLibrary):
    """``client`` is a ``QdrantClient`` (a server's URL, or ``path=`` for local mode);
    its calls block, so they run on one thread of the library's own."""

    def __init__(self, client: QdrantClient) -> None:
        self.client = client
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qdrant")

    @classmethod
    async def open(cls, client: QdrantClient) -> QdrantLibrary:
        library = cls(client)
        await library._call(library._repair)
        return library

    async def close(self) -> None:
        await self._call(self.client.close)
        self._thread.shutdown(wait=False)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, functools.partial(fn, *args)
        )

    # -- the interface -------------------------------------------------------------------

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
        return await self._call(
            lambda: self._add(
                collection, new_document(name, chunks, vectors, size, meta), chunks, vectors
            )
        )

    async def documents(self, collection: str) -> list[Document]:
        records = await self._call(self._records, collection)
        return [_document(r) for r in sorted(records, key=lambda r: r["created_at"])]

    async def remove(self, collection: str, name: str) -> Document | None:
        return await self._call(self._remove, collection, name)

    async def drop(self, collection: str) -> int:
        return await self._call(self._drop, collection)

    async def keyword_search(self, collection: str, query: str, k: int) -> list[Passage]:
        words = query_terms(query)
        if not words or k <= 0:
            return []
        return await self._call(self._query, collection, _sparse(words, query=True), "terms", k)

    async def vector_search(
        self, collection: str, vector: Sequence[float], k: int
    ) -> list[Passage]:
        if k <= 0:
            return []
        return await self._call(self._query, collection, [float(x) for x in vector], "dense", k)

    # -- on the library's thread ----------------------------------------------------------

    def _ensure(self, name: str, dim: int) -> None:
        if self.client.collection_exists(name):
            return
        if name == DOCUMENTS:
            vectors = {"none": models.VectorParams(size=1, distance=models.Distance.DOT)}
            sparse = None
        else:
            vectors = {"dense": models.VectorParams(size=dim, distance=models.Distance.COSINE)}
            sparse = {"terms": models.SparseVectorParams(modifier=models.Modifier.IDF)}
        self.client.create_collection(name, vectors_config=vectors, sparse_vectors_config=sparse)

    def _add(
        self,
        collection: str,
        document: Document,
        chunks: Sequence[str],
        vectors: Sequence[Sequence[float]],
    ) -> Document:
        target = _chunks_of(collection)
        self._ensure(target, len(vectors[0]))
        self._ensure(DOCUMENTS, 1)
        generation = uuid.uuid4().hex
        points = [
            models.PointStruct(
                id=str(uuid.uuid4()),
                vector={
                    "dense": [float(x) for x in vector],
                    "terms": _sparse(index_terms(chunk), query=False),
                },
                payload={
                    "document": document.name,
                    "generation": generation,
                    "position": position,
                    "text": chunk,
                    "meta": document.meta,
                    "live": False,
                },
            )
            for position, (chunk, vector) in enumerate(zip(chunks, vectors, strict=True))
        ]
        for first in range(0, len(points), UPSERT_BATCH):
            self.client.upsert(target, points[first : first + UPSERT_BATCH], wait=True)
        record = {
            "collection": collection,
            "name": document.name,
            "chunks": document.chunks,
            "bytes": document.bytes,
            "created_at": document.created_at,
            "meta": document.meta,
            "generation": generation,
        }
        self.client.upsert(
            DOCUMENTS,
            [
                models.PointStruct(
                    id=_record_id(collection, document.name), vector={"none": [1.0]}, payload=record
                )
            ],
            wait=True,
        )
        self._settle(collection, document.name, generation)
        return document

    def _settle(self, collection: str, name: str, generation: str | None) -> None:
        """Make the passages of ``name``'s current ``generation`` live and delete the
        others (all of them when ``generation`` is None)."""
        target = _chunks_of(collection)
        if not self.client.collection_exists(target):
            return
        mine = _match("document", name)
        if generation is None:
            stale = models.Filter(must=[mine])
        else:
            stale = models.Filter(must=[mine], must_not=[_match("generation", generation)])
        self.client.delete(target, models.FilterSelector(filter=stale), wait=True)
        if generation:
            fresh = models.Filter(must=[mine, _match("generation", generation)])
            self.client.set_payload(target, {"live": True}, points=fresh, wait=True)

    def _records(self, collection: str) -> list[dict[str, Any]]:
        if not self.client.collection_exists(DOCUMENTS):
            return []
        found: list[dict[str, Any]] = []
        offset = None
        only = models.Filter(must=[_match("collection", collection)])
        while True:
            points, offset = self.client.scroll(
                DOCUMENTS, scroll_filter=only, limit=256, offset=offset, with_payload=True
            )
            found += [dict(p.payload or {}) for p in points]
            if offset is None:
                return found

    def _remove(self, collection: str, name: str) -> Document | None:
        if not self.client.collection_exists(DOCUMENTS):
            return None
        points = self.client.retrieve(DOCUMENTS, [_record_id(collection, name)], with_payload=True)
        if not points:
            return None
        self.client.delete(DOCUMENTS, [_record_id(collection, name)], wait=True)
        self._settle(collection, name, None)
        return _document(dict(points[0].payload or {}))

    def _drop(self, collection: str) -> int:
        records = self._records(collection)
        if records:
            only = models.Filter(must=[_match("collection", collection)])
            self.client.delete(DOCUMENTS, models.FilterSelector(filter=only), wait=True)
        target = _chunks_of(collection)
        if self.client.collection_exists(target):
            self.client.delete_collection(target)
        return len(records)

    def _query(self, collection: str, query: Any, using: str, k: int) -> list[Passage]:
        target = _chunks_of(collection)
        if not self.client.collection_exists(target):
            return []
        if using == "dense":
            size = self.client.get_collection(target).config.params.vectors["dense"].size
            if size != len(query):
                return []  # passages embedded by another model: only keywords can find them
        hits = self.client.query_points(
            target, query=query, using=using, query_filter=_LIVE, limit=k, with_payload=True
        ).points
        return [
            Passage(
                p.payload["document"],
                p.payload["text"],
                p.payload["position"],
                float(p.score),
                p.payload.get("meta", {}),
            )
            for p in hits
            if p.payload
        ]

    def _repair(self) -> None:
        """Finish or undo every add and remove a crash interrupted."""
        records: dict[str, dict[str, str]] = {}
        offset = None
        while self.client.collection_exists(DOCUMENTS):
            points, offset = self.client.scroll(DOCUMENTS, limit=256, offset=offset)
            for p in points:
                payload = p.payload or {}
                records.setdefault(payload["collection"], {})[payload["name"]] = payload[
                    "generation"
                ]
            if offset is None:
                break
        kept = {_chunks_of(collection) for collection in records}
        for existing in self.client.get_collections().collections:
            if existing.name.startswith("chunks-") and existing.name not in kept:
                self.client.delete_collection(existing.name)  # its last document was removed
        for collection, names in records.items():
            target = _chunks_of(collection)
            if not self.client.collection_exists(target):
                continue
            for name, generation in names.items():
                self._settle(collection, name, generation)
            orphans = models.Filter(
                must_not=[
                    models.FieldCondition(key="document", match=models.MatchAny(any=list(names)))
                ]
            )
            self.client.delete(target, models.FilterSelector(filter=orphans), wait=True)


def _document(record: dict[str, Any]) -> Document:
    return Document(
        record["name"], record["chunks"], record["bytes"], record["created_at"], record["meta"]
    )
