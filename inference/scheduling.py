"""Who uses the device next: fair shares of device time, and a device handed over
between the steps of long work.

Two pieces, one idea (a fair share of one device):

- :class:`FairClock` orders requests by start-time fair queuing (SFQ) over *device
  seconds*. Each user has a virtual finish time; a new request starts at the later of
  that and the clock's virtual time, and pushes the user's finish time on by its
  estimated cost. Once a request has run, its real cost replaces the estimate. So a
  user sending 50-step images gets no more device time than one sending sentences,
  and a burst from one user waits behind everyone else's next request.
- :class:`DeviceGate` lets one batch at a time use the device. Long work (image steps,
  generated tokens, chunk groups) calls ``checkpoint()`` between steps; when a short
  batch with an earlier tag is waiting, the long one gives the device to it and takes
  it back afterwards. A short request therefore waits about one step of a long job,
  not the whole job. Long batches never interrupt each other, so two long jobs never
  hold their working memory on the device at once.

The gate is used from worker threads (batches block there, never on the event loop);
the clock only from the event loop.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass, field


class FairClock:
    """Start-time fair queuing tags, in device seconds, per user."""

    def __init__(self) -> None:
        #: The tag of the latest request sent to the device: where newcomers start.
        self.now = 0.0
        self._finish: dict[Hashable, float] = {}

    def stamp(self, user: Hashable | None, cost_s: float) -> float:
        """The tag of a new request of ``user`` estimated to take ``cost_s`` seconds.
        Anonymous requests (``user`` None) are each a user of their own."""
        tag = max(self.now, self._finish.get(user, 0.0)) if user is not None else self.now
        if user is not None:
            self._finish[user] = tag + cost_s
        return tag

    def withdraw(self, user: Hashable | None, tag: float, cost_s: float) -> None:
        """A request left before running (cancelled, expired): when it was its user's
        latest, the user's next request takes its place rather than queueing behind it."""
        if user is not None and abs(self._finish.get(user, -1.0) - (tag + cost_s)) < 1e-9:
            self._finish[user] = tag

    def charge(self, user: Hashable | None, estimate_s: float, actual_s: float) -> None:
        """Correct ``user``'s finish time by what their request really took."""
        if user is not None and user in self._finish:
            self._finish[user] = max(self.now, self._finish[user] + actual_s - estimate_s)

    def advance(self, tag: float) -> None:
        """A request with ``tag`` was sent to the device."""
        self.now = max(self.now, tag)
        if len(self._finish) > 1024:  # forget users with nothing ahead of the clock
            self._finish = {u: t for u, t in self._finish.items() if t > self.now}

    def users(self) -> int:
        """Users the clock remembers (for tests and diagnostics)."""
        return len(self._finish)


_tickets = itertools.count()


@dataclass(order=True)
class Ticket:
    """A batch's place at the gate: ordered by fair tag, then by arrival."""

    tag: float
    seq: int = field(default_factory=lambda: next(_tickets))
    #: Long work gives the device back at its checkpoints; short work never waits for
    #: another short batch's steps.
    long: bool = field(default=False, compare=False)
    #: Seconds this batch has held the device so far.
    used_s: float = field(default=0.0, compare=False)


class DeviceGate:
    """One device, shared by the batches of every task, handed over at step boundaries."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._holder: Ticket | None = None
        self._waiting: list[Ticket] = []
        #: Long work that lent the device to short batches and wants it back: no other
        #: long batch may start before it has finished.
        self._lent_by: Ticket | None = None
        #: Until its share ends (a tag), short batches with earlier tags go before it,
        #: those that arrive while it waits too.
        self._lent_until = 0.0
        self._since = 0.0

    def acquire(self, ticket: Ticket) -> None:
        """Block until ``ticket`` holds the device (its turn by tag, the device free)."""
        with self._cond:
            self._waiting.append(ticket)
            while self._holder is not None or self._next() is not ticket:
                self._cond.wait()
            self._waiting.remove(ticket)
            self._holder = ticket
            self._since = time.monotonic()

    def _next(self) -> Ticket | None:
        """Who gets the device when it is free: the short batches it was lent to, else
        the fairest waiter (no other long batch while long work has lent it out)."""
        if self._lent_by is not None:
            borrowers = [w for w in self._waiting if self._borrows(w)]
            if borrowers:
                return min(borrowers)
        eligible = [w for w in self._waiting if not w.long or self._lent_by in (None, w)]
        return min(eligible, default=None)

    def _borrows(self, waiter: Ticket) -> bool:
        """Whether ``waiter`` may use the device before the long work lending it."""
        return not waiter.long and waiter.tag < self._lent_until

    def release(self, ticket: Ticket) -> None:
        with self._cond:
            if self._holder is ticket:
                self._holder = None
                ticket.used_s += time.monotonic() - self._since
                self._cond.notify_all()

    def checkpoint(self, ticket: Ticket) -> bool:
        """Between two steps of long work: let waiting short batches run first when they
        started before this work's share ends (its tag plus the device time it has used
        so far), then take the device back. Returns whether it was handed over."""
        if not self._waiting:  # the common case, without the lock
            return False
        with self._cond:
            self._lent_until = ticket.tag + ticket.used_s + time.monotonic() - self._since
            if not any(self._borrows(w) for w in self._waiting):
                return False
            self._lent_by = ticket
        self.release(ticket)
        # Back in the queue with the same tag: the short batches it lent the device to
        # run, then this one is first again (unless something fairer arrived meanwhile).
        self.acquire(ticket)
        with self._cond:
            self._lent_by = None
        return True

    @property
    def waiting(self) -> int:
        return len(self._waiting)
