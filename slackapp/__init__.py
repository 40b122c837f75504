"""The Slack app (``python -m slackapp``): the nine model commands in Slack workspaces."""
