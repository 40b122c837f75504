"""Settings of the bot: the inference settings plus the Discord side.

Read from the environment and ``.env``; ``.env.example`` lists every variable.
"""

from __future__ import annotations

import logging
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from inference import InferenceSettings


class BotSettings(InferenceSettings):
    #: The bot token from the Discord developer portal (Bot page). Never logged.
    discord_token: SecretStr | None = None
    #: A guild (server) id to sync commands to at start-up, so they show at once.
    dev_guild_id: int | None = None
    #: Each user may run a command this many times per COOLDOWN_PER_S seconds.
    cooldown_rate: int = Field(default=3, ge=1)
    cooldown_per_s: float = Field(default=30.0, gt=0)
    #: /imagine: where unchecked images (a model with no safety checker of its own and
    #: no IMAGINE_SAFETY_CHECKER) may be made: "age-restricted" channels only,
    #: "anywhere", or "nowhere".
    imagine_nsfw_policy: Literal["age-restricted", "anywhere", "nowhere"] = "age-restricted"
    #: /imagine: words or phrases a prompt may not contain (comma-separated; whole words,
    #: any case), refused before anything runs.
    imagine_blocklist: str = ""
    #: DEBUG, INFO, WARNING, ERROR or CRITICAL.
    log_level: str = "INFO"

    # -- /story ------------------------------------------------------------------------
    #: /story: words or phrases that premises, turns, memory and notes may not contain
    #: (comma-separated; whole words, any case), refused before anything is saved.
    story_blocklist: str = ""

    EMPTY_MEANS_NONE: ClassVar[frozenset[str]] = InferenceSettings.EMPTY_MEANS_NONE | {
        "imagine_blocklist",
        "story_blocklist",
    }

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in _LEVELS:
            raise ValueError(f"must be one of {', '.join(_LEVELS)}, not {value!r}")
        return level

    # -- the store (job journal, per-server settings) ------------------------------------
    # (DATA_DIR is an inference setting: the command line's document library uses it too,
    # and it keeps the last command sync: bot/sync.py)
    #: Finished jobs stay in the journal this long before they are pruned.
    journal_keep_hours: float = Field(default=24.0, gt=0)

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

    # -- where the models run, and sharding (see README "Deployment") ------------------
    #: An inference server (``python -m inference serve``) to run every command on, such
    #: as http://gpu-box:8765; empty: the models run inside the bot. The server's key
    #: is INFERENCE_API_KEY (never logged).
    inference_url: str | None = None
    #: Shards: empty for none, "auto" for Discord's recommended count, or a number.
    shard_count: int | Literal["auto"] | None = None
    #: The shards this process runs (comma-separated, such as 0,1), when SHARD_COUNT is a
    #: number and several processes share the shards; empty: all of them.
    shard_ids: str = ""

    @field_validator("inference_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.strip().lower().startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url.strip() if url else None

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


#: The LOG_LEVEL values (logging's own level names).
_LEVELS = tuple(logging.getLevelName(n) for n in (10, 20, 30, 40, 50))
