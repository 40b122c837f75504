"""A tiny bolt app for the fake's own tests, and what they share."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakeslack import FakeSlack

CHANNEL, USER = "C0CHAN0001", "U0USER0001"
MODAL = {
    "type": "modal",
    "callback_id": "imagine",
    "title": {"type": "plain_text", "text": "Imagine"},
    "submit": {"type": "plain_text", "text": "Go"},
    "private_metadata": "C0CHAN0001",
    "blocks": [
        {
            "type": "input",
            "block_id": "prompt",
            "label": {"type": "plain_text", "text": "Prompt"},
            "element": {"type": "plain_text_input", "action_id": "prompt"},
        },
        {
            "type": "input",
            "block_id": "steps",
            "optional": True,
            "label": {"type": "plain_text", "text": "Steps"},
            "element": {
                "type": "number_input",
                "is_decimal_allowed": False,
                "action_id": "steps",
                "initial_value": "4",
            },
        },
    ],
}


def client_for(fake: FakeSlack, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url, **kwargs)


def button_message(text: str) -> list[dict[str, Any]]:
    return [
        {"type": "section", "block_id": "body", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": "buttons",
            "elements": [
                {
                    "type": "button",
                    "action_id": "regenerate",
                    "text": {"type": "plain_text", "text": "Regenerate"},
                    "value": "job-1",
                }
            ],
        },
    ]


def tiny_app(fake: FakeSlack, seen: list[dict[str, Any]]) -> AsyncApp:
    """A bolt app: /echo posts a placeholder, edits it, replies in the thread with a file."""
    app = AsyncApp(client=client_for(fake))

    @app.command("/echo")
    async def echo(ack: Any, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        seen.append(command)
        placeholder = await client.chat_postMessage(
            channel=command["channel_id"], text="working...", blocks=button_message("queued")
        )
        ts = placeholder["ts"]
        channel, text = command["channel_id"], command["text"]
        await client.chat_update(channel=channel, ts=ts, text=text, blocks=button_message(text))
        await client.files_upload_v2(
            channel=channel,
            thread_ts=ts,
            content=b"RIFF-fake-wav",
            filename="echo.wav",
            title="Echo",
        )

    @app.command("/imagine")
    async def imagine(ack: Any, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=command["trigger_id"], view=MODAL)

    @app.command("/usage")
    async def usage(ack: Any) -> None:
        await ack("Usage: /usage text")

    @app.command("/respond")
    async def respond_cmd(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        for i in range(int(command["text"] or 1)):
            await respond(f"private {i}")
        await respond(text="public", response_type="in_channel")

    @app.event("app_mention")
    async def mention(event: dict[str, Any]) -> None:
        seen.append(event)

    @app.command("/slow")
    async def slow(ack: Any) -> None:
        await asyncio.sleep(1)
        await ack()

    @app.view("imagine")
    async def submitted(ack: Any, view: dict[str, Any], body: dict[str, Any]) -> None:
        values = view["state"]["values"]
        if values["steps"]["steps"]["value"] == "0":
            await ack(response_action="errors", errors={"steps": "at least 1"})
            return
        await ack()
        seen.append(body)

    @app.action("regenerate")
    async def regenerate(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        seen.append(body)
        await respond(text="regenerated", replace_original=True)

    @app.shortcut("sentiment")
    async def sentiment(ack: Any, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        seen.append(shortcut)
        await client.chat_postEphemeral(channel=shortcut["channel"]["id"],
                                        user=shortcut["user"]["id"], text="positive")  # fmt: skip

    return app
