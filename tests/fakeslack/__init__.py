"""A local fake Slack (Web API + Socket Mode) for end-to-end tests of the real slack-bolt app.

See ``README.md``, ``server.py`` for the walkthrough and ``fixtures.py`` for ``fake_slack``.
"""

from .models import (
    Channel,
    Edit,
    Ephemeral,
    FakeClock,
    Message,
    RateLimited,
    SlackError,
    UploadedFile,
    User,
    View,
)
from .server import FakeSlack
from .socketmode import AckTimeout, Envelope

__all__ = [
    "AckTimeout",
    "Channel",
    "Edit",
    "Envelope",
    "Ephemeral",
    "FakeClock",
    "FakeSlack",
    "Message",
    "RateLimited",
    "SlackError",
    "UploadedFile",
    "User",
    "View",
]
