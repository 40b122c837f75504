"""Turning inference results into replies of cards, within the limits of every platform.

``render(result)`` gives a ``Reply``: one or more messages, the first of which
replaces the deferred response and the rest follow it. Each result type registers
its renderer with ``@render.register`` in the module of its command family (the
same families as ``cogs/``); ``base`` holds the primitives they share. Each platform
turns the cards into its own format (``bot.render`` for Discord).
"""

# importing a family's module registers its renderers
from . import analysis, docs, generate, imagine, reading, speak, translate  # noqa: F401
from .base import describe_wait, render, split_text, text_messages
from .meta import status_card

__all__ = ["describe_wait", "render", "split_text", "status_card", "text_messages"]
