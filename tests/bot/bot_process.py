"""``python -m bot`` in a process of its own, against a test's fake Discord, so that a test
can stop it with a real SIGTERM or SIGKILL.

Environment: FAKE_DISCORD_URL (the fake's base URL), the bot's settings as usual, and
GATE_FILE: every model's forward pass waits until that file exists (a stuck model the
test holds from outside; a torch hook on the model, not a change to our code).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import discord
import torch
import yarl

from bot.__main__ import main


def hold(module: Any, args: Any) -> None:
    gate = os.environ.get("GATE_FILE")
    while gate and not os.path.exists(gate):
        time.sleep(0.02)


if __name__ == "__main__":
    base = os.environ["FAKE_DISCORD_URL"]
    discord.http.Route.BASE = base + "/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(
        base.replace("http://", "ws://") + "/gateway/"
    )
    torch.nn.modules.module.register_module_forward_pre_hook(hold)
    sys.exit(main())
