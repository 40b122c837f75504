"""/story: a story written in a thread by people and the model, taking turns.

Turns come through components, never by reading messages: **Write** opens a modal,
**Continue** / **Retry** / **Ideas** run the ``story`` task, **Undo** and **End** change
the story. Every button is a ``DynamicItem`` whose ``custom_id`` names the story, and the
modal's submission is read from its ``custom_id`` too, so all of them keep working after
a restart. The story itself (settings, turns, summary) lives in the store; every turn is
committed before it is shown. Whose turn it is comes from ``storytelling.rules``.
"""

from __future__ import annotations

import io
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import age_restricted, blocked_phrase, cooldown
from bot.client import PipelineBot
from bot.cog import CogButton, PipelineCog
from bot.errors import UserError, report_error, send_ephemeral
from bot.jobs import renderer, run_job
from bot.render import Reply
from bot.render.story import (
    export_filename,
    export_markdown,
    header_embed,
    ideas_embed,
    model_name,
    thread_name,
    turn_embed,
)
from inference.tasks.story import (
    MAX_MEMORY_CHARS,
    MAX_NOTE_CHARS,
    MAX_PREMISE_CHARS,
    MAX_SUMMARY_CHARS,
    MAX_TURN_CHARS,
    MAX_TURNS,
    StoryResult,
)
from store import Conflict, Stories, StoryRecord, TurnRecord
from storytelling import FORMS, GENRES, MODES, Refusal, StoryState, TurnView
from storytelling.presets import DEFAULT_FORM, DEFAULT_GENRE, DEFAULT_MODE
from storytelling.prompt import Turn, summary_source
from storytelling.rules import ENDED, check_continue, check_starter, check_undo, check_write

log = logging.getLogger(__name__)

GONE = "🗑️ This story no longer exists. Start a new one with /story start."
NOT_A_STORY = "This is not a story's thread: start one with /story start."
BUSY = "⏳ The model is writing for this story right now; wait for its turn."
ID = r"(?P<story_id>[0-9a-f]{12})"
TURN_MODAL = re.compile(rf"story:turn:{ID}")

PREMISE = app_commands.Range[str, 1, MAX_PREMISE_CHARS]
MEMORY = app_commands.Range[str, 1, MAX_MEMORY_CHARS]
NOTE = app_commands.Range[str, 1, MAX_NOTE_CHARS]


def _choices(names: Any) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=name, value=name) for name in names]


