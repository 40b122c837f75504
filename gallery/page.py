"""The gallery's HTML: one page of a server's showcase, with no script at all.

Every link is relative (``<secret>/file/3``, ``../static/gallery.css``), so the same page
works wherever the app is mounted. Everything shown is escaped; no user ids, only the
display names authors had when they shared.
"""

from __future__ import annotations

import datetime as dt
import math
from html import escape

from store.showcase import PAGE_SIZE, Order, Post

ORDERS: dict[Order, str] = {"new": "Newest", "top": "Best"}


def gallery_page(
    secret: str, posts: list[Post], *, total: int, order: Order, page: int, title: str = "Showcase"
) -> str:
    pages = max(1, math.ceil(total / PAGE_SIZE))
    cards = "\n".join(_card(secret, post) for post in posts)
    body = (
        f'<ul class="grid">\n{cards}\n</ul>'
        if posts
        else '<p class="empty">Nothing shared here yet.</p>'
    )
    sorting = " ".join(
        _link(secret, name, label, 1, current=name == order) for name, label in ORDERS.items()
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{escape(title)}</title>
<link rel="stylesheet" href="../static/gallery.css">
</head>
<body>
<header>
<h1>{escape(title)}</h1>
<nav aria-label="Order">{sorting}</nav>
<span class="count">{total} post{"" if total == 1 else "s"}</span>
</header>
{body}
{_pages(secret, order, page, pages)}
</body>
</html>
"""


def not_found_page() -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Not found</title>'
        "</head><body><p>There is no gallery here.</p></body></html>\n"
    )


def _card(secret: str, post: Post) -> str:
    base = f"{escape(secret)}/file/{post.id}"
    if post.kind == "image":
        media = (
            f'<a href="{base}"><img src="{escape(secret)}/thumb/{post.id}" '
            f'alt="{escape(post.prompt, quote=True)}" loading="lazy"></a>'
        )
    elif post.kind == "audio":
        media = f'<audio controls preload="none" src="{base}"></audio>'
    elif post.file_name:
        media = f'<a class="file" href="{base}">Read it all</a>'
    else:
        media = ""
    excerpt = f'<p class="excerpt">{escape(post.excerpt)}</p>' if post.excerpt else ""
    when = dt.datetime.fromtimestamp(post.created_at, dt.timezone.utc)
    votes = f'<span class="votes" title="votes">★ {post.votes}</span>'
    return (
        f'<li class="post post-{post.kind}" data-id="{post.id}">{media}{excerpt}'
        f'<div class="body"><p class="prompt">{escape(post.prompt)}</p>'
        f'<div class="meta"><span class="author">{escape(post.author_name)}</span>'
        f"{votes}"
        f'<time datetime="{when.isoformat(timespec="seconds")}">{when:%Y-%m-%d}</time>'
        "</div></div></li>"
    )


def _link(secret: str, order: Order, label: str, page: int, *, current: bool = False) -> str:
    mark = ' aria-current="page"' if current else ""
    return f'<a href="{escape(secret)}?sort={order}&amp;page={page}"{mark}>{escape(label)}</a>'


def _pages(secret: str, order: Order, page: int, pages: int) -> str:
    if pages == 1:
        return ""
    links = []
    if page > 1:
        links.append(_link(secret, order, "← Previous", page - 1))
    links.append(f"<span>Page {page} of {pages}</span>")
    if page < pages:
        links.append(_link(secret, order, "Next →", page + 1))
    return f'<nav class="pages" aria-label="Pages">{" ".join(links)}</nav>'
