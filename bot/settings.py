"""Settings of the Discord bot: the shared chat settings plus the Discord side.

Read from the environment and ``.env``; ``.env.example`` lists every variable.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from chat.settings import ChatSettings


class BotSettings(ChatSettings):
    #: The bot token from the Discord developer portal (Bot page). Never logged.
    discord_token: SecretStr | None = None
    #: A guild (server) id to sync commands to at start-up, so they show at once.
    dev_guild_id: int | None = None

    # -- the community showcase's gallery web page ----------------------------------------
    #: The public address of the gallery (where GALLERY_PORT, or the inference server that
    #: mounts it, is reached), e.g. https://bot.example.org/gallery. Empty: /showcase
    #: gallery has no link to give.
    gallery_url: str = ""
    #: Serve the gallery from the bot on this port (empty: no page here, e.g. when the
    #: inference HTTP server mounts it).
    gallery_port: int | None = Field(default=None, ge=1, le=65535)
    #: The address the bot's gallery server listens on (put a TLS proxy in front of it).
    gallery_host: str = "127.0.0.1"

    # -- /docs and /ask (README "Your server's own documents") ----------------------------
    #: Who may add and remove a server's documents: permission names (manage_guild,
    #: manage_messages...) or role names, comma-separated; anyone with one of them may.
    docs_managers: str = "manage_guild"
    #: Documents one server may keep, and their total size in MB.
    docs_max_docs: int = Field(default=50, ge=1)
    docs_max_mb: float = Field(default=20.0, gt=0)

    # -- sharding (see README "Deployment") ---------------------------------------------
    #: Shards: empty for none, "auto" for Discord's recommended count, or a number.
    shard_count: int | Literal["auto"] | None = None
    #: The shards this process runs (comma-separated, such as 0,1), when SHARD_COUNT is a
    #: number and several processes share the shards; empty: all of them.
    shard_ids: str = ""

    @model_validator(mode="after")
    def _shards(self) -> BotSettings:
        ids = self.shard_id_list()  # raises for words
        if ids and not isinstance(self.shard_count, int):
            raise ValueError("SHARD_IDS needs SHARD_COUNT to be a number")
        if isinstance(self.shard_count, int) and (
            self.shard_count < 1 or any(not 0 <= i < self.shard_count for i in ids)
        ):
            raise ValueError("SHARD_IDS must lie in 0 .. SHARD_COUNT-1, and SHARD_COUNT >= 1")
        return self

    def shard_id_list(self) -> list[int]:
        """SHARD_IDS as numbers (empty: every shard)."""
        try:
            return [int(part) for part in self.shard_ids.split(",") if part.strip()]
        except ValueError:
            raise ValueError("SHARD_IDS must be comma-separated numbers, such as 0,1") from None
