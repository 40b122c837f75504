"""A server's own documents: /docs add|list|remove and /ask (questions answered from
those documents).

Each server is one collection (its id). Adding and removing need DOCS_MANAGERS (Manage
Server by default); anyone may ask. Quotas: DOCS_MAX_DOCS documents and DOCS_MAX_MB in
all per server. Leaving a server deletes its documents.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import cooldown
from bot.client import PipelineBot
from bot.cog import PipelineCog
from bot.errors import UserError
from bot.jobs import run_job
from bot.render import app_choices
from chat.render.base import byte_size, choices, clip, escape, plural
from inference.docs.files import SUFFIXES, check_name
from inference.docs.library import add_document, open_library, retrieve
from inference.tasks.qa import MAX_QUESTION_CHARS
from store.documents import Document, DocumentLibrary

log = logging.getLogger(__name__)

#: Progress edits while indexing are at least this far apart.
PROGRESS_EVERY_S = 1.0

QUESTION = app_commands.Range[str, 1, MAX_QUESTION_CHARS]
#: How Discord's apps name the permissions DOCS_MANAGERS is likely to hold.
_PERMISSION_NAMES = {"manage_guild": "Manage Server", "manage_messages": "Manage Messages"}


class Docs(PipelineCog, name="Docs"):
    docs = app_commands.Group(
        name="docs", description="This server's documents, which /ask answers from", guild_only=True
    )

    def __init__(self, bot: PipelineBot) -> None:
        super().__init__(bot)
        # No "Add to server docs" message menu: Discord allows 5 message menus, all taken.
        self.library: DocumentLibrary | None = None
        self._close: Callable[[], Awaitable[None]] | None = None
        #: One add or remove at a time per server, so that quotas hold.
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def cog_load(self) -> None:
        self.library, self._close = await open_library(self.bot.settings, self.bot.store)
        await super().cog_load()

    async def cog_unload(self) -> None:
        await super().cog_unload()
        if self._close is not None:
            await self._close()

    @property
    def lib(self) -> DocumentLibrary:
        assert self.library is not None, "opened in cog_load"
        return self.library

    # -- /docs add -----------------------------------------------------------------------

    @docs.command(name="add")
    @app_commands.describe(file=f"A {' '.join(SUFFIXES)} file to add (same name: replaced)")
    @cooldown("docs")
    async def add(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        """Add a document (.txt, .md, .pdf, .html) that /ask can answer from."""
        self._check_manager(interaction)
        assert interaction.guild_id is not None
        collection = str(interaction.guild_id)
        name = check_name(file.filename)
        limit = int(self.bot.settings.docs_max_mb * 1024 * 1024)
        if file.size > limit:
            raise UserError(f"{name} is {byte_size(file.size)}; the limit is {byte_size(limit)}.")
        await interaction.response.defer(thinking=True)
        # the reply that announces the document is what /ask links to
        link = (await interaction.original_response()).jump_url
        async with self._locks[interaction.guild_id]:  # quotas hold against concurrent adds
            self._check_quota(await self.lib.documents(collection), name, file.size)
            data = await file.read()
            document = await add_document(
                self.bot.service,
                self.lib,
                collection,
                name,
                data,
                user=interaction.user.id,
                meta={"link": link, "added_by": str(interaction.user.id)},
                progress=self._progress(interaction, name),
            )
        await interaction.edit_original_response(
            content=f"📚 Added **{escape(document.name)}** ({plural(document.chunks, 'passage')},"
            f" {byte_size(document.bytes)}). Ask about it with /ask."
        )

    def _progress(
        self, interaction: discord.Interaction, name: str
    ) -> Callable[[int, int], Awaitable[None]]:
        """Show "Indexing NAME: done/total passages", at most every PROGRESS_EVERY_S."""
        last = 0.0

        async def show(done: int, total: int) -> None:
            nonlocal last
            if time.monotonic() - last < PROGRESS_EVERY_S or done >= total:
                return
            last = time.monotonic()
            try:
                await interaction.edit_original_response(
                    content=f"📚 Indexing {escape(name)}: {done}/{total} passages…"
                )
            except discord.HTTPException as exc:  # progress is a courtesy: indexing goes on
                log.info("progress edit failed: %s", exc)

        return show

    def _check_quota(self, documents: list[Document], name: str, size: int) -> None:
        others = [d for d in documents if d.name != name]  # a document of the same name goes
        settings = self.bot.settings
        if len(others) >= settings.docs_max_docs:
            raise UserError(
                f"This server already has {settings.docs_max_docs} documents (the limit): "
                "remove one with /docs remove first."
            )
        limit = int(settings.docs_max_mb * 1024 * 1024)
        used = sum(d.bytes for d in others)
        if used + size > limit:
            raise UserError(
                f"This server's documents would take {byte_size(used + size)}; the limit is "
                f"{byte_size(limit)}. Remove some with /docs remove first."
            )

    # -- /docs list and /docs remove ----------------------------------------------------

    @docs.command(name="list")
    async def list_(self, interaction: discord.Interaction) -> None:
        """List this server's documents."""
        documents = await self.lib.documents(str(interaction.guild_id))
        if not documents:
            raise UserError("This server has no documents yet: add some with /docs add.")
        used = sum(d.bytes for d in documents)
        lines = [
            f"• **{escape(d.name)}** — {plural(d.chunks, 'passage')}, {byte_size(d.bytes)}"
            for d in documents
        ]
        settings = self.bot.settings
        embed = discord.Embed(
            title=f"{plural(len(documents), 'document')} "
            f"(of {settings.docs_max_docs}, {byte_size(used)} of "
            f"{byte_size(int(settings.docs_max_mb * 1024 * 1024))})",
            description=clip("\n".join(lines), 4096),
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @docs.command(name="remove")
    @app_commands.describe(document="The document's name, as /docs list shows it")
    async def remove(self, interaction: discord.Interaction, document: str) -> None:
        """Remove a document (its passages go at once)."""
        self._check_manager(interaction)
        assert interaction.guild_id is not None
        async with self._locks[interaction.guild_id]:
            removed = await self.lib.remove(str(interaction.guild_id), document)
        if removed is None:
            raise UserError(f"There is no document {clip(document, 100)!r} here (see /docs list).")
        await interaction.response.send_message(
            f"🗑️ Removed **{escape(removed.name)}**.", ephemeral=True
        )

    @remove.autocomplete("document")
    async def _names(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        documents = await self.lib.documents(str(interaction.guild_id))
        wanted = current.casefold()
        return app_choices(
            choices((d.name, d.name) for d in documents if wanted in d.name.casefold())
        )

    # -- /ask ---------------------------------------------------------------------------

    @app_commands.command(name="ask")
    @app_commands.guild_only()
    @app_commands.describe(question=f"What to ask (up to {MAX_QUESTION_CHARS} characters)")
    @cooldown("ask")
    async def ask(self, interaction: discord.Interaction, question: QUESTION) -> None:
        """Ask a question; the answer comes from this server's documents (/docs)."""
        collection = str(interaction.guild_id)
        if not await self.lib.documents(collection):
            raise UserError(
                "This server has no documents yet: a moderator can add some with /docs add."
            )
        await interaction.response.defer(thinking=True)  # embedding the question takes a moment
        passages = await retrieve(
            self.bot.service, self.lib, collection, question, user=interaction.user.id
        )
        links = {p["document"]: p["meta"].get("link") for p in passages if p["meta"].get("link")}
        await run_job(
            interaction,
            "ask",
            what="question",
            question=question,
            passages=[{k: p[k] for k in ("document", "text", "score")} for p in passages],
            render_args={"question": question, "links": links},
        )

    # -- the server's lifetime ------------------------------------------------------------

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot left (or was removed from) a server: its documents go too."""
        await self.lib.drop(str(guild.id))

    # -- helpers ------------------------------------------------------------------------

    def _check_manager(self, interaction: discord.Interaction) -> None:
        """Let DOCS_MANAGERS (permissions or role names) change the documents."""
        if interaction.guild_id is None:
            raise UserError("Documents belong to a server: use this in one.")
        wanted = [w.strip() for w in self.bot.settings.docs_managers.split(",") if w.strip()]
        permissions = interaction.permissions
        roles = {r.name for r in getattr(interaction.user, "roles", [])}
        if permissions.administrator or any(
            getattr(permissions, w, False) is True or w in roles for w in wanted
        ):
            return
        names = [_PERMISSION_NAMES.get(w, w.replace("_", " ").title()) for w in wanted]
        raise app_commands.CheckFailure(
            f"Only members with {' or '.join(names)} can change this server's documents."
        )


async def setup(bot: PipelineBot) -> None:
    await bot.add_cog(Docs(bot))
