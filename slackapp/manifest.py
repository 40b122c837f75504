"""The Slack app manifest, generated from the shared command catalogue.

``python -m slackapp manifest`` prints it as YAML: paste it into "Create New App → From
an app manifest" and the app has every slash command, message shortcut and scope it
needs, with Socket Mode and interactivity switched on.
"""

from __future__ import annotations

from typing import Any

import yaml

from chat.catalogue import COMMANDS, SHORTCUTS, Command
from chat.render.base import clip

APP_NAME = "pipeline-bot"
DESCRIPTION = "Hugging Face models in your channels: sentiment, translation, images, speech…"

#: The bot scopes the app uses, and why.
SCOPES = {
    "commands": "the slash commands and message shortcuts",
    "chat:write": "the placeholder, its progress edits and the threaded replies",
    "chat:write.public": "answering a command in a public channel the app has not joined",
    "files:write": "uploading images (/imagine) and speech (/speak) into the thread",
}

#: Slack's limits on a manifest's command and shortcut texts.
DESCRIPTION_CHARS = 100
USAGE_HINT_CHARS = 100


def usage_hint(command: Command) -> str:
    """The catalogue's usage line without the command's own name."""
    return command.usage.removeprefix(f"/{command.name}").strip()


def manifest(name: str = APP_NAME) -> dict[str, Any]:
    """The manifest as a dict (``manifest_yaml`` writes it out)."""
    return {
        "display_information": {"name": name, "description": DESCRIPTION},
        "features": {
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": [
                {
                    "command": f"/{command.name}",
                    "description": clip(command.description, DESCRIPTION_CHARS),
                    "usage_hint": clip(usage_hint(command), USAGE_HINT_CHARS),
                    "should_escape": False,
                }
                for command in COMMANDS
            ],
            "shortcuts": [
                {
                    "name": shortcut.name,
                    "type": "message",
                    "callback_id": shortcut.callback_id,
                    "description": clip(shortcut.description, DESCRIPTION_CHARS),
                }
                for shortcut in SHORTCUTS
            ],
        },
        "oauth_config": {"scopes": {"bot": list(SCOPES)}},
        "settings": {
            "interactivity": {"is_enabled": True},
            "org_deploy_enabled": False,
            "socket_mode_enabled": True,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(name: str = APP_NAME) -> str:
    return yaml.safe_dump(manifest(name), sort_keys=False, allow_unicode=True, width=1000)
