"""Per-server settings that a server's moderators choose: values by server, scope (the
whole server, or one channel) and key. What the keys mean is the bot's business."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from .migration import Migration

if TYPE_CHECKING:
    from .db import Store

MIGRATIONS = (
    Migration(
        1,
        (
            """CREATE TABLE server_settings (
                server_id TEXT NOT NULL,
                scope TEXT NOT NULL,
                key TEXT NOT NULL,
                value TEXT NOT NULL,
                updated_at REAL NOT NULL,
                PRIMARY KEY (server_id, scope, key)
            )""",
        ),
    ),
)

#: The scope of a setting for the whole server (a channel's scope is its id).
SERVER = ""

#: {server: {(scope, key): value}}
AllSettings = dict[str, dict[tuple[str, str], Any]]


class ServerSettings:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def load(self) -> AllSettings:
        """Every server's settings (read once at start-up, then cached by the caller)."""
        rows = await self.store.read(
            lambda c: c.execute(
                "SELECT server_id, scope, key, value FROM server_settings"
            ).fetchall()
        )
        found: AllSettings = defaultdict(dict)
        for server, scope, key, value in rows:
            found[server][(scope, key)] = json.loads(value)
        return dict(found)

    async def set(self, server: object, scope: str, key: str, value: Any) -> None:
        """Save one setting (None removes it); committed before this returns."""
        args: tuple[Any, ...]
        if value is None:
            sql = "DELETE FROM server_settings WHERE server_id = ? AND scope = ? AND key = ?"
            args = (str(server), scope, key)
        else:
            sql = (
                "INSERT INTO server_settings (server_id, scope, key, value, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (server_id, scope, key)"
                " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
            )
            args = (str(server), scope, key, json.dumps(value), time.time())
        await self.store.write(lambda c: c.execute(sql, args))
