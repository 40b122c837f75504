"""Translation: /translate (chains such as fr>de>en too) and the "Translate to English" menu.

The menu cannot ask which language a message is in, and the models cannot tell: it
detects the language (``source: auto`` does the same), and when a message is too short
or mixed to tell, assumes the server's language (its preferred locale), else the
language of the user's Discord, when that is not English. Either way it says so under
the translation. Detection runs in a worker thread before the job is made.
"""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands

from bot.checks import cooldown
from bot.client import PipelineBot
from bot.cog import PipelineCog, message_text
from bot.errors import UserError
from bot.jobs import run_job
from bot.render import app_choices
from chat.render.base import MAX_CHOICES
from chat.render.translate import language_choices
from inference import InvalidInput
from inference.languages import LANGUAGES, detect_language, language_name, resolve_language
from inference.tasks.translate import (
    AUTO_SOURCE,
    MAX_CHAIN,
    MAX_CHARS,
    TranslateTask,
    asks_for_detection,
)

TEXT = app_commands.Range[str, 1, MAX_CHARS]
LANGUAGE = app_commands.Range[str, 1, 100]
AUTO_CHOICE = "auto (detect the language of the text)"


class Translate(PipelineCog):
    def __init__(self, bot: PipelineBot) -> None:
        super().__init__(bot)
        self.message_menu("Translate to English", self.translate_menu, task="translate")

    @property
    def task(self) -> TranslateTask:
        return self.bot.service.task("translate")  # type: ignore[return-value]

    @app_commands.command(name="translate")
    @app_commands.describe(
        text=f"The text to translate (up to {MAX_CHARS:,} characters)",
        target=f"Language to translate to (fr, German…), or a chain of up to {MAX_CHAIN}: fr>de>en",
        source="The language of the text, or auto to detect it (default: English)",
    )
    @cooldown("translate")
    async def translate(
        self,
        interaction: discord.Interaction,
        text: TEXT,
        target: LANGUAGE,
        source: LANGUAGE | None = None,
    ) -> None:
        """Translate text to another language, or through a chain such as fr>de>en."""
        note = ""
        if asks_for_detection(source):
            source = await asyncio.to_thread(self.task.detect_source, text)
            note = f"Detected {language_name(source)}. Not right? Give source: instead."
        await self._translate(interaction, text, target, source, note=note)

    @translate.autocomplete("target")
    async def target_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        # the language the last step of the chain starts from
        *before, _ = current.split(">")
        start = self.code(before[-1] if before else interaction.namespace.source or "en")
        return app_choices(
            language_choices(
                current, lambda code: start is None or self.reachable(start, code), chain=True
            )
        )

    @translate.autocomplete("source")
    async def source_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        first = self.code((interaction.namespace.target or "").split(">")[0])
        found = language_choices(current, lambda code: first is None or self.reachable(code, first))
        typed = current.strip().casefold()
        if AUTO_SOURCE.startswith(typed) or (typed and "detect".startswith(typed)):
            found = [(AUTO_CHOICE, AUTO_SOURCE), *found][:MAX_CHOICES]
        return app_choices(found)

    async def translate_menu(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """Translate a message to English."""
        text = message_text(message)
        source = await asyncio.to_thread(detect_language, text)
        if source == "en":
            raise UserError("That message is already in English.")
        if source is not None:
            read_as = f"Detected {language_name(source)}."
        else:
            source, whose = menu_source(
                interaction, self.bot.server_config.language(interaction.guild_id)
            )
            read_as = f"Read as {language_name(source)}, {whose}."
        note = f"{read_as} Not right? Use /translate with source: instead."
        await self._translate(interaction, text, "en", source, note=note)

    async def _translate(
        self,
        interaction: discord.Interaction,
        text: str,
        target: str,
        source: str | None,
        note: str = "",
    ) -> None:
        # parsed here too for the languages asked for, which tell pivots from stages
        request = self.task.parse(text=text, target=target, source=source)
        await run_job(
            interaction,
            "translate",
            what="translation",
            render_args={"text": text, "targets": list(request.targets), "note": note},
            text=text,
            target=target,
            source=source,
        )

    def code(self, value: str) -> str | None:
        """The language code of what was typed, or None when it is not (yet) one."""
        try:
            return resolve_language(value, {c for pair in self.task.pairs for c in pair})
        except InvalidInput:
            return None

    def reachable(self, source: str, target: str) -> bool:
        """Whether a model (or two, through English) translates ``source`` to ``target``."""
        if source == target:
            return False
        try:
            self.task.route(source, target)
        except InvalidInput:
            return False
        return True


def menu_source(
    interaction: discord.Interaction, server_language: str | None = None
) -> tuple[str, str]:
    """The language a message that cannot be detected is taken to be in: the one its
    moderators chose with /config, else the server's, else the user's Discord language,
    when it is not English; (code, where it came from)."""
    for code_or_locale, whose in (
        (server_language, "the language this server chose"),
        (interaction.guild_locale, "the language of this server"),
        (interaction.locale, "the language of your Discord"),
    ):
        locale = getattr(code_or_locale, "value", code_or_locale)
        code = str(locale).split("-")[0].lower() if locale is not None else "en"
        if code != "en" and code in LANGUAGES:
            return code, whose
    raise UserError(
        "I can't tell which language that message is in (it is short, or mixed), and "
        "this server and your Discord are set to English. Use /translate with the text "
        "and source: instead."
    )


async def setup(bot: PipelineBot) -> None:
    await bot.add_cog(Translate(bot))
