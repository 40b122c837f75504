"""Genres, forms and modes of a story, with what the model is told about each."""

from __future__ import annotations

from dataclasses import dataclass


class UnknownChoice(ValueError):
    """A genre, form or mode that does not exist; its message lists the choices."""


@dataclass(frozen=True)
class Form:
    name: str
    #: What the model is told to write.
    instruction: str
    #: Tokens a model turn gets at most in this form (a haiku is short).
    max_tokens: int
    poem: bool = False


GENRES: dict[str, str] = {
    "fantasy": "a fantasy story, with magic and wonder",
    "mystery": "a mystery, with clues, suspects and a secret to uncover",
    "sci-fi": "a science-fiction story, with future technology and its consequences",
    "romance": "a romance, about two people drawn together",
    "horror": "a horror story, building dread and suspense",
    "adventure": "an adventure, with a journey and dangers on the way",
    "comedy": "a comedy, light and funny",
}

FORMS: dict[str, Form] = {
    f.name: f
    for f in (
        Form("prose", "Write in prose: a paragraph or two that carry the story forward.", 160),
        Form(
            "free verse",
            "Write in free verse: short unrhymed lines with vivid images.",
            100,
            poem=True,
        ),
        Form(
            "haiku",
            "Write one haiku: three lines of five, seven and five syllables.",
            40,
            poem=True,
        ),
        Form(
            "sonnet",
            "Write in the form of a sonnet: fourteen rhymed lines of iambic pentameter.",
            220,
            poem=True,
        ),
        Form(
            "sijo",
            "Write one sijo, the Korean verse form: three lines of 14 to 16 syllables each; "
            "the first line sets out a theme, the second develops it, and the third line "
            "opens with a twist (a turn) and closes the poem.",
            90,
            poem=True,
        ),
    )
}

#: How people and the model share the turns.
MODES: dict[str, str] = {
    "together": "people and the model take turns",
    "solo": "one writer steers, the model writes",
    "people": "people take turns; the model only offers ideas",
}

DEFAULT_GENRE, DEFAULT_FORM, DEFAULT_MODE = "fantasy", "prose", "together"


def _choice(kind: str, value: str | None, choices: dict[str, object], default: str) -> str:
    if value is None or not str(value).strip():
        return default
    word = str(value).strip().lower().replace("_", " ")
    if word == "scifi":
        word = "sci-fi"
    if word not in choices:
        raise UnknownChoice(f"Unknown {kind} {value!r}: choose one of {', '.join(choices)}.")
    return word


def genre_of(value: str | None) -> str:
    return _choice("genre", value, GENRES, DEFAULT_GENRE)


def form_of(value: str | None) -> str:
    return _choice("form", value, FORMS, DEFAULT_FORM)


def mode_of(value: str | None) -> str:
    return _choice("mode", value, MODES, DEFAULT_MODE)
