"""Slack's ``Surface``: a placeholder message in the channel, the reply in its thread.

``acknowledge`` posts the placeholder (the command, then the queue position and
progress, edited through the workspace's ``EditThrottle``); ``deliver`` posts the reply
in its thread, files uploaded there too, then turns it into a short "done" line; ``tell``
answers the user alone (ephemeral) and removes the placeholder. ``reply_to`` (team,
channel, user, title, thread and placeholder ts) is all a restart needs to edit the same
placeholder.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from chat.cards import Button, Reply
from chat.errors import UserError
from chat.render.base import clip
from inference import Result

from .blocks import actions_block, payloads, section
from .buttons import CANCELLABLE, cancel_button
from .manifest import APP_NAME
from .mrkdwn import escape, mrkdwn, plain
from .throttle import EditThrottle

#: ``render(task, result, args, max_bytes)``: the Slack reply for a result (``replies``).
Renderer = Callable[[str, Result, dict[str, Any], int], Awaitable[Reply]]

NOT_IN_CHANNEL = (
    "I can't post in this conversation. Invite me to the channel first "
    "(`/invite @{name}`), or use me in a public channel."
)
#: Characters of the request that the placeholder repeats.
TITLE_CHARS = 150


def service_user(team: str, user: str) -> str:
    """Whom the service counts a request against (fair share, per-user bound, who may
    cancel): a user of a workspace."""
    return f"{team}:{user}"


class SlackSurface:
    platform = "slack"

    def __init__(
        self,
        client: AsyncWebClient,
        throttle: EditThrottle,
        renderer: Renderer,
        *,
        team: str,
        channel: str,
        user: str,
        title: str,
        max_bytes: int,
        thread_ts: str | None = None,
        ts: str | None = None,
    ) -> None:
        self.client = client
        self.throttle = throttle
        self.renderer = renderer
        self.team = team
        self.channel = channel
        self.slack_user = user
        self.title = clip(title, TITLE_CHARS)
        self.filesize_limit = max_bytes
        #: The thread the placeholder sits in (a shortcut on a reply), if any.
        self.thread_ts = thread_ts
        #: The placeholder's ts once posted.
        self.ts = ts
        #: The buttons of the last wait shown (an edit that leaves them keeps them).
        self._buttons_shown: list[dict[str, Any]] = []

    @property
    def user(self) -> str:
        return service_user(self.team, self.slack_user)

    @property
    def can_edit(self) -> bool:
        return self.ts is not None

    @property
    def deliverable(self) -> bool:
        return True  # a channel message can be edited and answered any time

    def reply_to(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "channel": self.channel,
            "user": self.slack_user,
            "title": self.title,
            "thread_ts": self.thread_ts,
            "ts": self.ts,
        }

    @property
    def reply_thread(self) -> str | None:
        """Where the reply goes: the placeholder's thread (Slack has no nested threads)."""
        return self.thread_ts or self.ts

    # -- the placeholder ----------------------------------------------------------------

    def _placeholder(self, text: str, buttons: list[Button] | None) -> dict[str, Any]:
        blocks = [section(f"{mrkdwn(self.title)}\n{mrkdwn(text)}")]
        if buttons:
            blocks.append(actions_block(buttons))
        # the notification text: plain, short
        return {"text": escape(clip(plain(f"{self.title}: {text}"), 300)), "blocks": blocks}

    async def acknowledge(self) -> None:
        if self.ts is not None:  # posted already (a form posts it before its ack)
            return
        try:
            response = await self.client.chat_postMessage(
                channel=self.channel,
                thread_ts=self.thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                link_names=False,
                **self._placeholder("⏳ Queued…", None),
            )
        except SlackApiError as exc:
            if exc.response.get("error") in ("not_in_channel", "channel_not_found"):
                raise UserError(NOT_IN_CHANNEL.format(name=APP_NAME)) from None
            raise
        self.ts = response["ts"]

    async def show_wait(self, text: str, buttons: list[Button] | None) -> None:
        if self.ts is None:
            return
        content = self._placeholder(text, buttons)
        if buttons is None:  # leave the buttons as they are: the last ones sent
            content["blocks"] = content["blocks"][:1] + self._buttons_shown
        else:
            self._buttons_shown = content["blocks"][1:]

        self._edit(content)

    def _edit(self, content: dict[str, Any], *, final: bool = False) -> None:
        """Edit the placeholder through the workspace's ``chat.update`` allowance."""
        ts = self.ts

        async def edit() -> None:
            await self.client.chat_update(channel=self.channel, ts=ts, **content)

        self.throttle.offer(self.team, (self.channel, ts), edit, final=final)

    # -- the result ---------------------------------------------------------------------

    def cancel_button(self, task: str, job_id: str) -> Button | None:
        return cancel_button(job_id) if task in CANCELLABLE else None

    async def render(self, task: str, result: Result, args: dict[str, Any]) -> Reply:
        return await self.renderer(task, result, args, self.filesize_limit)

    async def deliver(
        self,
        reply: Reply,
        *,
        note: str = "",
        skip: int = 0,
        sent: Callable[[int], Awaitable[None]],
    ) -> None:
        for number, message in enumerate(reply.messages, start=1):
            if number <= skip:
                continue
            for payload in payloads(message):
                await self.client.chat_postMessage(
                    channel=self.channel,
                    thread_ts=self.reply_thread,
                    unfurl_links=False,
                    unfurl_media=False,
                    link_names=False,
                    **payload,
                )
            if message.files:
                await self.upload(message.files)
            await sent(number)
        if self.ts is not None:  # after the answer: waiting for an edit never delays it
            done = "✅ Done: the answer is in the thread." if self.thread_ts is None else "✅ Done."
            self._edit(self._placeholder(f"{note} {done}".strip(), None), final=True)

    async def upload(self, files: list[tuple[str, bytes]]) -> None:
        if any(len(data) > self.filesize_limit for _, data in files):
            raise UserError("The file is larger than this app may upload.")
        await self.client.files_upload_v2(
            channel=self.channel,
            thread_ts=self.reply_thread,
            file_uploads=[{"file": data, "filename": name, "title": name} for name, data in files],
        )

    async def tell(self, message: str) -> None:
        """``message`` to the user alone; the placeholder, if any, goes."""
        await self.client.chat_postEphemeral(
            channel=self.channel,
            user=self.slack_user,
            thread_ts=self.thread_ts,
            text=mrkdwn(message),
        )
        if self.ts is not None:
            await self.throttle.drop((self.channel, self.ts))
            ts, self.ts = self.ts, None
            try:
                await self.client.chat_delete(channel=self.channel, ts=ts)
            except SlackApiError as exc:  # deleted already
                if exc.response.get("error") != "message_not_found":
                    raise
