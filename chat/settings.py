"""Settings every platform shares: the inference settings plus limits, policies, the
journal and where the models run. ``bot.settings`` and ``slackapp.settings`` add each
platform's own; ``.env.example`` lists every variable.
"""

from __future__ import annotations

import logging
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from inference import Backend, InferenceService, InferenceSettings
from inference.client import RemoteService


class ChatSettings(InferenceSettings):
    """What every platform's bot reads: limits, policies, the journal, the backend."""

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
    #: /story: words or phrases that premises, turns, memory and notes may not contain
    #: (comma-separated; whole words, any case), refused before anything is saved.
    story_blocklist: str = ""
    #: Finished jobs stay in the journal (in the store under DATA_DIR) this long before
    #: they are pruned.
    journal_keep_hours: float = Field(default=24.0, gt=0)
    #: An inference server (``python -m inference serve``) to run every command on, such
    #: as http://gpu-box:8765; empty: the models run inside the bot. The server's key
    #: is INFERENCE_API_KEY (never logged).
    inference_url: str | None = None

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

    @field_validator("inference_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        return http_url(url) if url else None


def http_url(url: str) -> str:
    """``url`` without surrounding spaces; a ``ValueError`` unless it is http(s)."""
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return url


def create_backend(settings: ChatSettings) -> Backend:
    """The inference server at INFERENCE_URL when set, else the service in this process.
    Every platform sees the same ``Backend`` either way."""
    if settings.inference_url:
        return RemoteService(settings.inference_url, settings)
    return InferenceService(settings)


#: The LOG_LEVEL values (logging's own level names).
_LEVELS = tuple(logging.getLevelName(n) for n in (10, 20, 30, 40, 50))
