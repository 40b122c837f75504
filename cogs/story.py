"""/story: a story written in a thread by people and the model, taking turns.

Turns come through components, never by reading messages: **Write** opens a modal,
**Continue** / **Retry** / **Ideas** run the ``story`` task, **Undo** and **End** change
the story. Every button is a ``DynamicItem`` whose ``custom_id`` names the story, and the
modal's submission is read from its ``custom_id`` too, so all of them keep working after
a restart. The story itself (settings, turns, summary) lives in the store; every turn is
committed before it is shown. Whose turn it is comes from ``storytelling.rules``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import age_restricted, cooldown
from bot.client import PipelineBot
from bot.cog import PipelineCog
from bot.errors import UserError, report_error
from bot.render import app_choices, embed, message_kwargs, renderer, view
from bot.showcase import with_share
from chat.cards import Card, Reply
from chat.policy import blocked_phrase
from chat.render.base import EMBED_TITLE, choices, clip
from chat.render.story import (
    export_filename,
    export_markdown,
    header_card,
    thread_name,
    turn_card,
)
from cogs.story_controls import (
    BUTTONS,
    TURN_MODAL,
    TurnModal,
    controls,
    give_back,
    modal_value,
)
from cogs.story_model import BUSY, GONE, ModelTurns
from inference.tasks.story import (
    MAX_MEMORY_CHARS,
    MAX_NOTE_CHARS,
    MAX_PREMISE_CHARS,
    MAX_TURN_CHARS,
)
from store import Conflict, Stories, StoryRecord, TurnRecord
from storytelling import FORMS, GENRES, MODES, Refusal, StoryState, TurnView
from storytelling.presets import DEFAULT_FORM, DEFAULT_GENRE, DEFAULT_MODE
from storytelling.rules import check_continue, check_starter, check_undo, check_write

log = logging.getLogger(__name__)

NOT_A_STORY = "This is not a story's thread: start one with /story start."
#: A story's thread is archived after a week without messages (Discord's longest).
THREAD_ARCHIVE_MINUTES = 10080

PREMISE = app_commands.Range[str, 1, MAX_PREMISE_CHARS]
MEMORY = app_commands.Range[str, 1, MAX_MEMORY_CHARS]
NOTE = app_commands.Range[str, 1, MAX_NOTE_CHARS]


class Story(ModelTurns, PipelineCog):
    story = app_commands.Group(
        name="story", description="Write a story in a thread, taking turns with people and a model"
    )

    def __init__(self, bot: PipelineBot) -> None:
        super().__init__(bot)
        self.busy: set[str] = set()
        self.writing: set[str] = set()
        #: request id -> seq of the model's turn it wrote (to note its message).
        self._written: dict[str, int] = {}
        self._stories: Stories | None = None

    async def cog_load(self) -> None:
        await super().cog_load()
        assert self.bot.store is not None
        self._stories = Stories(self.bot.store)
        renderer("story")(self.render_result)

    @property
    def stories(self) -> Stories:
        assert self._stories is not None
        return self._stories

    # -- commands ---------------------------------------------------------------------

    @story.command(name="start")
    @app_commands.describe(
        premise=f"What the story is about (up to {MAX_PREMISE_CHARS} characters)",
        genre="The kind of story (default: fantasy)",
        form="Prose, or a poem form (sijo: the Korean three-line form)",
        mode="together: people and the model alternate; solo: you steer; people: people only",
    )
    @app_commands.choices(
        genre=app_choices(choices((g, g) for g in GENRES)),
        form=app_choices(choices((f, f) for f in FORMS)),
        mode=app_choices(choices((m, m) for m in MODES)),
    )
    @cooldown("story")
    async def start(
        self,
        interaction: discord.Interaction,
        premise: PREMISE,
        genre: str = DEFAULT_GENRE,
        form: str = DEFAULT_FORM,
        mode: str = DEFAULT_MODE,
    ) -> None:
        """Start a story in a new thread of this channel."""
        channel = interaction.channel
        if interaction.guild is None or not isinstance(channel, discord.TextChannel):
            raise UserError("Start a story in a text channel of a server (not a thread or a DM).")
        self.check_text(premise)
        await interaction.response.send_message(
            f"📖 **{interaction.user.display_name}** started a {genre} story ({form}, {mode}): "
            f"{premise}\nJoin in with the buttons in its thread."
        )
        try:
            message = await interaction.original_response()
            thread = await message.create_thread(
                name=thread_name(premise), auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
        except discord.Forbidden:
            raise UserError(
                "I can't open a thread here: I need to create public threads and send "
                "messages in them."
            ) from None
        story = await self.stories.create(
            StoryRecord(
                id="",
                thread_id=str(thread.id),
                starter_id=str(interaction.user.id),
                premise=premise,
                genre=genre,
                form=form,
                mode=mode,
                guild_id=str(interaction.guild_id),
                channel_id=str(channel.id),
                safe=not age_restricted(channel),
            )
        )
        header = await thread.send(embed=embed(header_card(story)), view=view(controls(story)))
        story.header_message_id = str(header.id)
        await self.stories.update(story.id, header_message_id=story.header_message_id)
        try:
            await header.pin()
        except discord.HTTPException as exc:  # no Pin Messages permission: it stays first
            log.info("story %s: could not pin its header: %s", story.id, exc)

    @story.command(name="memory")
    @app_commands.describe(text="What the model must keep in mind (leave out to clear)")
    async def memory(self, interaction: discord.Interaction, text: MEMORY | None = None) -> None:
        """Set what the model must remember in this story (shown in the pinned header)."""
        await self.set_field(interaction, "memory", text, "🧠 Memory")

    @story.command(name="note")
    @app_commands.describe(text="The style to keep to, e.g. 'terse, dark, present tense'")
    async def note(self, interaction: discord.Interaction, text: NOTE | None = None) -> None:
        """Set the author's note: the style the model keeps to (shown in the header)."""
        await self.set_field(interaction, "note", text, "✒️ Author's note")

    @story.command(name="export")
    async def export(self, interaction: discord.Interaction) -> None:
        """The whole story of this thread as a Markdown file, with its authors."""
        story = await self.thread_story(interaction)
        data = export_markdown(story).encode()
        if len(data) > interaction.filesize_limit:
            raise UserError("This story is too long for one file here.")
        # The premise as the embed's title names the story when it is shared to the
        # server's showcase (the Share button; the file's start becomes the excerpt).
        title = Card(
            title=clip(story.premise, EMBED_TITLE),
            description=f"📜 The story so far: {len(story.turns)} turns.",
            colour=None,
        )
        reply = with_share(Reply.one(cards=[title], files=[(export_filename(story), data)]))
        await interaction.response.send_message(**message_kwargs(reply.messages[0]))

    @story.command(name="skip")
    async def skip(self, interaction: discord.Interaction) -> None:
        """Skip the turn everyone waits for (the starter and moderators)."""
        story = await self.thread_story(interaction)
        self.check(check_starter, interaction, story, what="skip a turn")
        await self.stories.update(story.id, skip_at=len(story.turns))
        await interaction.response.send_message(
            f"⏭️ <@{interaction.user.id}> skipped the turn: anyone may take the next one."
        )

    @story.command(name="delete")
    async def delete(self, interaction: discord.Interaction) -> None:
        """Forget this thread's story (the starter and moderators; messages stay)."""
        story = await self.thread_story(interaction)
        if str(interaction.user.id) != story.starter_id and not self.moderator(interaction):
            raise UserError("Only the story's starter or a moderator can delete it.")
        await self.stories.delete(story.id)
        await interaction.response.send_message("🗑️ The bot has forgotten this story.")

    async def set_field(
        self, interaction: discord.Interaction, name: str, text: str | None, title: str
    ) -> None:
        story = await self.thread_story(interaction)
        if text:
            self.check_text(text)
        self.check(check_starter, interaction, story, what=f"change the {name}")
        await self.stories.update(story.id, **{name: text or ""})
        setattr(story, name, text or "")
        done = "saved; the model keeps to it from its next turn" if text else "cleared"
        await interaction.response.send_message(f"{title} {done}.", ephemeral=True)
        await self.refresh_header(story)

    # -- buttons ----------------------------------------------------------------------

    async def open_modal(
        self, interaction: discord.Interaction, story_id: str, default: str = ""
    ) -> None:
        self.bot.server_config.check_enabled("story", interaction)
        story = await self.get(story_id)
        self.not_busy(story)
        self.check(check_write, interaction, story)
        await interaction.response.send_modal(TurnModal(story_id, default))

    async def submit_turn(self, interaction: discord.Interaction, story_id: str, text: str) -> None:
        """A person's turn from the modal: checked again (the story may have moved on
        while they wrote), committed, then posted."""
        text = text.strip()
        if not text:
            raise Refusal("⚠️ Your turn is empty.")
        if len(text) > MAX_TURN_CHARS:
            raise Refusal(f"⚠️ A turn holds at most {MAX_TURN_CHARS:,} characters.")
        try:
            self.bot.server_config.check_enabled("story", interaction)
        except app_commands.CheckFailure as exc:
            raise Refusal(f"🔒 {exc}") from None
        story = await self.get(story_id)
        self.not_busy(story)
        self.check(check_write, interaction, story)
        self.check_text(text)
        turn = TurnRecord(0, self.user(interaction), interaction.user.display_name, False, text)
        try:
            turn = await self.stories.add_turn(story.id, turn, after=story.last_seq)
        except Conflict:
            raise Refusal("⌛ Another turn came first: the story moved on.") from None
        story.turns.append(turn)
        response = await interaction.response.send_message(
            embed=embed(turn_card(story, turn, len(story.turns))), view=view(controls(story))
        )
        if response.message_id is not None:
            await self.stories.set_message(story.id, turn.seq, response.message_id)

    async def idea(self, interaction: discord.Interaction, story_id: str, idea: str) -> None:
        """A picked idea: the model follows it when it may write next, else the person
        writes it (the modal opens with the idea in it)."""
        story = await self.get(story_id)
        try:
            self.check(check_continue, interaction, story)
        except Refusal:
            await self.open_modal(interaction, story_id, default=idea)
            return
        await self.model_turn(interaction, story_id, direction=idea)

    async def undo(self, interaction: discord.Interaction, story_id: str) -> None:
        self.bot.server_config.check_enabled("story", interaction)
        story = await self.get(story_id)
        self.not_busy(story)
        self.check(check_undo, interaction, story)
        last = story.turns[-1]
        try:
            await self.stories.undo(story.id, last.seq)
        except Conflict:
            raise Refusal("⌛ The story changed meanwhile: look again, then undo.") from None
        await interaction.response.send_message(
            f"↩️ <@{interaction.user.id}> took back turn {len(story.turns)} "
            f"({'the model' if last.model else last.author_name})."
        )
        if last.message_id:
            await self.delete_message(story, last.message_id)

    async def end(self, interaction: discord.Interaction, story_id: str) -> None:
        self.bot.server_config.check_enabled("story", interaction)
        story = await self.get(story_id)
        self.check(check_starter, interaction, story, what="end it")
        await self.stories.update(story.id, ended=True)
        story.ended = True
        await interaction.response.send_message(
            f"🏁 The end: <@{interaction.user.id}> ended the story after {len(story.turns)} "
            "turns. /story export gives the whole of it."
        )
        await self.refresh_header(story)

    # -- the modal's submission (also after a restart) ----------------------------------

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
        match = TURN_MODAL.fullmatch(str(data.get("custom_id", "")))
        if match is None:
            return
        text = modal_value(data, "text")
        try:
            await self.submit_turn(interaction, match["story_id"], text)
        except Refusal as exc:
            await give_back(interaction, str(exc), text)
        except Exception as exc:
            await report_error(interaction, exc)

    # -- helpers ------------------------------------------------------------------------

    async def get(self, story_id: str) -> StoryRecord:
        story = await self.stories.get(story_id)
        if story is None:
            raise Refusal(GONE)
        return story

    async def thread_story(self, interaction: discord.Interaction) -> StoryRecord:
        """The story of the thread a /story command is used in (if /story is on here)."""
        self.bot.server_config.check_enabled("story", interaction)
        story = await self.stories.by_thread(interaction.channel_id)
        if story is None:
            raise UserError(NOT_A_STORY)
        return story

    def not_busy(self, story: StoryRecord) -> None:
        """People wait while the model writes a turn (not while it has ideas)."""
        if story.id in self.writing:
            raise Refusal(BUSY)

    def check_text(self, text: str) -> None:
        phrase = blocked_phrase(self.bot.settings.story_blocklist, text)
        if phrase is not None:
            raise Refusal(f"⚠️ Stories here may not contain “{phrase}”.")

    def check(
        self,
        rule: Callable[..., None],
        interaction: discord.Interaction,
        story: StoryRecord,
        **options: Any,
    ) -> None:
        """Apply a rule of ``storytelling.rules`` to this user (a moderator: Manage
        Messages); it raises ``Refusal`` with what to tell them."""
        rule(
            self.state(story),
            self.user(interaction),
            moderator=self.moderator(interaction),
            **options,
        )

    @staticmethod
    def state(story: StoryRecord) -> StoryState:
        turns = [TurnView(t.author_id, t.model) for t in story.turns]
        return StoryState(story.mode, story.starter_id, turns, story.ended, story.skip_at)

    @staticmethod
    def user(interaction: discord.Interaction) -> str:
        return str(interaction.user.id)

    @staticmethod
    def moderator(interaction: discord.Interaction) -> bool:
        return interaction.permissions.manage_messages

    def thread(self, story: StoryRecord) -> discord.PartialMessageable:
        guild = int(story.guild_id) if story.guild_id else None
        return self.bot.get_partial_messageable(int(story.thread_id), guild_id=guild)

    async def refresh_header(self, story: StoryRecord) -> None:
        if not story.header_message_id:
            return
        message = self.thread(story).get_partial_message(int(story.header_message_id))
        try:
            await message.edit(embed=embed(header_card(story)))
        except discord.HTTPException as exc:
            log.info("story %s: could not update its header: %s", story.id, exc)

    async def delete_message(self, story: StoryRecord, message_id: str) -> None:
        try:
            await self.thread(story).get_partial_message(int(message_id)).delete()
        except discord.HTTPException as exc:
            log.info("story %s: could not delete a taken-back turn: %s", story.id, exc)


Story.buttons = BUTTONS


async def setup(bot: PipelineBot) -> None:
    await bot.add_cog(Story(bot))
