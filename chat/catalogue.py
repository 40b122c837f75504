"""The one catalogue of the model commands and message shortcuts, for every platform.

Each platform builds its declarations from here: the Discord cogs take their names,
descriptions, option descriptions and limits from it (``bot.catalogue``), and Slack's
app manifest and command-text parser are generated from it (``slackapp``). A parity
test checks that the two agree, so a new option cannot reach one platform only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from inference import InferenceSettings
from inference.tasks.classify import (
    DEFAULT_TEMPLATE,
    MAX_LABEL_CHARS,
    MAX_LABELS,
    MAX_TEMPLATE_CHARS,
)
from inference.tasks.classify import MAX_CHARS as CLASSIFY_CHARS
from inference.tasks.generate import MAX_NEW_TOKENS, MAX_PROMPT_CHARS, MAX_TEMPERATURE
from inference.tasks.imagine import MAX_PROMPT_CHARS as IMAGE_PROMPT_CHARS
from inference.tasks.imagine import MAX_SEED, MAX_STEPS, MIN_STEPS
from inference.tasks.qa import MAX_CONTEXT_CHARS, MAX_QUESTION_CHARS
from inference.tasks.summarize import MAX_SUMMARIZE_CHARS
from inference.tasks.translate import MAX_CHARS as TRANSLATE_CHARS

#: The longest text of /sentiment and /ner: the longest message Discord lets anyone post
#: (the tasks take more).
TEXT_CHARS = 4000
#: The longest text typed into /qa and /summarize (longer ones come as a file).
OPTION_CHARS = 6000
#: The longest text /speak takes: SPEAK_MAX_CHARS's default (the task checks the
#: configured value again).
SPEAK_CHARS: int = InferenceSettings.model_fields["speak_max_chars"].default
#: The longest language name or code an option takes.
LANGUAGE_CHARS = 100
#: Where a file may be attached instead of typed text: the largest file read (the
#: tasks bound its text again).
FILE_KIB = 512

Kind = Literal["text", "integer", "number", "boolean", "file"]


@dataclass(frozen=True)
class Option:
    """One option of a command.

    ``min``/``max`` bound a text's length or a number's value. ``choices`` are the only
    values a text option takes; ``suggest`` names the source of an autocomplete list
    (``language``, ``voice``, ``size``) where any value may still be typed.
    """

    name: str
    description: str
    kind: Kind = "text"
    required: bool = False
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    suggest: str | None = None


@dataclass(frozen=True)
class Command:
    """A command that runs one model task.

    ``text`` names the option that takes the rest of a typed command line (Slack's
    free text); the others are given as ``name:value`` before it. ``usage`` is the line
    shown when a typed command cannot be read, ``example`` a line that works.
    """

    name: str
    task: str
    description: str
    options: tuple[Option, ...]
    text: str
    usage: str
    example: str
    #: How a waiting user's job is named ("image", "summary"...).
    what: str = "request"
    #: Open a form rather than read a typed line when the command comes with no text.
    form: bool = False

    def option(self, name: str) -> Option:
        for option in self.options:
            if option.name == name:
                return option
        raise KeyError(f"/{self.name} has no option {name!r}")


@dataclass(frozen=True)
class Shortcut:
    """A message shortcut (Discord: a message context menu): runs ``command`` on the
    message's text, with ``inputs`` fixed."""

    name: str
    command: str
    description: str
    inputs: dict[str, str] = field(default_factory=dict)

    @property
    def callback_id(self) -> str:
        return self.name.lower().replace(" ", "_")


def _text(description: str, limit: int) -> Option:
    """The usual required text option."""
    return Option(
        "text", f"{description} (up to {limit:,} characters)", required=True, min=1, max=limit
    )


def _seed(description: str) -> Option:
    """A random seed's option, for repeatable results."""
    return Option("seed", f"{description} (default: random)", kind="integer", min=0, max=MAX_SEED)


