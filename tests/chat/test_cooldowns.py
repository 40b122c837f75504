"""The per-user cooldown buckets (end-to-end behaviour is in the command tests of each
platform)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chat.cooldowns import Cooldowns
from chat.errors import OnCooldown

START = 1_796_000_000.0


def click(user: int, seconds: float = 0) -> tuple[int, float]:
    """What ``Cooldowns.hit`` takes of a click: who, and when."""
    return user, START + seconds


def settings(**values: float) -> SimpleNamespace:
    return SimpleNamespace(**values)


def test_one_bucket_per_task_and_user_that_refills() -> None:
    cooldowns = Cooldowns(settings(cooldown_rate=2, cooldown_per_s=10))
    cooldowns.hit("imagine", *click(1))
    cooldowns.hit("imagine", *click(1, 1))
    with pytest.raises(OnCooldown) as refused:
        cooldowns.hit("imagine", *click(1, 2))
    assert 7 < refused.value.retry_after <= 8
    cooldowns.hit("generate", *click(1, 2))  # another task
    cooldowns.hit("imagine", *click(2, 2))  # another user
    cooldowns.hit("imagine", *click(1, 11))  # the window has passed


def test_a_changed_setting_applies_at_once() -> None:
    config = settings(cooldown_rate=1, cooldown_per_s=60)
    cooldowns = Cooldowns(config)
    cooldowns.hit("ner", *click(1))
    with pytest.raises(OnCooldown):
        cooldowns.hit("ner", *click(1, 1))
    config.cooldown_rate = 5
    cooldowns.hit("ner", *click(1, 2))


def test_idle_buckets_are_dropped_when_there_are_many(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Cooldowns, "PRUNE_AT", 3)
    cooldowns = Cooldowns(settings(cooldown_rate=1, cooldown_per_s=10))
    for user in range(3):
        cooldowns.hit("qa", *click(user))
    cooldowns.hit("qa", *click(9, 5))  # all three still cooling down: none is dropped
    assert len(cooldowns._buckets) == 4
    cooldowns.hit("qa", *click(10, 12))  # 0-2 are idle again, 9 is not
    assert sorted(user for _, user in cooldowns._buckets) == [9, 10]
    with pytest.raises(OnCooldown):
        cooldowns.hit("qa", *click(9, 13))  # a dropped bucket never loses a live limit
