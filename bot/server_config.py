"""Per-server settings that moderators choose with ``/config``, within the operator's.

Cached in memory (every check reads only memory) and written through to the store:
a change is saved before it is acknowledged, and the cache changes only once it is.
The operator's settings (.env) stay the ceiling: a server may turn commands off,
tighten the image safety policy and its cooldowns, never loosen them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from store import ServerSettings, Store
from store.server_settings import SERVER

if TYPE_CHECKING:
    from .settings import BotSettings

log = logging.getLogger(__name__)

#: The commands a server can turn off (by task; a command's menu and buttons go with it).
COMMANDS = (
    "sentiment",
    "ner",
    "classify",
    "qa",
    "summarize",
    "translate",
    "generate",
    "imagine",
    "speak",
    "story",
    "docs",
    "ask",
)
#: IMAGINE_NSFW_POLICY values, the loosest first.
IMAGE_POLICIES = ("anywhere", "age-restricted", "nowhere")

# Keys in the store
COMMAND_KEY, IMAGE_KEY, COOLDOWN_KEY, LANGUAGE_KEY = (
    "command:",
    "image_safety",
    "cooldown",
    "language",
)
SHOWCASE_CHANNEL_KEY, SHOWCASE_WEEKLY_KEY = "showcase_channel", "showcase_weekly"


@dataclass
class ServerRules:
    """One server's choices (what it has not chosen follows the operator)."""

    #: (channel id, or None for the whole server, command) -> enabled
    commands: dict[tuple[int | None, str], bool] = field(default_factory=dict)
    image_policy: str | None = None
    #: command, or "" for all of them -> (uses, per seconds)
    cooldowns: dict[str, tuple[int, float]] = field(default_factory=dict)
    language: str | None = None
    #: The showcase channel (None: sharing is off) and whether it gets weekly highlights.
    showcase_channel: int | None = None
    showcase_weekly: bool = False

    @classmethod
    def from_store(cls, values: dict[tuple[str, str], Any]) -> ServerRules:
        rules = cls()
        for (scope, key), value in values.items():
            if key.startswith(COMMAND_KEY):
                channel = int(scope) if scope else None
                rules.commands[(channel, key.removeprefix(COMMAND_KEY))] = bool(value)
            elif key == IMAGE_KEY:
                rules.image_policy = str(value)
            elif key.startswith(COOLDOWN_KEY):
                rules.cooldowns[key.removeprefix(COOLDOWN_KEY).lstrip(":")] = (
                    int(value[0]),
                    float(value[1]),
                )
            elif key == LANGUAGE_KEY:
                rules.language = str(value)
            elif key == SHOWCASE_CHANNEL_KEY:
                rules.showcase_channel = int(value)
            elif key == SHOWCASE_WEEKLY_KEY:
                rules.showcase_weekly = bool(value)
        return rules