COMMANDS: tuple[Command, ...] = (
    Command(
        "sentiment",
        "sentiment",
        "Tell whether a text sounds positive, neutral or negative, in many languages.",
        (
            _text("The text to judge", TEXT_CHARS),
            Option(
                "language",
                "The language of the text (ko, Spanish…); default: detected",
                min=1,
                max=LANGUAGE_CHARS,
                suggest="language",
            ),
        ),
        text="text",
        usage="/sentiment [language:ko] text",
        example="/sentiment What a lovely day!",
    ),
    Command(
        "ner",
        "ner",
        "Find the people, places and organisations a text names.",
        (_text("The text to find names in", TEXT_CHARS),),
        text="text",
        usage="/ner text",
        example="/ner Ada Lovelace was born in London.",
    ),
    Command(
        "classify",
        "classify",
        "Sort a text into labels you choose.",
        (
            _text("The text to sort", CLASSIFY_CHARS),
            Option(
                "labels",
                f"The labels to choose from, comma-separated: 1 to {MAX_LABELS}, "
                f"up to {MAX_LABEL_CHARS} characters each",
                required=True,
                min=1,
                max=MAX_LABELS * (MAX_LABEL_CHARS + 2),
            ),
            Option(
                "multi_label",
                "Score each label on its own, so that several can fit (default: no)",
                kind="boolean",
            ),
            Option(
                "template",
                "The hypothesis, {} standing for each label, up to "
                f'{MAX_TEMPLATE_CHARS} characters (default: "{DEFAULT_TEMPLATE}")',
                min=2,
                max=MAX_TEMPLATE_CHARS,
            ),
        ),
        text="text",
        usage='/classify "labels: a, b" [multi_label:yes] text',
        example='/classify "labels: sport, politics" The match ended 2-1.',
        form=True,
    ),
    Command(
        "qa",
        "qa",
        "Answer a question from a text or a document you give.",
        (
            Option(
                "question",
                f"What to ask (up to {MAX_QUESTION_CHARS:,} characters)",
                required=True,
                min=1,
                max=MAX_QUESTION_CHARS,
            ),
            Option(
                "context",
                f"The text that holds the answer (up to {OPTION_CHARS:,} characters), "
                "or attach a file",
                min=1,
                max=OPTION_CHARS,
            ),
            Option(
                "file",
                f"A .txt or .md file that holds the answer (up to {FILE_KIB} KiB, "
                f"{MAX_CONTEXT_CHARS:,} characters)",
                kind="file",
            ),
        ),
        text="context",
        usage='/qa "question: Who wrote it?" text that holds the answer',
        example='/qa "question: Where was Ada born?" Ada Lovelace was born in London.',
        what="question",
        form=True,
    ),
    Command(
        "summarize",
        "summarize",
        "Summarise a text or a document, short, medium or long.",
        (
            Option(
                "text",
                f"The text to summarise (up to {OPTION_CHARS:,} characters), or attach a file",
                min=1,
                max=OPTION_CHARS,
            ),
            Option(
                "file",
                f"A .txt or .md file to summarise (up to {FILE_KIB} KiB, "
                f"{MAX_SUMMARIZE_CHARS:,} characters)",
                kind="file",
            ),
            Option(
                "length",
                "How long the summary should be (default: medium)",
                choices=("short", "medium", "long"),
            ),
        ),
        text="text",
        usage="/summarize [length:short|medium|long] text",
        example="/summarize length:short A long text to shorten…",
        what="summary",
    ),
    Command(
        "translate",
        "translate",
        "Translate text to another language, or through a chain such as fr>de>en.",
        (
            _text("The text to translate", TRANSLATE_CHARS),
            Option(
                "target",
                "Language to translate to (fr, German…), or a chain of up to 4: fr>de>en",
                required=True,
                min=1,
                max=LANGUAGE_CHARS,
                suggest="language",
            ),
            Option(
                "source",
                "The language of the text, or auto to detect it (default: English)",
                min=1,
                max=LANGUAGE_CHARS,
                suggest="language",
            ),
        ),
        text="text",
        usage="/translate [from>]to[>to…] text",
        example="/translate fr>de Bonjour tout le monde",
        what="translation",
    ),
    Command(
        "generate",
        "generate",
        "Continue a prompt with a language model.",
        (
            Option(
                "prompt",
                f"The start of the text (up to {MAX_PROMPT_CHARS:,} characters)",
                required=True,
                min=1,
                max=MAX_PROMPT_CHARS,
            ),
            Option(
                "max_tokens",
                f"Tokens to write, 1 to {MAX_NEW_TOKENS} (default 120)",
                kind="integer",
                min=1,
                max=MAX_NEW_TOKENS,
            ),
            Option(
                "temperature",
                f"0 (always the same) to {MAX_TEMPERATURE:g} (wild); default: the model's "
                "own, else 0.7",
                kind="number",
                min=0.0,
                max=MAX_TEMPERATURE,
            ),
            _seed(f"0 to {MAX_SEED}: the same seed and settings write the same text"),
        ),
        text="prompt",
        usage="/generate [max_tokens:120] [temperature:0.7] [seed:42] prompt",
        example="/generate max_tokens:60 Once upon a time",
        what="text",
        form=True,
    ),
    Command(
        "imagine",
        "imagine",
        "Make an image from a text prompt.",
        (
            Option(
                "prompt",
                f"What to draw (up to {IMAGE_PROMPT_CHARS:,} characters)",
                required=True,
                min=1,
                max=IMAGE_PROMPT_CHARS,
            ),
            Option(
                "negative",
                f"What to keep out of the image (up to {IMAGE_PROMPT_CHARS:,} characters)",
                min=1,
                max=IMAGE_PROMPT_CHARS,
            ),
            Option(
                "steps",
                f"Denoising steps, {MIN_STEPS} to {MAX_STEPS}, turbo models 1 to 4 "
                "(default: the model's own)",
                kind="integer",
                min=MIN_STEPS,
                max=MAX_STEPS,
            ),
            _seed(f"0 to {MAX_SEED}; the same seed and prompt give the same image"),
            Option(
                "size",
                "Width x height like 512x768: multiples of 8, from 64 to this bot's limit "
                "(default: the model's size)",
                min=1,
                max=16,
                suggest="size",
            ),
        ),
        text="prompt",
        usage="/imagine [steps:20] [seed:42] [size:512x512] prompt",
        example="/imagine a lighthouse at dusk, oil painting",
        what="image",
        form=True,
    ),
    Command(
        "speak",
        "speak",
        "Read a text aloud and post it as a WAV file.",
        (
            Option(
                "text",
                f"What to read aloud (up to {SPEAK_CHARS:,} characters; long speech is cut)",
                required=True,
                min=1,
                max=SPEAK_CHARS,
            ),
            Option(
                "voice",
                "Who reads it: pick one from the list (default: the first)",
                min=1,
                max=100,
                suggest="voice",
            ),
        ),
        text="text",
        usage="/speak [voice:name] text",
        example="/speak Hello from the bot!",
        what="speech",
    ),
)

SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("Sentiment", "sentiment", "Judge the sentiment of a message"),
    Shortcut("Extract entities", "ner", "Find the people, places and organisations named"),
    Shortcut("Summarize", "summarize", "Summarise a message", {"length": "medium"}),
    Shortcut(
        "Translate to English",
        "translate",
        "Translate a message",
        {"target": "en", "source": "auto"},
    ),
    Shortcut("Speak", "speak", "Read a message aloud"),
)

_BY_NAME = {command.name: command for command in COMMANDS}
_SHORTCUTS = {shortcut.name: shortcut for shortcut in SHORTCUTS}


def command(name: str) -> Command:
    """The catalogue's command called ``name``."""
    return _BY_NAME[name]


def shortcut(name: str) -> Shortcut:
    """The catalogue's message shortcut called ``name``."""
    return _SHORTCUTS[name]
