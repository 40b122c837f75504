"""The community showcase: Share buttons, the showcase channel, votes, highlights, and
the gallery web page's link (the page itself is the ``gallery`` package)."""

from .buttons import BUTTONS, ShareButton, post_view, with_share
from .service import ShowcaseService

__all__ = ["BUTTONS", "ShareButton", "ShowcaseService", "post_view", "with_share"]
