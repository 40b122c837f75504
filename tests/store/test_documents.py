"""The document library, the same tests for both implementations: SQLite (the store's
file) and Qdrant (qdrant-client's local mode, the client code a Qdrant server gets)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from qdrant_client import QdrantClient, models

from store import Store
from store.documents import DocumentLibrary, LibraryError, Passage, merge_by_rank
from store.documents_qdrant import QdrantLibrary, _chunks_of, _sparse
from store.documents_sqlite import SqliteLibrary
from store.terms import index_terms, query_terms

Opener = Callable[[], Awaitable[DocumentLibrary]]


def vec(*hot: int, dim: int = 8) -> list[float]:
    return [1.0 if i in hot else 0.0 for i in range(dim)]


@pytest_asyncio.fixture(params=["sqlite", "qdrant"])
async def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """``await reopen()`` opens the library on the same files (closing the last one):
    each call is a restart."""
    opened: list[tuple[DocumentLibrary, Store | None]] = []

    async def open_library() -> DocumentLibrary:
        while opened:
            library, store = opened.pop()
            await library.close()
            if store is not None:
                await store.close()
        if request.param == "sqlite":
            store = await Store.open(tmp_path)
            library: DocumentLibrary = SqliteLibrary(store)
        else:
            store = None
            library = await QdrantLibrary.open(QdrantClient(path=str(tmp_path / "qdrant")))
        opened.append((library, store))
        return library

    yield open_library
    while opened:
        library, store = opened.pop()
        await library.close()
        if store is not None:
            await store.close()


async def test_collections_never_see_each_other(reopen: Opener) -> None:
    library = await reopen()
    await library.add("a", "rules.txt", ["The password is swordfish."], [vec(0)], size=30)
    await library.add("b", "notes.md", ["The password is tuna."], [vec(0)], size=20)
    for collection, text in (("a", "swordfish"), ("b", "tuna")):
        keyword = await library.keyword_search(collection, "what is the password", 10)
        dense = await library.vector_search(collection, vec(0), 10)
        both = await library.search(collection, "password", vec(0), 10)
        for found in (keyword, dense, both):
            assert [p.text.split()[-1].rstrip(".") for p in found] == [text]
    assert await library.keyword_search("a", "tuna", 10) == []
    assert [d.name for d in await library.documents("b")] == ["notes.md"]
    assert await library.documents("nobody") == []
    assert await library.search("nobody", "password", vec(0), 5) == []


async def test_keyword_and_vector_sides_rank_and_merge(reopen: Opener) -> None:
    library = await reopen()
    chunks = [
        "Kettles boil water.",
        "The Zyxwv-9 router resets with a paperclip.",
        "Routers route packets between networks.",
        "Paperclips hold paper.",
    ]
    vectors = [vec(0), vec(1), vec(2), vec(3)]
    await library.add("c", "manual.txt", chunks, vectors, size=100, meta={"link": "L"})
    keyword = await library.keyword_search("c", "zyxwv-9 reset", 4)
    assert keyword[0].text == chunks[1] and keyword[0].meta == {"link": "L"}
    dense = await library.vector_search("c", vec(2), 2)
    assert [p.text for p in dense] == [chunks[2], chunks[1]] or dense[0].text == chunks[2]
    assert dense[0].score == pytest.approx(1.0, abs=1e-5)
    assert [p.position for p in dense][:1] == [2]
    # the embedder points at passage 2, the words name passage 1: the merge keeps both
    both = await library.search("c", "Zyxwv-9", vec(2), 2)
    assert {p.text for p in both} == {chunks[1], chunks[2]}


async def test_korean_is_found_by_korean_questions(reopen: Opener) -> None:
    library = await reopen()
    chunks = [
        "서버의 규칙은 서로 존중하는 것입니다.",
        "점심은 열두 시에 먹습니다.",
        "Rules are in English too.",
    ]
    await library.add("k", "규칙.md", chunks, [vec(0), vec(1), vec(2)], size=80)
    found = await library.keyword_search("k", "서버 규칙이 뭐예요?", 3)
    assert found[0].text == chunks[0]
    assert [p.text for p in await library.keyword_search("k", "점심", 3)] == [chunks[1]]


async def test_removal_removes_passages_and_vectors(reopen: Opener) -> None:
    library = await reopen()
    await library.add("r", "old.txt", ["Alpha bravo charlie."], [vec(1)], size=10)
    await library.add("r", "keep.txt", ["Delta echo foxtrot."], [vec(2)], size=10)
    assert await library.vector_search("r", vec(1), 5)  # cached matrices must not survive
    removed = await library.remove("r", "old.txt")
    assert removed is not None and removed.name == "old.txt"
    assert await library.remove("r", "old.txt") is None
    assert await library.keyword_search("r", "alpha bravo", 5) == []
    assert [p.document for p in await library.vector_search("r", vec(1), 5)] == ["keep.txt"]
    assert [d.name for d in await library.documents("r")] == ["keep.txt"]
    assert await library.drop("r") == 1
    assert await library.documents("r") == []
    assert await library.vector_search("r", vec(2), 5) == []


async def test_adding_a_name_again_replaces_the_document(reopen: Opener) -> None:
    library = await reopen()
    await library.add("x", "faq.md", ["Version one says red."], [vec(0)], size=10)
    await library.add("x", "faq.md", ["Version two says blue.", "More."], [vec(0), vec(1)], size=12)
    [document] = await library.documents("x")
    assert (document.chunks, document.bytes) == (2, 12)
    assert await library.keyword_search("x", "red", 5) == []
    assert [p.text for p in await library.keyword_search("x", "blue", 5)] == [
        "Version two says blue."
    ]


async def test_the_library_survives_a_restart(reopen: Opener) -> None:
    library = await reopen()
    await library.add("s", "kept.txt", ["Persistence is a virtue."], [vec(3)], size=25)
    library = await reopen()
    [document] = await library.documents("s")
    assert (document.name, document.chunks) == ("kept.txt", 1)
    assert [p.document for p in await library.search("s", "virtue", vec(3), 3)] == ["kept.txt"]


async def test_bad_vectors_are_refused_and_change_nothing(reopen: Opener) -> None:
    library = await reopen()
    with pytest.raises(LibraryError):
        await library.add("v", "a.txt", ["one", "two"], [vec(0)], size=1)
    with pytest.raises(LibraryError):
        await library.add("v", "a.txt", ["one"], [[float("nan")] * 8], size=1)
    with pytest.raises(LibraryError):
        await library.add("v", "a.txt", [], [], size=1)
    assert await library.documents("v") == []
    # a question embedded by another model (another size) finds nothing on the dense side
    await library.add("v", "b.txt", ["one"], [vec(0)], size=1)
    assert await library.vector_search("v", [1.0, 0.0], 3) == []


async def test_an_add_that_fails_half_way_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: the add is one transaction. Here the second passage fails to insert
    (NOT NULL) after the document row and the first passage went in."""
    monkeypatch.setattr("store.documents_sqlite.index_terms", lambda text: ["word"])
    store = await Store.open(tmp_path)
    library = SqliteLibrary(store)
    with pytest.raises(sqlite3.IntegrityError):
        await library.add("i", "half.txt", ["first", None], [vec(0), vec(1)], size=1)  # type: ignore[list-item]
    await store.close()
    store = await Store.open(tmp_path)  # after a restart too
    assert await SqliteLibrary(store).documents("i") == []
    counts = await store.read(
        lambda c: [
            c.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("doc_chunks", "doc_terms")
        ]
    )
    assert counts == [0, 0]
    await store.close()


