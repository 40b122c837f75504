"""Turning inference results into Discord messages, within Discord's limits.

``render(result)`` gives a ``Reply``: one or more messages, the first of which
replaces the deferred response and the rest follow it. Each result type registers
its renderer with ``@render.register`` in the module of its command family (the
same families as ``cogs/``); ``base`` holds the primitives they share.
"""

# importing a family's module registers its renderers
from . import analysis, docs, generate, imagine, meta, reading, speak, translate  # noqa: F401
from .base import Message, Reply, describe_wait, render, split_text, text_messages
from .meta import help_embed, status_embed

__all__ = [
    "Message",
    "Reply",
    "describe_wait",
    "help_embed",
    "render",
    "split_text",
    "status_embed",
    "text_messages",
]
