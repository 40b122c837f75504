"""Command sync on demand: push the slash commands to Discord only when they changed.

discord.py's advice is not to sync on every start: syncing is rate limited, and a
global sync can take a while to show. At start-up the bot hashes the commands it would
sync (their full JSON: names, descriptions, options, limits) and compares the hash with
the one stored under DATA_DIR after the last successful sync for the same application
and target (global, or DEV_GUILD_ID). Equal: nothing is sent. ``python -m bot sync``
syncs whatever the hash says (after the commands were changed by hand in the developer
portal, say).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

log = logging.getLogger(__name__)

#: The file under DATA_DIR that remembers the last sync of each application and target.
STATE_FILE = "command-sync.json"


def commands_hash(tree: app_commands.CommandTree, guild: discord.abc.Snowflake | None) -> str:
    """A hash of the commands a sync to ``guild`` (None: global) would send."""
    payload = [command.to_dict(tree) for command in tree.get_commands(guild=guild)]
    payload.sort(key=lambda c: (c.get("type", 1), c["name"]))
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _key(application_id: int | None, guild: discord.abc.Snowflake | None) -> str:
    return f"{application_id}:{'global' if guild is None else f'guild:{guild.id}'}"


def _read(data_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((Path(data_dir).expanduser() / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(data_dir: Path, state: dict[str, Any]) -> None:
    path = Path(data_dir).expanduser() / STATE_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    except OSError as exc:  # an unwritable DATA_DIR costs a sync next start, nothing more
        log.warning("could not record the command sync in %s: %s", path, exc.strerror or exc)


async def sync_commands(
    tree: app_commands.CommandTree,
    application_id: int | None,
    data_dir: Path,
    guild: discord.abc.Snowflake | None = None,
    *,
    force: bool = False,
) -> int | None:
    """Sync ``tree`` to ``guild`` (None: globally) when its commands differ from the last
    sync recorded in ``data_dir`` (or ``force``); the number of commands synced, or None
    when nothing had changed."""
    state = await asyncio.to_thread(_read, data_dir)
    key = _key(application_id, guild)
    digest = commands_hash(tree, guild)
    if not force and state.get(key) == digest:
        return None
    synced = await tree.sync(guild=guild)
    state[key] = digest
    await asyncio.to_thread(_write, data_dir, state)
    return len(synced)
