"""The gallery page in a real headless Chromium (Debian's ``chromium``, driven by
Playwright): images and audio render, newest/best sorting, pages of 50, a rotated link
and a switched-off gallery are 404, and one server's link shows nothing of another's.
The page runs no script of its own (its CSP allows none)."""

from __future__ import annotations

import io
import math
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio
import soundfile as sf
from PIL import Image, ImageDraw

from gallery import CSP, serve_gallery
from store import Post, Showcase, Store

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
A, B = "1001", "2002"  # two servers
#: Set to a path to keep the screenshot (README's docs/gallery.png was made so).
SCREENSHOT_ENV = "GALLERY_SCREENSHOT"

playwright_api = pytest.importorskip("playwright.async_api", reason="pip install '.[test]'")
if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium: .ci/run installs it")
    pytest.skip("apt-get install chromium", allow_module_level=True)


def picture(n: int) -> bytes:
    """A 256x256 PNG that looks like something: a gradient sky and a sun."""
    image = Image.new("RGB", (256, 256))
    draw = ImageDraw.Draw(image)
    hue = (n * 47) % 255
    for y in range(256):
        draw.line([(0, y), (255, y)], fill=(hue, 80 + y // 3, 255 - y // 2))
    draw.ellipse([80 + n % 5 * 10, 60, 170 + n % 5 * 10, 150], fill=(255, 220 - n % 7 * 20, 90))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def speech() -> bytes:
    rate = 16000
    t = np.arange(int(rate * 0.5)) / rate
    out = io.BytesIO()
    sf.write(out, 0.3 * np.sin(2 * math.pi * 440 * t), rate, format="WAV")
    return out.getvalue()


async def add(db: Showcase, server: str, n: int, kind: str, *, votes: int = 0) -> Post:
    file_name = {"image": f"picture-{n}.png", "audio": f"speech-{n}.wav"}.get(kind)
    post = Post(
        server, f"src{n}", f"9{n}", f"Artist {n}", kind, f"prompt number {n}",
        f"https://discord.com/channels/{server}/1/{n}", {"Seed": str(n)},
        "Once upon a time there was a tiny model." if kind == "text" else "", file_name,
    )  # fmt: skip
    post, _ = await db.reserve(post, now=1_700_000_000 + n * 60)
    if kind == "image":
        await db.save_file(post, picture(n))
    elif kind == "audio":
        await db.save_file(post, speech())
    await db.posted(post, 1, 5000 + n)
    for voter in range(votes):
        await db.vote(post.id, f"voter{voter}")
    return post


@pytest_asyncio.fixture
async def gallery(tmp_path: Path) -> AsyncIterator[tuple[str, Showcase]]:
    store = await Store.open(tmp_path / "data")
    db = Showcase(store)
    runner = await serve_gallery(db, "127.0.0.1", 0)
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", db
    finally:
        await runner.cleanup()
        await store.close()


async def test_the_gallery_in_a_real_browser(gallery: tuple[str, Showcase], tmp_path: Path) -> None:
    base, db = gallery
    # server A: 52 posts (two pages), images with votes, one recording, one text, one removed
    posts = [await add(db, A, n, "image", votes=n % 4) for n in range(48)]
    posts.append(await add(db, A, 48, "audio", votes=9))
    posts.append(await add(db, A, 49, "text", votes=1))
    posts += [await add(db, A, n, "image") for n in (50, 51)]
    removed = await add(db, A, 52, "image", votes=20)
    await db.remove(removed.id)
    other = await add(db, B, 60, "image", votes=1)
    secret_a = await db.set_gallery(A, True)
    secret_b = await db.set_gallery(B, True)

    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(10_000)
        try:
            response = await page.goto(f"{base}/g/{secret_a}")
            assert response is not None and response.status == 200
            headers = response.headers
            assert headers["content-security-policy"] == CSP
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "no-referrer"
            assert await page.locator("script").count() == 0

            # newest first, 50 a page; the removed post is nowhere
            ids = await card_ids(page)
            newest = [p.id for p in sorted(posts, key=lambda p: -p.created_at)]
            assert ids == newest[:50]
            assert removed.id not in ids and other.id not in ids
            # every image shows (its thumbnail decoded), the recording plays
            images = page.locator(".post img")
            assert await images.count() == 48
            widths = await images.evaluate_all(  # (those below the fold load lazily: now)
                "imgs => Promise.all(imgs.map(i => { i.loading = 'eager';"
                " return i.decode().then(() => i.naturalWidth); }))"
            )
            assert widths == [256] * 48  # thumbnails of 256 px images: their own size
            audio = page.locator("audio")
            assert await audio.count() == 1 and (await audio.bounding_box())["height"] > 0
            duration = await audio.evaluate(
                "a => new Promise((ok, fail) => { a.onloadedmetadata = () => ok(a.duration);"
                " a.onerror = () => fail(a.error.code); a.preload = 'metadata'; a.load(); })"
            )
            assert duration == pytest.approx(0.5, abs=0.01)
            assert "Once upon a time" in await page.locator(".post-text .excerpt").inner_text()
            assert "Artist 49" in await page.locator(".post-text .author").inner_text()
            assert await page.locator("text=9001").count() == 0  # no user ids anywhere

            screenshot = tmp_path / "gallery.png"
            await page.screenshot(path=str(screenshot))
            assert screenshot.stat().st_size > 10_000
            if os.environ.get(SCREENSHOT_ENV):
                shutil.copy(screenshot, os.environ[SCREENSHOT_ENV])

            # best first, through the page's own link; then the second page
            await page.click("nav >> text=Best")
            best = await card_ids(page)
            assert best[0] == posts[48].id  # the recording: 9 votes
            votes = [int(v.split()[-1]) for v in await page.locator(".votes").all_inner_texts()]
            assert votes == sorted(votes, reverse=True)
            await page.click("text=Next →")
            assert len(await card_ids(page)) == 2
            assert "Page 2 of 2" in await page.content()

            # out of range, nonsense and another server's files: 404
            for query in ("?page=3", "?page=0", "?page=x", "?sort=old"):
                assert (await page.goto(f"{base}/g/{secret_a}{query}")).status == 404
            assert (await page.goto(f"{base}/g/{secret_b}/file/{posts[0].id}")).status == 404
            assert (await page.goto(f"{base}/g/{secret_a}/file/{removed.id}")).status == 404

            # server B's link shows B's post only
            await page.goto(f"{base}/g/{secret_b}")
            assert await card_ids(page) == [other.id]

            # a rotated link is dead, the new one works; a gallery turned off is dead
            rotated = await db.rotate_gallery(A)
            assert (await page.goto(f"{base}/g/{secret_a}")).status == 404
            thumb = f"{base}/g/{secret_a}/thumb/{posts[0].id}"  # (not from the browser's cache)
            assert (await page.request.get(thumb)).status == 404
            assert (await page.goto(f"{base}/g/{rotated}")).status == 200
            await db.set_gallery(B, False)
            gone = await page.goto(f"{base}/g/{secret_b}")
            assert gone.status == 404 and gone.headers["content-security-policy"] == CSP
        finally:
            await browser.close()


async def card_ids(page: playwright_api.Page) -> list[int]:
    return [int(i) for i in await page.locator(".post").evaluate_all(
        "cards => cards.map(c => c.dataset.id)")]  # fmt: skip
