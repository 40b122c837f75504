"""``python -m slackapp`` in a process of its own against the fake Slack: it serves, and
a real SIGTERM stops it cleanly, its tokens never written out."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from tests.bot.conftest import tiny_model_settings
from tests.fakeslack import FakeSlack

from .conftest import all_texts, answer

REPO = Path(__file__).resolve().parents[2]


async def test_python_m_slackapp_serves_and_stops_on_sigterm(
    fake_slack: FakeSlack, tiny_models: dict[str, Path], tmp_path: Path
) -> None:
    settings = {
        **tiny_model_settings(tiny_models),
        "slack_bot_token": fake_slack.bot_token,
        "slack_app_token": fake_slack.app_token,
        "slack_api_url": fake_slack.api_url,
        "data_dir": tmp_path / "data",
        "max_wait_ms": 1,
        "imagine_nsfw_policy": "anywhere",
    }
    env = {**os.environ, "PYTHONPATH": str(REPO), "LOG_LEVEL": "DEBUG"}
    for name, value in settings.items():
        env[name.upper()] = json.dumps(value) if isinstance(value, dict) else str(value)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "slackapp", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        await fake_slack.wait_for(lambda: fake_slack.socket.live, timeout=90)
        await fake_slack.slash_command("/sentiment", "Served from a process of its own")
        _, replies = await answer(fake_slack)
        assert "process of its own" in all_texts(replies)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 60) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.stdout is not None
    output = (await process.stdout.read()).decode()
    assert "received SIGTERM, shutting down" in output
    for secret in (fake_slack.bot_token, fake_slack.app_token):
        assert secret not in output
