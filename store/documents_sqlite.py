"""The document library in the store's SQLite file: documents, passages, an FTS5
keyword index (BM25) and vectors (float32 blobs), searched by brute force in memory.

A collection's vectors are read into one normalised matrix on its first search and kept
(``CACHED_COLLECTIONS`` at most, least recently used dropped); a change to a collection
drops its matrix. 10,000 passages of 384 dimensions are 15 MB and one matrix-vector
product, a few milliseconds. The keyword side indexes ``terms.index_terms`` of each
passage (words; character bigrams for Korean, Chinese and Japanese).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .documents import (
    Document,
    DocumentLibrary,
    Passage,
    merge_by_rank,
    new_document,
    search_depth,
)
from .migration import Migration
from .terms import index_terms, query_terms

if TYPE_CHECKING:
    from .db import Store

MIGRATIONS = (
    Migration(
        1,
        (
            """CREATE TABLE doc_documents (
                id INTEGER PRIMARY KEY,
                collection TEXT NOT NULL,
                name TEXT NOT NULL,
                bytes INTEGER NOT NULL,
                chunks INTEGER NOT NULL,
                meta TEXT NOT NULL,
                created_at REAL NOT NULL,
                UNIQUE (collection, name)
            )""",
            """CREATE TABLE doc_chunks (
                id INTEGER PRIMARY KEY,
                document_id INTEGER NOT NULL REFERENCES doc_documents (id) ON DELETE CASCADE,
                collection TEXT NOT NULL,
                position INTEGER NOT NULL,
                text TEXT NOT NULL,
                vector BLOB NOT NULL
            )""",
            "CREATE INDEX doc_chunks_collection ON doc_chunks (collection)",
            "CREATE INDEX doc_chunks_document ON doc_chunks (document_id)",
            # rowid = doc_chunks.id; the collection is a column so that a search can
            # filter on it without a join.
            "CREATE VIRTUAL TABLE doc_terms USING fts5(terms, collection UNINDEXED)",
            # each term's document frequency, for leaving out terms that are everywhere
            "CREATE VIRTUAL TABLE doc_terms_vocab USING fts5vocab(doc_terms, 'row')",
        ),
    ),
)

#: Collections whose vector matrix stays in memory between searches.
CACHED_COLLECTIONS = 16
#: A question's term found in more than this share of all passages, and in more than
#: COMMON_TERM_MIN of them, is left out of the keyword search ("the", "is"...): its BM25
#: weight is next to nothing, while scoring every passage that holds it costs tens of
#: milliseconds in a large library. (The rarest term is always kept.)
COMMON_TERM_SHARE = 0.2
COMMON_TERM_MIN = 1000


class _Matrix:
    """A collection's vectors, normalised, with the chunk id of each row."""

    def __init__(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.ids = ids
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = vectors / np.maximum(norms, 1e-12)


class SqliteLibrary(DocumentLibrary):
    def __init__(self, store: Store) -> None:
        self.store = store
        self._matrices: OrderedDict[str, _Matrix] = OrderedDict()  # on the store's thread

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
        def prepare() -> tuple[Document, list[bytes], list[str]]:
            return (
                new_document(name, chunks, vectors, size, meta),
                [np.asarray(v, dtype=np.float32).tobytes() for v in vectors],
                [" ".join(index_terms(chunk)) for chunk in chunks],
            )

        # checking, packing and tokenising a large document: off the loop, and off the
        # store's thread (which other writes wait for)
        document, blobs, terms = await asyncio.to_thread(prepare)

        def write(conn: sqlite3.Connection) -> None:
            self._delete_document(conn, collection, name)
            cursor = conn.execute(
                "INSERT INTO doc_documents (collection, name, bytes, chunks, meta, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    collection,
                    name,
                    size,
                    len(chunks),
                    json.dumps(document.meta),
                    document.created_at,
                ),
            )
            document_id = cursor.lastrowid
            for position, (chunk, blob, words) in enumerate(zip(chunks, blobs, terms, strict=True)):
                chunk_id = conn.execute(
                    "INSERT INTO doc_chunks (document_id, collection, position, text, vector)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (document_id, collection, position, chunk, blob),
                ).lastrowid
                conn.execute(
                    "INSERT INTO doc_terms (rowid, terms, collection) VALUES (?, ?, ?)",
                    (chunk_id, words, collection),
                )

        await self.store.write(write)
        return document

    async def documents(self, collection: str) -> list[Document]:
        rows = await self.store.read(
            lambda c: c.execute(
                "SELECT name, chunks, bytes, created_at, meta FROM doc_documents"
                " WHERE collection = ? ORDER BY created_at, id",
                (collection,),
            ).fetchall()
        )
        return [Document(n, ch, b, t, json.loads(m)) for n, ch, b, t, m in rows]

    async def remove(self, collection: str, name: str) -> Document | None:
        def write(conn: sqlite3.Connection) -> Document | None:
            row = conn.execute(
                "SELECT name, chunks, bytes, created_at, meta FROM doc_documents"
                " WHERE collection = ? AND name = ?",
                (collection, name),
            ).fetchone()
            if row is None:
                return None
            self._delete_document(conn, collection, name)
            return Document(*row[:4], json.loads(row[4]))

        return await self.store.write(write)

    async def drop(self, collection: str) -> int:
        def write(conn: sqlite3.Connection) -> int:
            conn.execute("DELETE FROM doc_terms WHERE collection = ?", (collection,))
            self._matrices.pop(collection, None)
            return conn.execute(
                "DELETE FROM doc_documents WHERE collection = ?", (collection,)
            ).rowcount

        return await self.store.write(write)

    async def keyword_search(self, collection: str, query: str, k: int) -> list[Passage]:
        return await self.store.read(lambda c: self._keyword(c, collection, query, k))

    async def vector_search(
        self, collection: str, vector: Sequence[float], k: int
    ) -> list[Passage]:
        return await self.store.read(lambda c: self._vector(c, collection, vector, k))

    async def search(
        self, collection: str, query: str, vector: Sequence[float], k: int
    ) -> list[Passage]:
        """Both sides in one visit to the store's thread (a hop costs more than a side
        under load)."""
        depth = search_depth(k)
        return await self.store.read(
            lambda c: merge_by_rank(
                [
                    self._keyword(c, collection, query, depth),
                    self._vector(c, collection, vector, depth),
                ],
                k,
            )
        )

    # -- on the store's thread ----------------------------------------------------------

    def _keyword(
        self, conn: sqlite3.Connection, collection: str, query: str, k: int
    ) -> list[Passage]:
        words = query_terms(query)
        if not words or k <= 0:
            return []
        match = " OR ".join(f'"{word}"' for word in _uncommon(conn, words))  # \w+: no quotes
        # ORDER BY the hidden rank column (bm25) is twice as fast as ORDER BY bm25()
        rows = conn.execute(
            "SELECT rowid, rank FROM doc_terms"
            " WHERE doc_terms MATCH ? AND collection = ? ORDER BY rank LIMIT ?",
            (match, collection, k),
        ).fetchall()
        # bm25 is lower for better matches; the passage gets the usual sign
        return _passages(conn, [(chunk_id, -rank) for chunk_id, rank in rows])

    def _vector(
        self, conn: sqlite3.Connection, collection: str, vector: Sequence[float], k: int
    ) -> list[Passage]:
        matrix = self._matrix(conn, collection)
        query = np.asarray(vector, dtype=np.float32)
        if matrix is None or k <= 0 or matrix.vectors.shape[1] != query.shape[0]:
            return []  # (another size: passages of another model; only keywords find them)
        scores = matrix.vectors @ (query / max(float(np.linalg.norm(query)), 1e-12))
        top = np.argpartition(-scores, min(k, len(scores)) - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return _passages(conn, [(int(matrix.ids[i]), float(scores[i])) for i in top])

    def _delete_document(self, conn: sqlite3.Connection, collection: str, name: str) -> None:
        conn.execute(
            "DELETE FROM doc_terms WHERE rowid IN (SELECT c.id FROM doc_chunks c JOIN"
            " doc_documents d ON d.id = c.document_id WHERE d.collection = ? AND d.name = ?)",
            (collection, name),
        )
        # the passages go with their document (ON DELETE CASCADE)
        conn.execute(
            "DELETE FROM doc_documents WHERE collection = ? AND name = ?", (collection, name)
        )
        self._matrices.pop(collection, None)

    def _matrix(self, conn: sqlite3.Connection, collection: str) -> _Matrix | None:
        if collection in self._matrices:
            self._matrices.move_to_end(collection)
            return self._matrices[collection]
        rows = conn.execute(
            "SELECT id, vector FROM doc_chunks WHERE collection = ? ORDER BY id", (collection,)
        ).fetchall()
        if not rows:
            return None
        dims = {len(blob) for _, blob in rows}
        size = max(dims, key=lambda d: sum(len(b) == d for _, b in rows))  # the usual size
        kept = [(i, b) for i, b in rows if len(b) == size]
        matrix = _Matrix(
            np.array([i for i, _ in kept], dtype=np.int64),
            np.frombuffer(b"".join(b for _, b in kept), dtype=np.float32).reshape(len(kept), -1),
        )
        self._matrices[collection] = matrix
        while len(self._matrices) > CACHED_COLLECTIONS:
            self._matrices.popitem(last=False)
        return matrix


def _uncommon(conn: sqlite3.Connection, words: list[str]) -> list[str]:
    """``words`` without those in too many passages (see COMMON_TERM_SHARE)."""
    counts = {
        word: (
            conn.execute("SELECT doc FROM doc_terms_vocab WHERE term = ?", (word,)).fetchone()
            or (0,)
        )[0]
        for word in words
    }
    if max(counts.values()) <= COMMON_TERM_MIN:
        return words
    total = conn.execute("SELECT count(*) FROM doc_chunks").fetchone()[0]
    limit = max(COMMON_TERM_MIN, COMMON_TERM_SHARE * total)
    kept = [word for word in words if counts[word] <= limit]
    return kept or [min(words, key=counts.__getitem__)]


def _passages(conn: sqlite3.Connection, scored: list[tuple[int, float]]) -> list[Passage]:
    """The passages of ``scored`` (chunk id, score), in that order."""
    if not scored:
        return []
    marks = ",".join("?" * len(scored))
    rows = conn.execute(
        "SELECT c.id, d.name, c.text, c.position, d.meta FROM doc_chunks c"
        f" JOIN doc_documents d ON d.id = c.document_id WHERE c.id IN ({marks})",
        [chunk_id for chunk_id, _ in scored],
    ).fetchall()
    found = {row[0]: row[1:] for row in rows}
    return [
        Passage(found[i][0], found[i][1], found[i][2], score, json.loads(found[i][3]))
        for i, score in scored
        if i in found
    ]
