"""Stories written by people and a language model taking turns: the platform-free part.

``presets`` (genres, forms, modes), ``prompt`` (what the model reads, within its
context budget) and ``rules`` (whose turn it is, who may undo what). No chat platform,
no model library: the Discord cog, a Slack port and the inference task all use it.
"""

from .presets import FORMS, GENRES, MODES, form_of, genre_of, mode_of
from .prompt import Prompt, StoryInput, Turn, build_prompt
from .rules import Refusal, StoryState, TurnView, check_continue, check_undo, check_write

__all__ = [
    "FORMS",
    "GENRES",
    "MODES",
    "Prompt",
    "Refusal",
    "StoryInput",
    "StoryState",
    "Turn",
    "TurnView",
    "build_prompt",
    "check_continue",
    "check_undo",
    "check_write",
    "form_of",
    "genre_of",
    "mode_of",
]