async def test_qdrant_repairs_an_interrupted_add_and_remove(tmp_path: Path) -> None:
    client = QdrantClient(path=str(tmp_path / "q"))
    library = await QdrantLibrary.open(client)
    await library.add("q", "whole.txt", ["Whole text here."], [vec(0)], size=5)
    # an add that died after writing its passages, before its record: never visible
    client.upsert(
        _chunks_of("q"),
        [
            models.PointStruct(
                id="00000000-0000-0000-0000-000000000001",
                vector={"dense": vec(5), "terms": _sparse(index_terms("half"), query=False)},
                payload={
                    "document": "half.txt",
                    "generation": "g",
                    "position": 0,
                    "text": "half",
                    "meta": {},
                    "live": False,
                },
            )
        ],
    )
    assert [p.document for p in await library.search("q", "half", vec(5), 5)] == ["whole.txt"]
    await library.close()
    library = await QdrantLibrary.open(QdrantClient(path=str(tmp_path / "q")))
    assert [d.name for d in await library.documents("q")] == ["whole.txt"]
    assert library.client.count(_chunks_of("q")).count == 1
    await library.close()


def test_terms_split_cjk_into_bigrams_and_keep_words() -> None:
    assert query_terms("서버") == ["서버"]
    assert "서버" in index_terms("서버의")
    assert query_terms("Café RULES_v2") == ["café", "rules", "v2"]
    assert query_terms("책") == ["책"] and "책" in index_terms("책을")


def test_merge_by_rank_prefers_passages_both_sides_found() -> None:
    def p(name: str) -> Passage:
        return Passage(name, name, 0, 0.0)

    merged = merge_by_rank([[p("a"), p("b"), p("c")], [p("c"), p("d")]], 3)
    assert merged[0].document == "c"
    assert {x.document for x in merged} <= {"a", "b", "c", "d"} and len(merged) == 3
