"""Settings of the bot: the inference settings plus the Discord side.

Read from the environment and ``.env``; ``.env.example`` lists every variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

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
    log_level: str = "INFO"

    # -- the store (job journal, per-server settings) ------------------------------------
    #: Where the bot keeps what must outlive a restart (an SQLite file).
    data_dir: Path = Path("./data")
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
