"""Renderers of the translation commands: /translate and the "Translate to English" menu.

The translation fills the card's description under a title naming the route
("Spanish → French"); below it, fields show the original and every stage before the
last (a chain's steps, and a pivot through English when a pair has no model of its
own). Language choices for autocomplete are made here too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from inference.languages import LANGUAGES, language_name, suggest_languages
from inference.naming import display_name
from inference.tasks.translate import TranslateResult

from ..cards import COLOUR, Card, Message, Reply
from .base import (
    EMBED_DESCRIPTION,
    EMBED_FIELD_NAME,
    EMBED_FIELD_VALUE,
    EMBED_TITLE,
    EMBED_TOTAL,
    Choice,
    choices,
    clip,
    render,
    split_text,
)

#: Characters the original and the intermediate stages may take in all, so that the
#: translation itself keeps most of the card.
STAGES_BUDGET = 2400


@render.register
def _(
    result: TranslateResult,
    text: str = "",
    targets: Sequence[str] = (),
    note: str = "",
) -> Reply:
    """``text``: the original; ``targets``: the languages asked for (stages to any other
    language are pivots); ``note``: a line for the footer."""
    route = [result.source, *(targets or [stage.target for stage in result.stages])]
    card = Card(
        title=clip(" → ".join(language_name(code) for code in route), EMBED_TITLE), colour=COLOUR
    )
    fields: list[tuple[str, str]] = []
    if text:
        fields.append((f"Original · {language_name(result.source)}", text))
    asked = list(targets)
    for number, stage in enumerate(result.stages[:-1], start=1):
        name = f"Step {number} · {language_name(stage.target)}"
        if asked and stage.target == asked[0]:
            asked.pop(0)
        elif targets:  # a language nobody asked for: the pivot of a pair without a model
            after = language_name(result.stages[number].target)
            name += f" (pivot: no {language_name(stage.source)} → {after} model)"
        fields.append((name, stage.text))
    per_field = min(EMBED_FIELD_VALUE, STAGES_BUDGET // max(1, len(fields)))
    for name, value in fields:
        card.add_field(
            name=clip(name, EMBED_FIELD_NAME),
            value=clip(value.strip(), per_field) or "—",
            inline=False,
        )
    models = ", ".join(dict.fromkeys(display_name(stage.model) for stage in result.stages))
    card.footer = clip(" · ".join(filter(None, [note, models])), 1000)

    final = result.text.strip() or "*(The model gave back no text.)*"
    room = min(EMBED_DESCRIPTION, EMBED_TOTAL - len(card) - 10)
    first, *rest = split_text(final, room) or [final]
    card.description = first
    more = [Message(cards=[Card(description=page, colour=COLOUR)]) for page in rest]
    return Reply([Message(cards=[card]), *more])


def language_choices(
    typed: str, usable: Callable[[str], bool] | None = None, *, chain: bool = False
) -> list[Choice]:
    """Autocomplete choices for a language option: ``fr (French)``.

    With ``chain``, only the last language of ``fr>d`` is completed and the rest kept
    (``fr>de (German)``, value ``fr>de``). ``usable`` keeps the languages a model can
    reach; when it keeps none, every match is offered (the command then says why).
    """
    prefix, last = "", typed
    if chain and ">" in typed:
        head, _, last = typed.rpartition(">")
        prefix = head + ">"
    matches = suggest_languages(last, limit=len(LANGUAGES))
    if usable is not None:
        matches = [(code, name) for code, name in matches if usable(code)] or matches
    return choices((f"{prefix}{code} ({name})", prefix + code) for code, name in matches)