class Story(PipelineCog):
    story = app_commands.Group(
        name="story", description="Write a story in a thread, taking turns with people and a model"
    )

    def __init__(self, bot: PipelineBot) -> None:
        super().__init__(bot)
        #: Stories whose model is writing (or summarising): one model turn at a time.
        self.busy: set[str] = set()
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
    @app_commands.choices(genre=_choices(GENRES), form=_choices(FORMS), mode=_choices(MODES))
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
            thread = await message.create_thread(name=thread_name(premise))
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
        header = await thread.send(embed=header_embed(story), view=self.controls(story))
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
        await interaction.response.send_message(
            f"📜 The story so far: {len(story.turns)} turns.",
            file=discord.File(io.BytesIO(data), filename=export_filename(story)),
        )

    @story.command(name="skip")
    async def skip(self, interaction: discord.Interaction) -> None:
        """Skip the turn everyone waits for (the starter and moderators)."""
        story = await self.thread_story(interaction)
        await self.refusing(interaction, self._skip, story)

    async def _skip(self, interaction: discord.Interaction, story: StoryRecord) -> None:
        check_starter(
            self.state(story),
            self.user(interaction),
            moderator=self.moderator(interaction),
            what="skip a turn",
        )
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

        async def change(interaction: discord.Interaction, story: StoryRecord) -> None:
            check_starter(
                self.state(story),
                self.user(interaction),
                moderator=self.moderator(interaction),
                what=f"change the {name}",
            )
            await self.stories.update(story.id, **{name: text or ""})
            setattr(story, name, text or "")
            done = "saved; the model keeps to it from its next turn" if text else "cleared"
            await interaction.response.send_message(f"{title} {done}.", ephemeral=True)
            await self.refresh_header(story)

        await self.refusing(interaction, change, story)

    # -- buttons ----------------------------------------------------------------------

    async def open_modal(
        self, interaction: discord.Interaction, story_id: str, default: str = ""
    ) -> None:
        self.bot.server_config.check_enabled("story", interaction)
        story = await self.get(story_id)
        self.not_busy(story)
        check_write(
            self.state(story), self.user(interaction), moderator=self.moderator(interaction)
        )
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
        check_write(
            self.state(story), self.user(interaction), moderator=self.moderator(interaction)
        )
        self.check_text(text, refusal=True)
        turn = TurnRecord(0, self.user(interaction), interaction.user.display_name, False, text)
        try:
            turn = await self.stories.add_turn(story.id, turn, after=story.last_seq)
        except Conflict:
            raise Refusal("⌛ Another turn came first: the story moved on.") from None
        story.turns.append(turn)
        response = await interaction.response.send_message(
            embed=turn_embed(story, turn, len(story.turns)), view=self.controls(story)
        )
        if response.message_id is not None:
            await self.stories.set_message(story.id, turn.seq, response.message_id)

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
        user = self.user(interaction)
        if ideas:  # anyone may ask for ideas while the story is open
            if story.ended:
                raise Refusal(ENDED)
        else:
            check_continue(
                self.state(story), user, moderator=self.moderator(interaction), retry=retry
            )
        self.bot.admit("story", interaction)  # the cooldown counts model work only
        turns = story.turns[:-1] if retry else story.turns
        after = turns[-1].seq if turns else 0
        recent = [t for t in turns if t.seq > story.summarized_upto]
        request = uuid.uuid4().hex
        result = await run_job(
            interaction,
            "story",
            what="idea" if ideas else "story turn",
            render_args={
                "story": story.id,
                "after": after,
                "request": request,
                "user": user,
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
        seq = self._written.pop(request, None)
        if seq is not None:
            message = await interaction.original_response()
            await self.stories.set_message(story.id, seq, message.id)
        assert isinstance(result, StoryResult)
        left_out = result.left_out + max(0, len(recent) - MAX_TURNS)
        if left_out:
            await self.summarize(story.id, recent[:left_out])

    async def summarize(self, story_id: str, old: list[TurnRecord]) -> None:
        """Fold turns that no longer fit the model's window into the story's summary."""
        story = await self.stories.get(story_id)
        if story is None or not old:
            return
        source = summary_source(story.summary, [Turn(t.text, t.model) for t in old])
        try:
            result = await self.bot.service.run("summarize", text=source[-50_000:])
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
            view = discord.ui.View(timeout=None)
            for n, idea in enumerate(result.ideas):
                view.add_item(IdeaButton(story.id, n, idea))
            return Reply.one(embeds=[ideas_embed(result.ideas)], view=view)
        text = result.text.strip()[:MAX_TURN_CHARS]
        if not text:
            return Reply.one(content="🤖 The model had nothing to add: press **Continue** again.")
        replaced = next((t for t in story.turns if t.seq == args["replace"]), None)
        turn = TurnRecord(
            0, args["user"], model_name(result.model), True, text, request_id=args["request"]
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
        return Reply.one(
            embeds=[turn_embed(story, turn, len(story.turns))], view=self.controls(story)
        )

    async def idea(self, interaction: discord.Interaction, story_id: str, idea: str) -> None:
        """A picked idea: the model follows it when it may write next, else the person
        writes it (the modal opens with the idea in it)."""
        story = await self.get(story_id)
        try:
            check_continue(
                self.state(story), self.user(interaction), moderator=self.moderator(interaction)
            )
        except Refusal:
            await self.open_modal(interaction, story_id, default=idea)
            return
        await self.model_turn(interaction, story_id, direction=idea)

    async def undo(self, interaction: discord.Interaction, story_id: str) -> None:
        self.bot.server_config.check_enabled("story", interaction)
        story = await self.get(story_id)
        self.not_busy(story)
        check_undo(self.state(story), self.user(interaction), moderator=self.moderator(interaction))
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
        story = await self.get(story_id)
        check_starter(
            self.state(story),
            self.user(interaction),
            moderator=self.moderator(interaction),
            what="end it",
        )
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

    def controls(self, story: StoryRecord) -> discord.ui.View:
        view = discord.ui.View(timeout=None)
        buttons: list[type[StoryButton]] = [WriteButton]
        if story.mode != "people":
            buttons += [ContinueButton, RetryButton]
        buttons += [UndoButton, IdeasButton, EndButton]
        for button in buttons:
            view.add_item(button(story.id))
        return view

    async def get(self, story_id: str) -> StoryRecord:
        story = await self.stories.get(story_id)
        if story is None:
            raise Refusal(GONE)
        return story

    async def thread_story(self, interaction: discord.Interaction) -> StoryRecord:
        story = await self.stories.by_thread(interaction.channel_id)
        if story is None:
            raise UserError(NOT_A_STORY)
        return story

    def not_busy(self, story: StoryRecord) -> None:
        if story.id in self.busy:
            raise Refusal(BUSY)

    def check_text(self, text: str, *, refusal: bool = False) -> None:
        phrase = blocked_phrase(self.bot.settings.story_blocklist, text)
        if phrase is not None:
            message = f"Stories here may not contain “{phrase}”."
            raise Refusal(f"⚠️ {message}") if refusal else UserError(message)

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

    @staticmethod
    async def refusing(
        interaction: discord.Interaction,
        action: Callable[[discord.Interaction, StoryRecord], Awaitable[None]],
        story: StoryRecord,
    ) -> None:
        try:
            await action(interaction, story)
        except Refusal as exc:
            await send_ephemeral(interaction, str(exc))

    def thread(self, story: StoryRecord) -> discord.PartialMessageable:
        guild = int(story.guild_id) if story.guild_id else None
        return self.bot.get_partial_messageable(int(story.thread_id), guild_id=guild)

    async def refresh_header(self, story: StoryRecord) -> None:
        if not story.header_message_id:
            return
        message = self.thread(story).get_partial_message(int(story.header_message_id))
        try:
            await message.edit(embed=header_embed(story))
        except discord.HTTPException as exc:
            log.info("story %s: could not update its header: %s", story.id, exc)

    async def delete_message(self, story: StoryRecord, message_id: str) -> None:
        try:
            await self.thread(story).get_partial_message(int(message_id)).delete()
        except discord.HTTPException as exc:
            log.info("story %s: could not delete a taken-back turn: %s", story.id, exc)


class TurnModal(discord.ui.Modal):
    """The Write modal. Its submission is handled by ``Story.on_interaction`` from its
    ``custom_id`` (so a modal opened before a restart still lands)."""

    def __init__(self, story_id: str, default: str = "") -> None:
        super().__init__(title="Your turn", custom_id=f"story:turn:{story_id}", timeout=900)
        self.add_item(
            discord.ui.Label(
                text="Your turn",
                description=f"Up to {MAX_TURN_CHARS:,} characters",
                component=discord.ui.TextInput(
                    style=discord.TextStyle.paragraph,
                    custom_id="text",
                    min_length=1,
                    max_length=MAX_TURN_CHARS,
                    default=default or None,
                ),
            )
        )


def modal_value(data: dict[str, Any], custom_id: str) -> str:
    """A text input's value from a modal submission (in a label or an action row)."""
    for component in data.get("components") or []:
        for inner in [component.get("component"), *(component.get("components") or [])]:
            if isinstance(inner, dict) and inner.get("custom_id") == custom_id:
                return str(inner.get("value") or "")
    return ""


async def give_back(interaction: discord.Interaction, message: str, text: str) -> None:
    """Refuse a written turn, handing the text back so that nothing typed is lost."""
    embed = (
        discord.Embed(title="Your text, to keep", description=text[:4096]) if text.strip() else None
    )
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(message, embed=embed, ephemeral=True)  # type: ignore[arg-type]
        else:
            await interaction.followup.send(message, embed=embed, ephemeral=True)  # type: ignore[arg-type]
    except discord.HTTPException:
        log.warning("could not refuse a story turn of user %s", interaction.user.id)


class StoryButton(CogButton, template=r"(?!)"):
    """A story's button: its ``custom_id`` is ``story:<action>:<story id>``."""

    cog_name = "Story"
    action: str

    def __init__(self, story_id: str) -> None:
        super().__init__(f"story:{self.action}:{story_id}")
        self.story_id = story_id

    async def clicked(self, cog: Story, interaction: discord.Interaction) -> None:
        try:
            await self.act(cog, interaction)
        except Refusal as exc:  # (CogButton answers every other error)
            await send_ephemeral(interaction, str(exc))

    async def act(self, cog: Story, interaction: discord.Interaction) -> None:
        raise NotImplementedError


def _button(
    action: str, label: str, emoji: str, style: discord.ButtonStyle, act: Any
) -> type[StoryButton]:
    return type(
        f"{label}Button",
        (StoryButton,),
        {"action": action, "label": label, "emoji": emoji, "style": style, "act": act},
        template=rf"story:{action}:{ID}",
    )


primary, secondary, danger = (
    discord.ButtonStyle.primary,
    discord.ButtonStyle.secondary,
    discord.ButtonStyle.danger,
)
WriteButton = _button("write", "Write", "✍️", primary, lambda s, c, i: c.open_modal(i, s.story_id))
ContinueButton = _button(
    "continue", "Continue", "🤖", primary, lambda s, c, i: c.model_turn(i, s.story_id)
)
RetryButton = _button(
    "retry", "Retry", "🔁", secondary, lambda s, c, i: c.model_turn(i, s.story_id, retry=True)
)
UndoButton = _button("undo", "Undo", "↩️", secondary, lambda s, c, i: c.undo(i, s.story_id))
IdeasButton = _button(
    "ideas", "Ideas", "💡", secondary, lambda s, c, i: c.model_turn(i, s.story_id, ideas=True)
)
EndButton = _button("end", "End", "🏁", danger, lambda s, c, i: c.end(i, s.story_id))


class IdeaButton(CogButton, template=rf"story:idea:{ID}:(?P<n>[0-2])"):
    """One idea: its text is the button's label (read back from the message)."""

    cog_name = "Story"
    label = "Idea"
    emoji = "💡"
    style = discord.ButtonStyle.success

    def __init__(self, story_id: str, n: int | str, idea: str = "") -> None:
        super().__init__(f"story:idea:{story_id}:{n}")
        self.story_id = story_id
        self.item.label = idea[:80] or "Idea"

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> IdeaButton:
        return cls(match["story_id"], match["n"], getattr(item, "label", None) or "")

    async def clicked(self, cog: Story, interaction: discord.Interaction) -> None:
        try:
            await cog.idea(interaction, self.story_id, self.item.label or "")
        except Refusal as exc:
            await send_ephemeral(interaction, str(exc))


Story.buttons = (
    WriteButton,
    ContinueButton,
    RetryButton,
    UndoButton,
    IdeasButton,
    EndButton,
    IdeaButton,
)


async def setup(bot: PipelineBot) -> None:
    await bot.add_cog(Story(bot))
