"""Renderer of /ask: the answer with its source named and linked, or "not in your
documents" with the closest passages."""

from __future__ import annotations

from inference.tasks.ask import AskResult

from ..cards import NEUTRAL, POSITIVE, Card, Reply
from .base import (
    EMBED_DESCRIPTION,
    EMBED_FIELD_NAME,
    EMBED_FIELD_VALUE,
    bar,
    clip,
    escape,
    percent,
    quote,
    render,
)


@render.register
def _(result: AskResult, question: str = "", links: dict[str, str] | None = None) -> Reply:
    links = links or {}
    lines = [quote(question, 200)] if question else []
    if result.answerable:
        card = Card(title="Answer", colour=POSITIVE)
        answer = escape(" ".join(result.answer.split()))
        lines += [f"**{answer}**", f"`{bar(result.score)}` {percent(result.score)} confidence"]
    else:
        card = Card(title="Not in your documents", colour=NEUTRAL)
        lines.append("No passage answers this with confidence. The closest passages:")
    card.description = clip("\n".join(lines), EMBED_DESCRIPTION)
    for source in result.sources[:3]:
        link = links.get(source.document)
        where = f"[Jump to where it was added]({link})\n" if link else ""
        card.add_field(
            name=clip(f"📄 {source.document}", EMBED_FIELD_NAME),
            value=clip(where + quote(source.text, 700), EMBED_FIELD_VALUE),
            inline=False,
        )
    return Reply.one(cards=[card])