class ServerConfig:
    def __init__(self, settings: BotSettings) -> None:
        self.settings = settings
        self._db: ServerSettings | None = None
        self._servers: dict[int, ServerRules] = {}

    async def open(self, store: Store) -> None:
        self._db = ServerSettings(store)
        self._servers = {
            int(s): ServerRules.from_store(v) for s, v in (await self._db.load()).items()
        }

    def rules(self, guild_id: int | None) -> ServerRules:
        """The server's rules (empty ones for a DM or an unconfigured server)."""
        return self._servers.get(guild_id or 0) or ServerRules()

    # -- what the checks read -----------------------------------------------------------

    def enabled(self, task: str, guild_id: int | None, channels: tuple[int | None, ...]) -> bool:
        """Whether ``task`` may run in the first of ``channels`` (a thread, then its parent)
        that has a rule, else by the server's rule, else yes."""
        commands = self.rules(guild_id).commands
        for channel in (*channels, None):
            if (channel, task) in commands:
                return commands[(channel, task)]
        return True

    def check_enabled(self, task: str, interaction: discord.Interaction) -> None:
        if task not in COMMANDS or interaction.guild_id is None:
            return
        channel = interaction.channel
        parent = getattr(channel, "parent_id", None)
        if not self.enabled(task, interaction.guild_id, (interaction.channel_id, parent)):
            raise app_commands.CheckFailure(
                f"/{task} is turned off here by this server's moderators."
            )

    def cooldown(self, task: str, interaction: discord.Interaction) -> tuple[int, float] | None:
        """The server's cooldown for ``task`` (its own, else the server's general one),
        never looser than the operator's; None when the server has none."""
        cooldowns = self.rules(interaction.guild_id).cooldowns
        chosen = cooldowns.get(task) or cooldowns.get("")
        if chosen is None:
            return None
        uses, per = chosen
        return min(uses, self.settings.cooldown_rate), max(per, self.settings.cooldown_per_s)

    def image_policy(self, guild_id: int | None) -> str:
        """The stricter of the operator's IMAGINE_NSFW_POLICY and the server's."""
        operator = self.settings.imagine_nsfw_policy
        chosen = self.rules(guild_id).image_policy or operator
        return max(operator, chosen, key=IMAGE_POLICIES.index)

    def language(self, guild_id: int | None) -> str | None:
        return self.rules(guild_id).language

    def showcase_channel(self, guild_id: int | None) -> int | None:
        return self.rules(guild_id).showcase_channel

    def weekly_showcases(self) -> list[tuple[int, int]]:
        """(server, showcase channel) of every server that wants weekly highlights."""
        return [
            (guild_id, rules.showcase_channel)
            for guild_id, rules in self._servers.items()
            if rules.showcase_weekly and rules.showcase_channel is not None
        ]

    # -- what /config changes (validated by the caller) --------------------------------

    def allowed_policies(self) -> tuple[str, ...]:
        """The image policies a server may choose: the operator's and the stricter ones."""
        return IMAGE_POLICIES[IMAGE_POLICIES.index(self.settings.imagine_nsfw_policy) :]

    async def set_command(
        self, guild_id: int, command: str, channel_id: int | None, enabled: bool | None
    ) -> None:
        await self._save(guild_id, channel_id, COMMAND_KEY + command, enabled)
        rules = self._rules_for_change(guild_id)
        if enabled is None:
            rules.commands.pop((channel_id, command), None)
        else:
            rules.commands[(channel_id, command)] = enabled

    async def set_image_policy(self, guild_id: int, policy: str | None) -> None:
        await self._save(guild_id, None, IMAGE_KEY, policy)
        self._rules_for_change(guild_id).image_policy = policy

    async def set_cooldown(
        self, guild_id: int, command: str, limit: tuple[int, float] | None
    ) -> None:
        key = f"{COOLDOWN_KEY}:{command}" if command else COOLDOWN_KEY
        await self._save(guild_id, None, key, None if limit is None else list(limit))
        cooldowns = self._rules_for_change(guild_id).cooldowns
        if limit is None:
            cooldowns.pop(command, None)
        else:
            cooldowns[command] = limit

    async def set_language(self, guild_id: int, language: str | None) -> None:
        await self._save(guild_id, None, LANGUAGE_KEY, language)
        self._rules_for_change(guild_id).language = language

    async def set_showcase_channel(self, guild_id: int, channel_id: int | None) -> None:
        """The server's showcase channel; None turns sharing off."""
        await self._save(guild_id, None, SHOWCASE_CHANNEL_KEY, channel_id)
        self._rules_for_change(guild_id).showcase_channel = channel_id

    async def set_showcase_weekly(self, guild_id: int, weekly: bool) -> None:
        await self._save(guild_id, None, SHOWCASE_WEEKLY_KEY, weekly or None)
        self._rules_for_change(guild_id).showcase_weekly = weekly

    async def forget(self, guild_id: int) -> None:
        """The bot left the server: its showcase settings go (the rest stays, as before)."""
        await self.set_showcase_channel(guild_id, None)
        await self.set_showcase_weekly(guild_id, False)

    async def _save(self, guild_id: int, channel_id: int | None, key: str, value: Any) -> None:
        if self._db is None:
            raise RuntimeError("the server settings are opened in setup_hook")
        scope = str(channel_id) if channel_id is not None else SERVER
        await self._db.set(guild_id, scope, key, value)

    def _rules_for_change(self, guild_id: int) -> ServerRules:
        return self._servers.setdefault(guild_id, ServerRules())
