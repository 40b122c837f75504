"""The bot's persistent store: state that must outlive a restart.

SQLite under DATA_DIR (WAL mode), one thread for all of its calls, versioned schema
migrations per feature (``schema.py``). It imports nothing of the bot or the inference
service: features keep their platform-specific data as JSON.
"""

from .db import DB_FILE, Store, StoreError
from .journal import Journal, JournalEntry
from .migration import Migration
from .server_settings import ServerSettings
from .showcase import Post, Showcase
from .stories import Conflict, Stories, StoryRecord, TurnRecord

__all__ = [
    "DB_FILE",
    "Conflict",
    "Journal",
    "JournalEntry",
    "Migration",
    "Post",
    "ServerSettings",
    "Showcase",
    "Store",
    "StoreError",
    "Stories",
    "StoryRecord",
    "TurnRecord",
]
