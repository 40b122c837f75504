"""A local fake Discord (REST + gateway) for end-to-end tests of the real discord.py client.

See ``server.py`` for the walkthrough and ``fixtures.py`` for the ``fake_discord`` fixture.
"""

from .models import (
    BOT_PERMISSIONS,
    MEMBER_PERMISSIONS,
    MODERATOR_PERMISSIONS,
    FakeChannel,
    FakeClock,
    FakeGuild,
    FakeUser,
)
from .records import (
    Callback,
    DiscordError,
    InteractionRecord,
    Mentions,
    MessageRecord,
    MessageWrite,
    RequestRecord,
    UploadedFile,
)
from .server import FakeDiscord

__all__ = [
    "BOT_PERMISSIONS",
    "MEMBER_PERMISSIONS",
    "MODERATOR_PERMISSIONS",
    "Callback",
    "DiscordError",
    "FakeChannel",
    "FakeClock",
    "FakeDiscord",
    "FakeGuild",
    "FakeUser",
    "InteractionRecord",
    "Mentions",
    "MessageRecord",
    "MessageWrite",
    "RequestRecord",
    "UploadedFile",
]
