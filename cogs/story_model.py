"""The model's side of /story: its turns, its ideas, and the summary of old turns.

One model job at a time per story (the story is claimed before anything is awaited, so
a flood of clicks gets one turn and short refusals). The job goes through ``run_job``:
journaled, resumed after a restart, rendered by ``render_result``, which commits the
turn (once per request, after the turn it was written for) before it is shown. Turns
that no longer fit the model's window are folded into the story's summary with the
summarize task.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

import discord

from bot.checks import age_restricted
from bot.jobs import run_job
from chat.cards import Reply
from chat.policy import blocked_phrase
from chat.render.story import ideas_card, turn_card
from inference.naming import display_name
from inference.tasks.story import MAX_SUMMARY_CHARS, MAX_TURN_CHARS, MAX_TURNS, StoryResult
from store import Conflict, Stories, StoryRecord, TurnRecord
from storytelling import Refusal
from storytelling.prompt import Turn, summary_source
from storytelling.rules import ENDED, check_continue

from .story_controls import IdeaButton, controls

if TYPE_CHECKING:
    from bot.client import PipelineBot

log = logging.getLogger(__name__)

BUSY = "⏳ The model is writing for this story right now; wait for its turn."
GONE = "🗑️ This story no longer exists. Start a new one with /story start."
#: Characters the summarize task reads at most.
MAX_SUMMARY_SOURCE = 50_000


class ModelTurns:
    """Part of the ``Story`` cog (which gives it the bot, the stories and the checks)."""

    bot: PipelineBot
    stories: Stories
    #: Stories whose model is at work (a turn, ideas, a summary): one job at a time.
    busy: set[str]
    #: Stories whose model is writing a turn: people wait for it.
    writing: set[str]
    #: request id -> seq of the model's turn it wrote (to note its message).
    _written: dict[str, int]

    if TYPE_CHECKING:  # what the cog provides

        async def get(self, story_id: str) -> StoryRecord: ...

        def check(
            self, rule: Any, interaction: discord.Interaction, story: StoryRecord, **options: Any
        ) -> None: ...

        def user(self, interaction: discord.Interaction) -> str: ...

        async def delete_message(self, story: StoryRecord, message_id: str) -> None: ...

    async def model_turn(
        self,
        interaction: discord.Interaction,
        story_id: str,
        *,
        retry: bool = False,
        ideas: bool = False,
        direction: str = "",
    ) -> None:
        """The model's turn (``retry``: its last turn again; ``ideas``: three ideas).
        One at a time per story: the story is claimed before anything is awaited, so a
        flood of clicks gets one turn and short refusals."""
        if story_id in self.busy:
            raise Refusal(BUSY)
        self.busy.add(story_id)
        try:
            await self._model_turn(interaction, story_id, retry, ideas, direction)
        finally:
            self.busy.discard(story_id)

    async def _model_turn(
        self,
        interaction: discord.Interaction,
        story_id: str,
        retry: bool,
        ideas: bool,
        direction: str,
    ) -> None:
        self.bot.server_config.check_enabled("story", interaction)
        story = await self.get(story_id)
        if ideas:  # anyone may ask for ideas while the story is open
            if story.ended:
                raise Refusal(ENDED)
        else:
            self.check(check_continue, interaction, story, retry=retry)
        self.bot.admit("story", interaction)  # the cooldown counts model work only
        turns = story.turns[:-1] if retry else story.turns
        after = turns[-1].seq if turns else 0
        recent = [t for t in turns if t.seq > story.summarized_upto]
        request = uuid.uuid4().hex
        if not ideas:
            self.writing.add(story.id)
        try:
            result = await self._run(
                interaction,
                story,
                request,
                after,
                recent,
                retry=retry,
                ideas=ideas,
                direction=direction,
            )
        finally:
            self.writing.discard(story.id)
        seq = self._written.pop(request, None)
        if seq is not None:
            message = await interaction.original_response()
            await self.stories.set_message(story.id, seq, message.id)
        left_out = result.left_out + max(0, len(recent) - MAX_TURNS)
        if left_out:  # (still claimed: the next turn waits for the new summary)
            await self.summarize(story.id, recent[:left_out], user=interaction.user.id)

    async def _run(
        self,
        interaction: discord.Interaction,
        story: StoryRecord,
        request: str,
        after: int,
        recent: list[TurnRecord],
        *,
        retry: bool,
        ideas: bool,
        direction: str,
    ) -> StoryResult:
        """The story job, journaled: rendered (and its turn saved) by ``render_result``."""
        result = await run_job(
            interaction,
            "story",
            what="idea" if ideas else "story turn",
            render_args={
                "story": story.id,
                "after": after,
                "request": request,
                "user": self.user(interaction),
                "replace": story.last_seq if retry else 0,
                "ideas": ideas,
            },
            premise=story.premise,
            genre=story.genre,
            form=story.form,
            memory=story.memory,
            note=story.note,
            summary=story.summary,
            turns=[{"text": t.text, "model": t.model} for t in recent[-MAX_TURNS:]],
            safe=not age_restricted(interaction.channel),
            direction=direction,
            ideas=ideas,
        )
        assert isinstance(result, StoryResult)
        return result

    async def summarize(self, story_id: str, old: list[TurnRecord], *, user: int) -> None:
        """Fold turns that no longer fit the model's window into the story's summary."""
        story = await self.stories.get(story_id)
        if story is None or not old:
            return
        source = summary_source(story.summary, [Turn(t.text, t.model) for t in old])
        try:
            # (charged to the user whose turn outgrew the window, as the scheduler is fair)
            result = await self.bot.service.run(
                "summarize", user=user, text=source[-MAX_SUMMARY_SOURCE:]
            )
        except Exception:  # the next turn tries again: its left_out still counts them
            log.warning("story %s: summarising old turns failed", story_id, exc_info=True)
            return
        summary = " ".join(result.summary.split())[:MAX_SUMMARY_CHARS]  # type: ignore[attr-defined]
        await self.stories.update(story_id, summary=summary, summarized_upto=old[-1].seq)

    async def render_result(
        self, result: StoryResult, args: dict[str, Any], max_bytes: int
    ) -> Reply:
        """A finished story job (also one resumed after a restart): ideas as buttons, or
        the model's turn, committed before it is shown (once, whatever happens)."""
        story = await self.stories.get(args["story"])
        if story is None:
            return Reply.one(content=GONE)
        if args["ideas"]:
            if not result.ideas:
                return Reply.one(content="💭 No ideas came this time: press **Ideas** again.")
            buttons = [
                IdeaButton(story.id, n, idea).as_button() for n, idea in enumerate(result.ideas)
            ]
            return Reply.one(cards=[ideas_card(result.ideas)], buttons=buttons)
        text = result.text.strip()[:MAX_TURN_CHARS]
        if not text:
            return Reply.one(content="🤖 The model had nothing to add: press **Continue** again.")
        if blocked_phrase(self.bot.settings.story_blocklist, text) is not None:
            return Reply.one(
                content="🤖 The model wrote something this server does not allow in stories, "
                "so its turn was left out: press **Continue** again."
            )
        replaced = next((t for t in story.turns if t.seq == args["replace"]), None)
        turn = TurnRecord(
            0, args["user"], display_name(result.model), True, text, request_id=args["request"]
        )
        try:
            turn = await self.stories.add_turn(
                story.id, turn, after=args["after"], replace=args["replace"] or None
            )
        except Conflict:
            return Reply.one(
                content="⌛ The story moved on while the model was writing: this turn was left out."
            )
        self._written[args["request"]] = turn.seq
        if replaced is not None and replaced.message_id:
            await self.delete_message(story, replaced.message_id)
        story.turns = [t for t in story.turns if t.seq <= args["after"]] + [turn]
        return Reply.one(cards=[turn_card(story, turn, len(story.turns))], buttons=controls(story))
