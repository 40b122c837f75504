"""The gallery web app (aiohttp): each server's showcase at an unguessable URL.

``gallery_app(store)`` is a plain ``web.Application``: the bot serves it on GALLERY_PORT
(``serve_gallery``), and an aiohttp server of the inference side can mount it instead
with ``app.add_subapp("/gallery/", gallery_app(store))``. It depends on the store and
aiohttp only (no Discord, no bot).

Routes, under wherever it is mounted::

    g/{secret}?sort=new|top&page=N   one page of 50 posts
    g/{secret}/file/{post}           the stored PNG or WAV
    g/{secret}/thumb/{post}          an image's thumbnail
    static/gallery.css

An unknown, rotated or switched-off secret, another server's post, a removed post and a
page out of range are all the same 404. Every response carries a strict CSP (no scripts
at all), ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` (the
secret is in the URL: it must not leak to other sites).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp import web

from store import media
from store.showcase import PAGE_SIZE, Post, Showcase

from .page import ORDERS, gallery_page, not_found_page

CSP = (
    "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
}
CSS = Path(__file__).with_name("gallery.css")
#: What a secret looks like (``secrets.token_urlsafe(24)``): anything else is not looked up.
_SECRET = re.compile(r"[A-Za-z0-9_-]{32}")
_MAX_PAGE = 100_000
_TYPES = {
    ".png": "image/png",
    ".wav": "audio/wav",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}

SHOWCASE = web.AppKey("showcase", Showcase)


def gallery_app(showcase: Showcase) -> web.Application:
    app = web.Application(middlewares=[_security_headers])
    app[SHOWCASE] = showcase
    app.router.add_get("/g/{secret}", _page)
    app.router.add_get("/g/{secret}/file/{post:[0-9]{1,18}}", _file)
    app.router.add_get("/g/{secret}/thumb/{post:[0-9]{1,18}}", _thumbnail)
    app.router.add_get("/static/gallery.css", _css)
    return app


async def serve_gallery(showcase: Showcase, host: str, port: int) -> web.AppRunner:
    """Serve the gallery on ``host:port`` until the returned runner is cleaned up."""
    runner = web.AppRunner(gallery_app(showcase), access_log=None)  # URLs hold secrets
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


@web.middleware
async def _security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = _not_found() if exc.status == 404 else exc
    response.headers.update(SECURITY_HEADERS)
    return response


def _not_found() -> web.Response:
    return web.Response(status=404, text=not_found_page(), content_type="text/html")


async def _server(request: web.Request) -> str:
    secret = request.match_info["secret"]
    server = await request.app[SHOWCASE].server_for(secret) if _SECRET.fullmatch(secret) else None
    if server is None:
        raise web.HTTPNotFound()
    return server


async def _page(request: web.Request) -> web.Response:
    server = await _server(request)
    order = request.query.get("sort", "new")
    page_arg = request.query.get("page", "1")
    if order not in ORDERS or not page_arg.isdigit() or not 1 <= int(page_arg) <= _MAX_PAGE:
        raise web.HTTPNotFound()
    page = int(page_arg)
    posts, total = await request.app[SHOWCASE].page(server, order, page)  # type: ignore[arg-type]
    if page > 1 and (page - 1) * PAGE_SIZE >= total:
        raise web.HTTPNotFound()
    html = gallery_page(
        request.match_info["secret"],
        posts,
        total=total,
        order=order,
        page=page,  # type: ignore[arg-type]
    )
    return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-store"})


async def _post(request: web.Request) -> Post:
    server = await _server(request)
    post = await request.app[SHOWCASE].get(int(request.match_info["post"]))
    if post is None or post.server_id != server or post.removed_at is not None:
        raise web.HTTPNotFound()
    return post


def _send(path: Path | None, content_type: str) -> web.FileResponse:
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(
        path, headers={"Content-Type": content_type, "Cache-Control": "private, max-age=3600"}
    )


async def _file(request: web.Request) -> web.FileResponse:
    post = await _post(request)
    if post.file_name is None:
        raise web.HTTPNotFound()
    path = media.file_path(request.app[SHOWCASE].data_dir, post.server_id, post.id, post.file_name)
    return _send(path, _TYPES.get(Path(post.file_name).suffix.lower(), "application/octet-stream"))


async def _thumbnail(request: web.Request) -> web.FileResponse:
    post = await _post(request)
    data_dir = request.app[SHOWCASE].data_dir
    return _send(media.file_path(data_dir, post.server_id, post.id, media.THUMBNAIL), "image/webp")


async def _css(request: web.Request) -> web.FileResponse:
    return web.FileResponse(CSS, headers={"Content-Type": "text/css"})
