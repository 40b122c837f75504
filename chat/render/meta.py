"""The card about the bot itself: /status."""

from __future__ import annotations

from inference.jobs import ServiceStatus

from ..cards import COLOUR, Card
from .base import EMBED_FIELD_VALUE, clip, duration


def status_card(status: ServiceStatus) -> Card:
    """The device, uptime, busy queues, loaded models and any that failed to load."""
    card = Card(title="Status", colour=COLOUR)
    card.add_field(name="Device", value=status.device, inline=False)
    card.add_field(name="Uptime", value=duration(status.uptime_s))
    budget = status.memory_budget_mb
    card.add_field(
        name="Model memory",
        value=f"{status.memory_used_mb:,.0f} MB"
        + (f" of {budget:,.0f} MB" if budget is not None else " (no budget)"),
    )
    busy = {task: n for task, n in status.queued.items() if n} | {
        f"{task} (running)": n for task, n in status.running.items() if n
    }
    card.add_field(
        name="Queues", value="\n".join(f"{t}: {n}" for t, n in busy.items()) or "all empty"
    )
    card.add_field(
        name="Loaded models",
        value=clip(
            "\n".join(status.loaded_models) or "none yet (they load on first use)",
            EMBED_FIELD_VALUE,
        ),
        inline=False,
    )
    if status.failed_models:
        failed = "\n".join(f"{m}: {reason}" for m, reason in status.failed_models.items())
        card.add_field(name="Unavailable", value=clip(failed, EMBED_FIELD_VALUE), inline=False)
    return card
