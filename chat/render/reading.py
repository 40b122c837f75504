"""Renderers of the reading commands: /qa and /summarize."""

from __future__ import annotations

from inference.naming import display_name
from inference.tasks.qa import QaResult
from inference.tasks.summarize import SummarizeResult
from inference.text import sentence_around

from ..cards import NEUTRAL, POSITIVE, Card, Reply
from .base import (
    EMBED_DESCRIPTION,
    as_parsed,
    bar,
    clip,
    escape,
    percent,
    plural,
    quote,
    render,
    text_messages,
)

#: Characters of context shown on each side of an answer, at most.
CONTEXT_CHARS = 250


# -- /qa ------------------------------------------------------------------------------


@render.register
def _(result: QaResult, question: str = "", context: str = "", source: str = "") -> Reply:
    lines = [quote(question, 200)] if question else []
    answer = escape(" ".join(result.answer.split())) or "(nothing)"
    if result.answerable:
        card = Card(title="Answer", colour=POSITIVE)
        lines += [f"**{answer}**", f"`{bar(result.score)}` {percent(result.score)} confidence"]
    else:
        card = Card(title="No answer found", colour=NEUTRAL)
        lines.append("The text probably does not answer this question.")
        if result.note:
            lines.append(f"-# {result.note}")
        lines.append(f"Best guess, low confidence: *{answer}* ({percent(result.score)})")
    if context:
        snippet = answer_in_context(as_parsed(context), result.start, result.end)
        if snippet:
            lines += ["", snippet]
    card.description = clip("\n".join(lines), EMBED_DESCRIPTION)
    footer = [f"From {source}" if source else ""]
    if result.windows > 1:
        footer.append(f"The text was read in {result.windows} overlapping windows")
    if any(footer):
        card.footer = " · ".join(part for part in footer if part)
    return Reply.one(cards=[card])


def answer_in_context(context: str, start: int, end: int) -> str:
    """The sentence around ``context[start:end]`` as a quote, with the answer in bold;
    at most CONTEXT_CHARS either side. Empty when the offsets do not fit the context."""
    if not 0 <= start < end <= len(context):
        return ""
    begin, finish = sentence_around(context, start, end)
    head, tail = context[begin:start], context[end:finish]
    if len(head) > CONTEXT_CHARS:
        head = "…" + head[-CONTEXT_CHARS:].split(" ", 1)[-1]
    if len(tail) > CONTEXT_CHARS:
        tail = tail[:CONTEXT_CHARS].rsplit(" ", 1)[0] + "…"
    answer = context[start:end]

    def flat(text: str) -> str:
        return escape(" ".join(text.split()))

    spaced = [head[-1:].isspace(), tail[:1].isspace()]
    line = flat(head) + " " * spaced[0] + f"**{flat(answer)}**" + " " * spaced[1] + flat(tail)
    return "> " + line.strip()


# -- /summarize -----------------------------------------------------------------------


@render.register
def _(result: SummarizeResult, source: str = "") -> Reply:
    footer = [
        f"From {source}" if source else "",
        f"{plural(result.chunks, 'chunk')}, {plural(result.rounds, 'round')}",
        f"{result.input_tokens:,} → {result.output_tokens:,} tokens",
        display_name(result.model) if result.model else "",
    ]
    summary = result.summary.strip()
    if not summary:
        summary = "*The model gave an empty summary.*"
    if result.truncated:
        summary += (
            "\n\n-# The text was too long to summarise in full: "
            "the last round read only the start of the partial summaries."
        )
    footer_text = " · ".join(part for part in footer if part)
    return Reply(text_messages(summary, title="Summary", footer=footer_text))
