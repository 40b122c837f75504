"""Per-user cooldowns, the same on every platform.

Each user may run each task COOLDOWN_RATE times per COOLDOWN_PER_S seconds. There is
one bucket per task and user, so a slash command, its message shortcut and its buttons
(``/imagine`` and Regenerate, ``/generate`` and Continue) draw on the same allowance: a
button is no way around its command's limit. The settings are read on every use, so the
settings, not the code, decide.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from .errors import OnCooldown


class CooldownSettings(Protocol):
    cooldown_rate: int
    cooldown_per_s: float


class Bucket:
    """``rate`` uses per window of ``per`` seconds; the window starts at the first use
    after the last one ended (as discord.py's ``Cooldown``)."""

    def __init__(self, rate: int, per: float) -> None:
        self.rate = rate
        self.per = per
        self._window = 0.0
        self._tokens = rate

    def tokens(self, now: float) -> int:
        return self.rate if now > self._window + self.per else self._tokens

    def retry_after(self, now: float) -> float:
        if self.tokens(now) == 0:
            return self._window + self.per - now
        return 0.0

    def use(self, now: float) -> None:
        tokens = self.tokens(now)
        if tokens == self.rate:
            self._window = now
        self._tokens = tokens - 1


class Cooldowns:
    #: Buckets kept before idle ones (back to their full allowance) are dropped, so the
    #: map does not grow with every user the bot has ever seen.
    PRUNE_AT = 4096

    def __init__(self, settings: CooldownSettings) -> None:
        self.settings = settings
        self._buckets: dict[tuple[Hashable, ...], Bucket] = {}

    def hit(
        self,
        task: str,
        user: Hashable,
        now: float,
        *,
        server: Hashable | None = None,
        server_limit: tuple[int, float] | None = None,
    ) -> None:
        """Use one of ``user``'s runs of ``task`` at time ``now``; raises ``OnCooldown``
        when none is left. ``server_limit`` (uses, seconds) is a server's stricter
        cooldown, counted in a bucket of its own on top of the operator's: a run must
        fit both."""
        settings = self.settings
        buckets = [self._bucket((task, user), settings.cooldown_rate, settings.cooldown_per_s, now)]
        if server_limit is not None and server is not None:
            buckets.append(self._bucket((task, user, server), *server_limit, now))
        retry_after = max(bucket.retry_after(now) for bucket in buckets)
        if retry_after:
            raise OnCooldown(retry_after)
        for bucket in buckets:
            bucket.use(now)

    def _bucket(self, key: tuple[Hashable, ...], rate: int, per: float, now: float) -> Bucket:
        bucket = self._buckets.get(key)
        if bucket is None or (bucket.rate, bucket.per) != (rate, per):
            if len(self._buckets) >= self.PRUNE_AT:
                self._buckets = {k: b for k, b in self._buckets.items() if b.tokens(now) < b.rate}
            bucket = self._buckets[key] = Bucket(rate, per)
        return bucket
