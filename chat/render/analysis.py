"""Renderers of the analysis commands: /sentiment, /ner, /classify."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from inference.languages import language_name
from inference.tasks.classify import DEFAULT_TEMPLATE, ClassifyResult
from inference.tasks.ner import Entity, NerResult
from inference.tasks.sentiment import SentimentResult

from ..cards import COLOUR, NEGATIVE, NEUTRAL, POSITIVE, Card, Reply
from .base import (
    EMBED_DESCRIPTION,
    EMBED_FIELD_NAME,
    EMBED_FIELD_VALUE,
    EMBED_FIELDS,
    EMBED_TOTAL,
    as_parsed,
    bar,
    clip,
    escape,
    percent,
    plural,
    quote,
    ranked_lines,
    render,
)

#: Friendly names of the CoNLL-2003 entity types, in the order their lists are shown.
#: Other types (models trained on other tag sets) follow under their own names.
ENTITY_TYPES = {"PER": "People", "LOC": "Places", "ORG": "Organisations", "MISC": "Other"}
#: Characters the lists of entities may take in all, so that the marked text keeps room.
ENTITY_LISTS_BUDGET = 3000
#: The note under a result of a model that read only the start of the text.
TRUNCATED = "-# The text was longer than the model reads; only its start was used."


#: Colours of the common sentiment labels.
SENTIMENT_COLOURS = {"negative": NEGATIVE, "neutral": NEUTRAL, "positive": POSITIVE}
#: How the language of a text was decided, as the footer says it.
LANGUAGE_FROM = {
    "given": "as given",
    "detected": "detected",
    "default": "the server's default language",
}


@render.register
def _(result: SentimentResult, text: str = "") -> Reply:
    card = Card(title="Sentiment", colour=SENTIMENT_COLOURS.get(result.label, COLOUR))
    lines = [
        f"**{result.label.capitalize()}** `{bar(result.score)}` {percent(result.score)}"
        f" · polarity {result.polarity:+.2f}"
    ]
    own = own_label_line(result)
    if own:
        lines.append(own)
    if len(result.scores) > 1:
        # a backtick in a label would end ranked_lines' code span early
        lines.append(ranked_lines((s.label.replace("`", "'"), s.score) for s in result.scores))
    if text:
        lines.append(quote(text))
    if result.truncated:
        lines.append(TRUNCATED)
    card.description = clip("\n".join(lines), EMBED_DESCRIPTION)
    card.footer = clip(sentiment_footer(result), 2048)
    return Reply.one(cards=[card])


def own_label_line(result: SentimentResult) -> str | None:
    """The model's own label, where it says more than negative / neutral / positive: a
    star rating, a "very" class, or the side a two-class model leans to when its answer
    fell within the neutral band."""
    if not result.scores:
        return None
    own = result.scores[0]
    label = escape(clip(own.label, 100))
    if result.scheme.endswith("-star") or result.scheme == "5-class":
        return f"The model's rating: **{label}** ({percent(own.score)})"
    if result.scheme == "2-class" and result.label == "neutral":
        # the side, not the label: a numbered label ("1", "LABEL_1") tells users nothing
        side = "positive" if result.polarity > 0 else "negative"
        return f"-# Too close to call: the model leans {side} ({percent(own.score)})."
    return None


def sentiment_footer(result: SentimentResult) -> str:
    """``Korean (detected) · daekeun-ml/koelectra-small-v3-nsmc``."""
    if result.language is None:
        language = "Language not detected"
    else:
        how = LANGUAGE_FROM.get(result.language_from, result.language_from)
        language = f"{language_name(result.language)} ({how})"
    return f"{language} · {result.model}"


# -- /ner -----------------------------------------------------------------------------


@render.register
def _(result: NerResult, text: str = "") -> Reply:
    card = Card(title="Named entities", colour=COLOUR)
    if not result.entities:
        card.description = "\n".join(["No named entities found.", quote(text) if text else ""])
        return Reply.one(cards=[card])
    for name, value in entity_lists(result.entities):
        card.add_field(name=name, value=value, inline=True)
    distinct = sum(len(words) for words in result.groups.values())
    card.footer = (
        f"{plural(len(result.entities), 'mention')} of {plural(distinct, 'entity', 'entities')}"
    )
    if text:
        room = min(EMBED_DESCRIPTION, EMBED_TOTAL - len(card) - 10)
        card.description = marked_text(as_parsed(text), result.entities, room)
    return Reply.one(cards=[card])


def entity_lists(entities: Sequence[Entity]) -> list[tuple[str, str]]:
    """(field name, field value) per entity type: each distinct entity with its best score
    and how often it occurs, within the field limits and ENTITY_LISTS_BUDGET in all."""
    best: dict[str, dict[str, float]] = {}
    counts: dict[tuple[str, str], int] = {}
    for entity in entities:
        scores = best.setdefault(entity.type, {})
        scores[entity.word] = max(scores.get(entity.word, 0.0), entity.score)
        counts[entity.type, entity.word] = counts.get((entity.type, entity.word), 0) + 1
    order = [t for t in ENTITY_TYPES if t in best] + [t for t in best if t not in ENTITY_TYPES]
    order = order[:EMBED_FIELDS]
    per_field = min(EMBED_FIELD_VALUE, max(80, ENTITY_LISTS_BUDGET // len(order)))
    fields = []
    for kind in order:
        lines = []
        for word, score in best[kind].items():
            count = counts[kind, word]
            times = f" ×{count}" if count > 1 else ""
            lines.append(f"{escape(clip(' '.join(word.split()), 100))}{times} · {percent(score)}")
        name = f"{ENTITY_TYPES[kind]} ({kind})" if kind in ENTITY_TYPES else kind
        fields.append((clip(name, EMBED_FIELD_NAME), clipped_lines(lines, per_field)))
    return fields


def clipped_lines(lines: Sequence[str], limit: int) -> str:
    """As many whole ``lines`` as fit in ``limit`` characters, then "… and N more"."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        more = f"… and {len(lines) - index} more"
        room = limit - used - (len(more) + 1 if index < len(lines) - 1 else 0)
        if len(line) > room:
            kept.append(more if kept else clip(line, limit))
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)


def marked_text(text: str, entities: Iterable[Entity], limit: int) -> str:
    """``text`` with markdown escaped and each entity in bold followed by its type,
    ``**Barack Obama** `PER```, clipped to ``limit`` characters with an ellipsis."""
    pieces: list[tuple[str, str | None]] = []  # (raw text, entity type or None)
    position = 0
    for entity in entities:
        start, end = entity.start, entity.end
        word = text[start:end]
        # offsets that do not fit the text (or overlap the previous entity) mark nothing
        if start < position or word != entity.word or not word.strip():
            continue
        start += len(word) - len(word.lstrip())  # bold must hug the word
        end -= len(word) - len(word.rstrip())
        pieces += [(text[position:start], None), (text[start:end], entity.type)]
        position = end
    pieces.append((text[position:], None))

    out: list[str] = []
    room = limit - 1  # for the ellipsis
    for raw, kind in pieces:
        piece = escape(raw) if kind is None else f"**{escape(raw)}** `{kind}`"
        if len(piece) <= room:
            out.append(piece)
            room -= len(piece)
            continue
        if kind is None:  # the longest start of this plain text that fits, escaped
            cut = room
            while cut > 0 and len(piece := escape(raw[:cut])) > room:
                cut -= len(piece) - room
            if cut > 0:
                out.append(piece)
        out.append("…")
        break
    return "".join(out)


# -- /classify ------------------------------------------------------------------------


@render.register
def _(result: ClassifyResult, text: str = "") -> Reply:
    card = Card(title="Classification", colour=COLOUR)
    # a backtick in a label would end ranked_lines' code span early
    lines = [ranked_lines(((s.label.replace("`", "'"), s.score) for s in result.scores), 10)]
    if text:
        lines.append(quote(text))
    if result.multi_label:
        lines.append("-# Each label was scored on its own, so several may fit.")
    else:
        lines.append("-# The labels share the score: they are treated as exclusive.")
    if result.template != DEFAULT_TEMPLATE:
        lines.append(f"-# Hypothesis: {escape(result.template)}")
    if result.truncated:
        lines.append(TRUNCATED)
    card.description = clip("\n".join(lines), EMBED_DESCRIPTION)
    return Reply.one(cards=[card])
