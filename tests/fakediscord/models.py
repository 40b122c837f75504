"""The fake world: users, guilds, channels, the clock, and their Discord JSON payloads."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import discord

DISCORD_EPOCH_MS = 1420070400000
_counter = itertools.count(1)


def snowflake() -> int:
    """A new, unique, realistic snowflake (its timestamp is now)."""
    ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
    return (ms << 22) | (next(_counter) & 0x3FFFFF)


def iso_now() -> str:
    """The current time as Discord writes it (ISO 8601, UTC)."""
    return datetime.now(timezone.utc).isoformat()


class FakeClock:
    """Monotonic seconds that a test can move forward with :meth:`advance`.

    Interaction deadlines (3 s to answer, 15 min for the token) are measured on it, so
    ``fake.clock.advance(16 * 60)`` expires every token without waiting.
    """

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        """Seconds on this clock (real monotonic time plus every :meth:`advance`)."""
        return time.monotonic() + self.offset

    def wall(self) -> float:
        """Wall-clock seconds on this clock (``time.time()`` plus every :meth:`advance`),
        for a bot's own schedules (weekly posts...) in tests."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self.offset += seconds


#: What an ordinary member may do: see, talk, attach, embed, react, use app commands.
MEMBER_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    read_message_history=True,
    attach_files=True,
    embed_links=True,
    add_reactions=True,
    use_application_commands=True,
    use_external_emojis=True,
).value
#: A moderator: a member who can also manage messages.
MODERATOR_PERMISSIONS = MEMBER_PERMISSIONS | discord.Permissions(manage_messages=True).value
#: What the bot is granted in the channel (``app_permissions``) unless a test says otherwise.
BOT_PERMISSIONS = (
    MEMBER_PERMISSIONS
    | discord.Permissions(
        send_messages_in_threads=True, create_public_threads=True, pin_messages=True
    ).value
)


@dataclass
class FakeUser:
    """A Discord user; ``permissions`` is the member bitfield used when they invoke in a guild."""

    username: str
    id: int = field(default_factory=snowflake)
    global_name: str | None = None
    bot: bool = False
    permissions: int = MEMBER_PERMISSIONS
    roles: list[int] = field(default_factory=list)
    nick: str | None = None

    @property
    def mention(self) -> str:
        """``<@id>``, as a message would mention this user."""
        return f"<@{self.id}>"

    def payload(self) -> dict[str, Any]:
        """The user object."""
        return {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }

    def member_payload(
        self, *, with_user: bool = True, with_permissions: bool = False
    ) -> dict[str, Any]:
        """The guild member object (``permissions`` only appears in interactions)."""
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "joined_at": "2024-01-01T00:00:00+00:00",
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.payload()
        if with_permissions:
            data["permissions"] = str(self.permissions)
        return data


@dataclass
class FakeChannel:
    """A guild text channel (``type=0``); ``nsfw=True`` makes it age-restricted."""

    name: str
    guild_id: int | None = None
    id: int = field(default_factory=snowflake)
    nsfw: bool = False
    type: int = 0
    position: int = 0
    topic: str | None = None
    #: What the bot may do here (None: ``BOT_PERMISSIONS``); posting without
    #: send_messages is refused with 403, as Discord does.
    bot_permissions: int | None = None
    #: A thread's channel (type 11 public, 12 private threads).
    parent_id: int | None = None
    owner_id: int | None = None
    archived: bool = False

    @property
    def is_thread(self) -> bool:
        return self.type in (10, 11, 12)

    def payload(self) -> dict[str, Any]:
        """The channel object."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [],
            "nsfw": self.nsfw,
            "topic": self.topic,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "flags": 0,
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.is_thread:
            data["owner_id"] = str(self.owner_id)
            data["message_count"] = 0
            data["member_count"] = 1
            data["thread_metadata"] = {
                "archived": self.archived,
                "auto_archive_duration": 10080,
                "archive_timestamp": iso_now(),
                "locked": False,
            }
        return data


@dataclass
class FakeGuild:
    """A guild with its channels and members (the bot's member is added when it connects)."""

    name: str
    id: int = field(default_factory=snowflake)
    channels: list[FakeChannel] = field(default_factory=list)
    members: list[FakeUser] = field(default_factory=list)
    owner_id: int = 0
    locale: str = "en-US"

    def add_channel(self, name: str, *, nsfw: bool = False, **kwargs: Any) -> FakeChannel:
        """Create a text channel in this guild."""
        channel = FakeChannel(
            name, guild_id=self.id, nsfw=nsfw, position=len(self.channels), **kwargs
        )
        self.channels.append(channel)
        return channel

    def channel(self, name: str) -> FakeChannel:
        """The channel called ``name``."""
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(f"no channel {name!r} in guild {self.name!r}")

    def everyone_role(self) -> dict[str, Any]:
        """The @everyone role (its id is the guild id)."""
        return {
            "id": str(self.id),
            "name": "@everyone",
            "color": 0,
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": 0,
            "permissions": str(MEMBER_PERMISSIONS),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }

    def payload(self, bot_user: FakeUser) -> dict[str, Any]:
        """The GUILD_CREATE payload, with the bot as a member."""
        members = [m.member_payload() for m in self.members]
        if all(m.id != bot_user.id for m in self.members):
            members.append(bot_user.member_payload())
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(self.owner_id or (self.members[0].id if self.members else bot_user.id)),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [self.everyone_role()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": self.locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "joined_at": "2024-01-01T00:00:00+00:00",
            "large": False,
            "unavailable": False,
            "member_count": len(members),
            "members": members,
            "channels": [c.payload() for c in self.channels if not c.is_thread],
            "threads": [c.payload() for c in self.channels if c.is_thread],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }
