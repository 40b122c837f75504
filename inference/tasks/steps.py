"""Long work in steps: where a ``generate`` call gives the device back and stops."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import StoppingCriteria

from .base import BatchContext


class StepBoundary(StoppingCriteria):
    """Called by ``generate`` after every token: a step boundary for the scheduler
    (``ctx.checkpoint()``), and a stop once every request of this call is cancelled or
    timed out (beam search cannot drop a single row, so one live request keeps it going;
    its cancelled neighbours' results are discarded)."""

    def __init__(self, ctx: BatchContext, requests: Sequence[int]) -> None:
        self.ctx = ctx
        self.requests = list(requests)

    def all_cancelled(self) -> bool:
        return all(self.ctx.cancelled(i) for i in self.requests)

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        self.ctx.checkpoint()
        stop = self.all_cancelled()
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)
