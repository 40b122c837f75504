"""Waiting on a fake service's state, shared by the fake Discord and the fake Slack."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class ChangeNotifier:
    """Wakes waiters whenever the fake's state changes; also polls, for predicates on bot state."""

    POLL_INTERVAL = 0.05

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Signal a change to everyone waiting."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(
        self, predicate: Callable[[], T], timeout: float, what: str = "condition"
    ) -> T:
        """Wait until ``predicate()`` is truthy; return its value or raise ``TimeoutError``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._event
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            with contextlib.suppress(asyncio.TimeoutError):  # not builtin TimeoutError on 3.10
                await asyncio.wait_for(event.wait(), min(remaining, self.POLL_INTERVAL))
