"""The showcase's store on a real SQLite file: one post per shared result, votes under a
flood of clicks, removal, pages, gallery secrets, and a server's data deleted with it."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from PIL import Image

from store import Post, Showcase, Store
from store.media import THUMBNAIL, THUMBNAIL_SIDE


def png(side: int = 1024) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side // 2), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def post(server: str = "1", source: str = "10", kind: str = "image") -> Post:
    return Post(server, source, "7", "Alice", kind, "a fox", "https://x/1", {"Seed": "1"},
                file_name="fox.png" if kind == "image" else None)  # fmt: skip


@pytest.fixture
async def db(tmp_path: Path) -> Showcase:
    store = await Store.open(tmp_path)
    yield Showcase(store)
    await store.close()


async def test_a_result_is_claimed_once_even_by_clicks_at_the_same_moment(db: Showcase) -> None:
    claims = await asyncio.gather(*(db.reserve(post()) for _ in range(10)))
    assert sum(new for _, new in claims) == 1
    assert len({p.id for p, _ in claims}) == 1
    other_server, new = await db.reserve(post(server="2"))  # the same message id elsewhere
    assert new and other_server.id != claims[0][0].id


async def test_a_flood_of_votes_counts_one_per_member(db: Showcase) -> None:
    shared, _ = await db.reserve(post())
    await db.posted(shared, 5, 6)
    await asyncio.gather(*(db.vote(shared.id, f"user{n}") for n in range(100)))
    results = await asyncio.gather(*(db.vote(shared.id, "clicker") for _ in range(11)))
    assert [voted for _, voted in results].count(True) == 6  # toggled 11 times: voted
    found = await db.get(shared.id)
    assert found is not None and found.votes == 101

    removed = await db.remove(shared.id)
    assert removed is not None and removed.id == shared.id
    assert await db.vote(shared.id, "late") is None
    assert await db.remove(shared.id) is None
    assert await db.vote(999, "nobody") is None


async def test_files_thumbnails_pages_and_forgetting_a_server(db: Showcase, tmp_path: Path) -> None:
    shared, _ = await db.reserve(post())
    await db.save_file(shared, png())
    await db.posted(shared, 5, 6)
    folder = tmp_path / "showcase" / "1" / str(shared.id)
    assert (folder / "fox.png").read_bytes() == png()
    with Image.open(folder / THUMBNAIL) as thumb:
        assert thumb.format == "WEBP" and max(thumb.size) == THUMBNAIL_SIDE

    for n in range(60):
        more, _ = await db.reserve(post(source=f"s{n}", kind="text"), now=1000 + n)
        await db.posted(more, 5, 100 + n)
    unposted, _ = await db.reserve(post(source="never"))  # reserved, never posted: hidden
    first, total = await db.page("1")
    assert total == 61 and len(first) == 50 and unposted.id not in [p.id for p in first]
    second, _ = await db.page("1", page=2)
    assert len(second) == 11
    assert await db.page("1", page=3) == ([], 61)

    secret = await db.set_gallery("1", True)
    assert secret and await db.set_gallery("1", True) == secret  # on again: the same link
    assert await db.server_for(secret) == "1"
    assert await db.forget_server("1") == 62
    assert not (tmp_path / "showcase" / "1").exists()
    assert await db.server_for(secret) is None and await db.page("1") == ([], 0)


async def test_a_server_id_is_never_a_path(db: Showcase) -> None:
    shared, _ = await db.reserve(post(server="../../etc"))
    with pytest.raises(ValueError):
        await db.save_file(shared, png(64))
