"""Adding a document to a library and asking a library a question, through any
``Backend`` (the service in this process, or a client of one elsewhere).

Nothing here blocks the event loop: text extraction and chunking run in worker
threads, embeddings in the service, and the library's reads and writes on its own
thread. A document is written to the library only once every passage has its vector,
in one call: stopping half-way leaves no trace of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from store import Store
from store.documents import Document, DocumentLibrary, LibraryError
from store.documents_sqlite import SqliteLibrary

from ..errors import InvalidInput
from ..jobs import Backend
from ..settings import InferenceSettings
from ..tasks.ask import AskResult
from ..tasks.base import clean_text
from ..tasks.qa import MAX_QUESTION_CHARS
from .chunks import chunk_text
from .files import check_name, extract_text

#: Passages embedded per request to the embed task (progress is reported after each).
EMBED_GROUP = 32
#: Passages retrieved for a question (the ask task reads the best few of them).
RETRIEVE_PASSAGES = 8
#: Characters of a collection name.
MAX_COLLECTION_CHARS = 100

#: ``progress(done, total)``: passages embedded so far.
Progress = Callable[[int, int], Awaitable[None] | None]


async def open_library(
    settings: InferenceSettings, store: Store | None = None
) -> tuple[DocumentLibrary, Callable[[], Awaitable[None]]]:
    """The library the settings choose (Qdrant with QDRANT_URL, else SQLite under
    DATA_DIR, in ``store`` when given) and how to close what was opened for it."""
    if settings.qdrant_url.strip():
        from qdrant_client import QdrantClient

        from store.documents_qdrant import QdrantLibrary

        library = await QdrantLibrary.open(QdrantClient(url=settings.qdrant_url.strip()))
        return library, library.close
    if store is not None:
        return SqliteLibrary(store), _nothing
    own = await Store.open(settings.data_dir)
    return SqliteLibrary(own), own.close


async def _nothing() -> None:
    pass


def check_collection(name: Any) -> str:
    """A collection name: printable, at most ``MAX_COLLECTION_CHARS`` characters."""
    return clean_text(name, "collection name", max_chars=MAX_COLLECTION_CHARS)


async def add_document(
    backend: Backend,
    library: DocumentLibrary,
    collection: str,
    name: str,
    data: bytes,
    *,
    user: Hashable | None = None,
    meta: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> Document:
    """Extract, cut, embed and store one file (replacing a document of the same name).
    Bad files raise ``InvalidInput``."""
    collection = check_collection(collection)
    name = check_name(name)
    text = await asyncio.to_thread(extract_text, name, data)
    chunks = await asyncio.to_thread(chunk_text, text)
    vectors: list[list[float]] = []
    for first in range(0, len(chunks), EMBED_GROUP):
        group = chunks[first : first + EMBED_GROUP]
        result = await backend.run("embed", user=user, texts=group, kind="passage")
        vectors += result.vectors  # type: ignore[attr-defined]
        if progress is not None:
            shown = progress(len(vectors), len(chunks))
            if shown is not None:
                await shown
    try:
        return await library.add(collection, name, chunks, vectors, size=len(data), meta=meta)
    except LibraryError as exc:
        raise InvalidInput(str(exc)) from None


async def retrieve(
    backend: Backend,
    library: DocumentLibrary,
    collection: str,
    question: str,
    *,
    user: Hashable | None = None,
    k: int = RETRIEVE_PASSAGES,
) -> list[dict[str, Any]]:
    """The passages of ``collection`` closest to ``question`` (keyword and meaning,
    merged by rank) as the ask task's ``passages``, each with its document's ``meta``."""
    question = clean_text(question, "question", max_chars=MAX_QUESTION_CHARS)
    embedded = await backend.run("embed", user=user, text=question, kind="query")
    found = await library.search(collection, question, embedded.vectors[0], k)  # type: ignore[attr-defined]
    return [
        {"document": p.document, "text": p.text, "score": p.score, "meta": p.meta} for p in found
    ]


async def ask(
    backend: Backend,
    library: DocumentLibrary,
    collection: str,
    question: str,
    *,
    user: Hashable | None = None,
) -> AskResult:
    """Retrieve, then read: the answer to ``question`` from ``collection``'s documents."""
    collection = check_collection(collection)
    question = clean_text(question, "question", max_chars=MAX_QUESTION_CHARS)
    if not await library.documents(collection):
        raise InvalidInput(f"The collection {collection!r} has no documents.")
    passages = await retrieve(backend, library, collection, question, user=user)
    shown = [{k: p[k] for k in ("document", "text", "score")} for p in passages]
    return await backend.run("ask", user=user, question=question, passages=shown)  # type: ignore[return-value]
