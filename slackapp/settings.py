"""Settings of the Slack app: the shared chat settings plus the Slack side.

Read from the environment and ``.env``; ``.env.example`` lists every variable.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from chat.settings import ChatSettings, http_url

#: Slack's Web API.
SLACK_API_URL = "https://slack.com/api/"


class SlackSettings(ChatSettings):
    #: The bot token (xoxb-...) from the app's "OAuth & Permissions" page. Never logged.
    slack_bot_token: SecretStr | None = None
    #: The app-level token (xapp-..., scope connections:write) from "Basic Information",
    #: which opens the Socket Mode connection. Never logged.
    slack_app_token: SecretStr | None = None
    #: The Web API's address (tests point it at a local fake Slack).
    slack_api_url: str = SLACK_API_URL
    #: chat.update calls per minute for one workspace, all jobs together: progress edits
    #: share Slack's Tier 3 allowance (about 50 a minute) and are coalesced to fit it.
    slack_edits_per_minute: int = Field(default=45, ge=1, le=600)
    #: The largest file the app uploads, in MB (Slack takes up to 1 GB).
    slack_max_upload_mb: float = Field(default=1000.0, gt=0)
    #: How often the health watchdog checks the Socket Mode connection, in seconds, and
    #: reconnects one that has gone silent.
    slack_watchdog_s: float = Field(default=30.0, gt=0)
    #: The watchdog also reconnects a connection that has carried nothing from Slack for
    #: this many seconds (a "zombie" that answers pings but delivers nothing).
    slack_quiet_s: float = Field(default=1800.0, gt=0)

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, url: str) -> str:
        url = http_url(url)
        return url if url.endswith("/") else url + "/"
