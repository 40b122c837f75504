"""Renderers of the analysis commands: /sentiment."""

from __future__ import annotations

import discord

from inference.tasks.sentiment import SentimentResult

from .base import NEGATIVE, NEUTRAL, POSITIVE, Reply, bar, percent, quote, ranked_lines, render


@render.register
def _(result: SentimentResult, text: str = "") -> Reply:
    label = result.label.upper()
    colour = POSITIVE if "POS" in label else NEGATIVE if "NEG" in label else NEUTRAL
    embed = discord.Embed(title="Sentiment", colour=colour)
    lines = [f"**{result.label}** `{bar(result.score)}` {percent(result.score)}"]
    if len(result.scores) > 1:
        lines.append(ranked_lines((s.label, s.score) for s in result.scores))
    if text:
        lines.append(quote(text))
    if result.truncated:
        lines.append("-# The text was longer than the model reads; only its start was used.")
    embed.description = "\n".join(lines)
    return Reply.one(embeds=[embed])
