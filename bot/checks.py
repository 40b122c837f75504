"""The checks every action running a model passes: the command is enabled where it is
used (``ServerConfig``), and the user's cooldown (here); and the content checks that
several commands share (age-restricted channels, blocklists)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands

if TYPE_CHECKING:
    from .settings import BotSettings

T = TypeVar("T")


class Cooldowns:
    """Each user may run each task COOLDOWN_RATE times per COOLDOWN_PER_S seconds.

    There is one bucket per task and user, so a slash command, its context menu and its
    buttons (``/imagine`` and Regenerate, ``/generate`` and Continue) draw on the same
    allowance: a button is no way around its command's limit. The settings are read on
    every use, so the settings, not the code, decide.
    """

    #: Buckets kept before idle ones (back to their full allowance) are dropped, so the
    #: map does not grow with every user the bot has ever seen.
    PRUNE_AT = 4096

    def __init__(self, settings: BotSettings) -> None:
        self.settings = settings
        self._buckets: dict[tuple[str, int] | tuple[str, int, int], app_commands.Cooldown] = {}

    def hit(
        self,
        task: str,
        interaction: discord.Interaction,
        server_limit: tuple[int, float] | None = None,
    ) -> None:
        """Use one of the user's runs of ``task``; raises ``CommandOnCooldown`` (answered
        by the one error handler) when none is left. ``server_limit`` (uses, seconds) is a
        server's stricter cooldown, counted in a bucket of its own on top of the
        operator's: a run must fit both."""
        now = interaction.created_at.timestamp()
        user = interaction.user.id
        buckets = [
            self._bucket(
                (task, user), self.settings.cooldown_rate, self.settings.cooldown_per_s, now
            )
        ]
        if server_limit is not None and interaction.guild_id is not None:
            buckets.append(self._bucket((task, user, interaction.guild_id), *server_limit, now))
        waits = [(bucket.get_retry_after(now), bucket) for bucket in buckets]
        retry_after, bucket = max(waits, key=lambda wait: wait[0])
        if retry_after:
            raise app_commands.CommandOnCooldown(bucket, retry_after)
        for bucket in buckets:
            bucket.update_rate_limit(now)

    def _bucket(
        self, key: tuple[str, int] | tuple[str, int, int], rate: int, per: float, now: float
    ) -> app_commands.Cooldown:
        bucket = self._buckets.get(key)
        if bucket is None or (bucket.rate, bucket.per) != (rate, per):
            if len(self._buckets) >= self.PRUNE_AT:
                self._prune(now)
            bucket = self._buckets[key] = app_commands.Cooldown(rate, per)
        return bucket

    def _prune(self, now: float) -> None:
        self._buckets = {
            key: bucket
            for key, bucket in self._buckets.items()
            if bucket.get_tokens(now) < bucket.rate
        }


def cooldown(task: str) -> Callable[[T], T]:
    """Decorate a slash command or context menu with the checks for ``task``: enabled
    here, and the user's cooldown."""

    def predicate(interaction: discord.Interaction) -> bool:
        interaction.client.admit(task, interaction)  # type: ignore[attr-defined]
        return True

    return app_commands.check(predicate)


def age_restricted(channel: object) -> bool:
    """Whether ``channel`` is age-restricted (a thread: its parent). DMs are not."""
    is_nsfw = getattr(channel, "is_nsfw", None)
    return bool(is_nsfw()) if callable(is_nsfw) else False


def blocked_phrase(blocklist: str, prompt: str) -> str | None:
    """The first phrase of the comma-separated ``blocklist`` that ``prompt`` contains as
    whole words, in any case and spacing; None when there is none."""
    for phrase in (p.strip() for p in blocklist.split(",")):
        if not phrase:
            continue
        words = r"\s+".join(re.escape(word) for word in phrase.split())
        if re.search(rf"(?<!\w){words}(?!\w)", prompt, re.IGNORECASE):
            return phrase
    return None
