"""The community showcase: shared results, one vote per member, and each server's gallery
secret. Platform-neutral: ids are strings, what a post shows is plain text and a file
under DATA_DIR (``store.media``).

A post is first *reserved* (its row, keyed by the server and the shared result, refuses a
second share), then marked *posted* once the platform has its message. A removed post
keeps a row (so it cannot be shared again) but loses its votes and its files.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from . import media
from .migration import Migration

if TYPE_CHECKING:
    from .db import Store

MIGRATIONS = (
    Migration(
        1,
        (
            """CREATE TABLE showcase_posts (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                server_id TEXT NOT NULL,
                source_id TEXT NOT NULL,
                channel_id TEXT,
                message_id TEXT,
                author_id TEXT NOT NULL,
                author_name TEXT NOT NULL,
                kind TEXT NOT NULL,
                prompt TEXT NOT NULL,
                details TEXT NOT NULL,
                excerpt TEXT NOT NULL,
                file_name TEXT,
                jump_url TEXT NOT NULL,
                votes INTEGER NOT NULL DEFAULT 0,
                created_at REAL NOT NULL,
                removed_at REAL,
                UNIQUE (server_id, source_id)
            )""",
            "CREATE INDEX showcase_posts_by_server ON showcase_posts (server_id, created_at)",
            "CREATE INDEX showcase_posts_by_message ON showcase_posts (message_id)",
            """CREATE TABLE showcase_votes (
                post_id INTEGER NOT NULL REFERENCES showcase_posts (id) ON DELETE CASCADE,
                user_id TEXT NOT NULL,
                PRIMARY KEY (post_id, user_id)
            )""",
            """CREATE TABLE showcase_servers (
                server_id TEXT PRIMARY KEY,
                gallery_secret TEXT UNIQUE,
                weekly_at REAL
            )""",
        ),
    ),
)

#: What a post holds: a picture (PNG), a recording (WAV) or a text excerpt.
Kind = Literal["image", "audio", "text"]
Order = Literal["new", "top"]
#: Posts on one gallery page.
PAGE_SIZE = 50

_COLUMNS = (
    "id, server_id, source_id, channel_id, message_id, author_id, author_name, kind, prompt,"
    " details, excerpt, file_name, jump_url, votes, created_at, removed_at"
)
_LIVE = "removed_at IS NULL AND message_id IS NOT NULL"


@dataclass
class Post:
    server_id: str
    source_id: str
    author_id: str
    author_name: str
    kind: Kind
    prompt: str
    jump_url: str
    #: Settings shown with it, by name (seed, steps, model...).
    details: dict[str, str] = field(default_factory=dict)
    excerpt: str = ""
    file_name: str | None = None
    id: int = 0
    channel_id: str | None = None
    message_id: str | None = None
    votes: int = 0
    created_at: float = 0.0
    removed_at: float | None = None

    @classmethod
    def _from_row(cls, row: tuple[Any, ...]) -> Post:
        (id_, server, source, channel, message, author, name, kind, prompt, details, excerpt,
         file_name, jump, votes, created, removed) = row  # fmt: skip
        return cls(
            server, source, author, name, kind, prompt, jump, json.loads(details), excerpt,
            file_name, id_, channel, message, votes, created, removed,
        )  # fmt: skip


class Showcase:
    """Showcase posts, votes and gallery secrets in ``store``; files under its DATA_DIR."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.data_dir = store.path.parent

    # -- sharing ------------------------------------------------------------------------

    async def reserve(self, post: Post, *, now: float | None = None) -> tuple[Post, bool]:
        """Claim ``post``'s result for the showcase: (the new post, True), or (the post it
        already has, False) when it was shared before."""
        created = time.time() if now is None else now
        row = (
            post.server_id, post.source_id, post.author_id, post.author_name, post.kind,
            post.prompt, json.dumps(post.details, ensure_ascii=False), post.excerpt,
            post.file_name, post.jump_url, created,
        )  # fmt: skip

        def claim(c: sqlite3.Connection) -> tuple[Post, bool]:
            cursor = c.execute(
                "INSERT INTO showcase_posts (server_id, source_id, author_id, author_name, kind,"
                " prompt, details, excerpt, file_name, jump_url, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (server_id, source_id) DO NOTHING",
                row,
            )
            found = c.execute(
                f"SELECT {_COLUMNS} FROM showcase_posts WHERE server_id = ? AND source_id = ?",
                (post.server_id, post.source_id),
            ).fetchone()
            return Post._from_row(found), cursor.rowcount == 1

        return await self.store.write(claim)

    async def save_file(self, post: Post, data: bytes) -> None:
        """Keep the post's file (and an image's thumbnail, made now) under DATA_DIR. Blocking
        work runs in a worker thread."""
        assert post.file_name is not None
        await media.save(self.data_dir, post.server_id, post.id, post.file_name, data)

    async def posted(self, post: Post, channel_id: object, message_id: object) -> None:
        """The post is out (with ``post.excerpt`` as it is now: a file's may come late)."""
        post.channel_id, post.message_id = str(channel_id), str(message_id)
        await self.store.write(
            lambda c: c.execute(
                "UPDATE showcase_posts SET channel_id = ?, message_id = ?, excerpt = ?"
                " WHERE id = ?",
                (post.channel_id, post.message_id, post.excerpt, post.id),
            )
        )

    async def unreserve(self, post: Post) -> None:
        """Posting failed: forget the reservation and its files."""
        await self.store.write(
            lambda c: c.execute("DELETE FROM showcase_posts WHERE id = ?", (post.id,))
        )
        await media.remove_post(self.data_dir, post.server_id, post.id)

    async def get(self, post_id: int) -> Post | None:
        row = await self.store.read(
            lambda c: c.execute(
                f"SELECT {_COLUMNS} FROM showcase_posts WHERE id = ?", (post_id,)
            ).fetchone()
        )
        return None if row is None else Post._from_row(row)

    async def find_post(self, server_id: object, message_id: object) -> Post | None:
        """The live post whose showcase message is ``message_id``."""
        row = await self.store.read(
            lambda c: c.execute(
                f"SELECT {_COLUMNS} FROM showcase_posts WHERE server_id = ? AND message_id = ?"
                " AND removed_at IS NULL",
                (str(server_id), str(message_id)),
            ).fetchone()
        )
        return None if row is None else Post._from_row(row)

    # -- votes and removal --------------------------------------------------------------

    async def vote(self, post_id: int, user_id: object) -> tuple[Post, bool] | None:
        """Toggle ``user_id``'s vote: (the post with its new count, whether the user now
        votes for it); None when the post is gone or removed."""
        user = str(user_id)

        def toggle(c: sqlite3.Connection) -> tuple[Post, bool] | None:
            live = c.execute(
                f"SELECT 1 FROM showcase_posts WHERE id = ? AND {_LIVE}", (post_id,)
            ).fetchone()
            if live is None:
                return None
            taken = c.execute(
                "DELETE FROM showcase_votes WHERE post_id = ? AND user_id = ?", (post_id, user)
            ).rowcount
            if not taken:
                c.execute("INSERT INTO showcase_votes (post_id, user_id) VALUES (?, ?)",
                          (post_id, user))  # fmt: skip
            c.execute(
                "UPDATE showcase_posts SET votes ="
                " (SELECT COUNT(*) FROM showcase_votes WHERE post_id = ?) WHERE id = ?",
                (post_id, post_id),
            )
            row = c.execute(
                f"SELECT {_COLUMNS} FROM showcase_posts WHERE id = ?", (post_id,)
            ).fetchone()
            return Post._from_row(row), not taken

        return await self.store.write(toggle)

    async def remove(self, post_id: int, *, now: float | None = None) -> Post | None:
        """Take a post off the showcase and the gallery (its votes and files go); None when
        it was already removed or never was."""
        removed_at = time.time() if now is None else now

        def take_down(c: sqlite3.Connection) -> Post | None:
            row = c.execute(
                f"SELECT {_COLUMNS} FROM showcase_posts WHERE id = ? AND removed_at IS NULL",
                (post_id,),
            ).fetchone()
            if row is None:
                return None
            c.execute("DELETE FROM showcase_votes WHERE post_id = ?", (post_id,))
            c.execute(
                "UPDATE showcase_posts SET removed_at = ?, votes = 0 WHERE id = ?",
                (removed_at, post_id),
            )
            return Post._from_row(row)

        post = await self.store.write(take_down)
        if post is not None:
            await media.remove_post(self.data_dir, post.server_id, post.id)
        return post

    # -- listing ------------------------------------------------------------------------

    async def top(self, server_id: object, *, since: float = 0.0, limit: int = 10) -> list[Post]:
        """The server's live posts with votes since ``since``, most votes first (the
        earlier post first on a tie)."""
        rows = await self.store.read(
            lambda c: c.execute(
                f"SELECT {_COLUMNS} FROM showcase_posts WHERE server_id = ? AND {_LIVE}"
                " AND votes > 0 AND created_at >= ? ORDER BY votes DESC, created_at, id LIMIT ?",
                (str(server_id), since, limit),
            ).fetchall()
        )
        return [Post._from_row(row) for row in rows]

    async def page(
        self, server_id: object, order: Order = "new", page: int = 1, per_page: int = PAGE_SIZE
    ) -> tuple[list[Post], int]:
        """One page (from 1) of the server's live posts, newest or most voted first, and
        how many live posts it has in all."""
        sort = "created_at DESC, id DESC" if order == "new" else "votes DESC, created_at DESC, id"
        server = str(server_id)

        def read(c: sqlite3.Connection) -> tuple[list[Post], int]:
            total = c.execute(
                f"SELECT COUNT(*) FROM showcase_posts WHERE server_id = ? AND {_LIVE}", (server,)
            ).fetchone()[0]
            rows = c.execute(
                f"SELECT {_COLUMNS} FROM showcase_posts WHERE server_id = ? AND {_LIVE}"
                f" ORDER BY {sort} LIMIT ? OFFSET ?",
                (server, per_page, (page - 1) * per_page),
            ).fetchall()
            return [Post._from_row(row) for row in rows], total

        return await self.store.read(read)

    # -- the gallery's secret link ------------------------------------------------------

    async def gallery_secret(self, server_id: object) -> str | None:
        """The server's gallery secret; None while its gallery is off."""
        row = await self.store.read(
            lambda c: c.execute(
                "SELECT gallery_secret FROM showcase_servers WHERE server_id = ?",
                (str(server_id),),
            ).fetchone()
        )
        return row[0] if row else None

    async def set_gallery(self, server_id: object, on: bool) -> str | None:
        """Turn the server's gallery on (keeping its link when it has one) or off (its link
        dies); returns the secret, or None when off."""
        if on:
            return await self._new_secret(server_id, keep=True)
        await self._save_server(server_id, "gallery_secret", None)
        return None

    async def rotate_gallery(self, server_id: object) -> str:
        """A new secret for the server's gallery: the old link stops working."""
        return await self._new_secret(server_id, keep=False)

    async def server_for(self, secret: str) -> str | None:
        """The server whose gallery ``secret`` opens; None for an unknown (or old) one."""
        row = await self.store.read(
            lambda c: c.execute(
                "SELECT server_id FROM showcase_servers WHERE gallery_secret = ?", (secret,)
            ).fetchone()
        )
        return row[0] if row else None

    async def _new_secret(self, server_id: object, *, keep: bool) -> str:
        server, secret = str(server_id), secrets.token_urlsafe(24)

        def save(c: sqlite3.Connection) -> str:
            if keep:
                row = c.execute(
                    "SELECT gallery_secret FROM showcase_servers WHERE server_id = ?", (server,)
                ).fetchone()
                if row and row[0]:
                    return str(row[0])
            _upsert(c, server, "gallery_secret", secret)
            return secret

        return await self.store.write(save)

    # -- weekly highlights --------------------------------------------------------------

    async def weekly_at(self, server_id: object) -> float | None:
        """When the server's last weekly highlights were posted (or counting began)."""
        row = await self.store.read(
            lambda c: c.execute(
                "SELECT weekly_at FROM showcase_servers WHERE server_id = ?", (str(server_id),)
            ).fetchone()
        )
        return row[0] if row else None

    async def set_weekly_at(self, server_id: object, when: float | None) -> None:
        await self._save_server(server_id, "weekly_at", when)

    async def _save_server(self, server_id: object, column: str, value: object) -> None:
        await self.store.write(lambda c: _upsert(c, str(server_id), column, value))

    # -- leaving a server ---------------------------------------------------------------

    async def forget_server(self, server_id: object) -> int:
        """Delete everything of a server (posts, votes, gallery, files); returns how many
        posts it had."""
        server = str(server_id)

        def forget(c: sqlite3.Connection) -> int:
            count = c.execute("DELETE FROM showcase_posts WHERE server_id = ?", (server,)).rowcount
            c.execute("DELETE FROM showcase_servers WHERE server_id = ?", (server,))
            return count

        count = await self.store.write(forget)
        await media.remove_server(self.data_dir, server)
        return count


def _upsert(c: sqlite3.Connection, server: str, column: str, value: object) -> None:
    assert column in ("gallery_secret", "weekly_at")  # never from input
    c.execute(
        f"INSERT INTO showcase_servers (server_id, {column}) VALUES (?, ?)"
        f" ON CONFLICT (server_id) DO UPDATE SET {column} = excluded.{column}",
        (server, value),
    )
