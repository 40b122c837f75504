"""Text as it is read aloud: numbers, currencies and symbols written out in words.

Character-level voices (MMS-TTS: letters, space, apostrophe and hyphen only) drop
everything they cannot spell, so "Call 911 now, it costs $5 & 20% off." would be
spoken as "call now it costs off". ``speakable`` writes such text out in the voice's
language first ("call nine hundred and eleven now, it costs five dollars and twenty
percent off."), with ``num2words`` for the numbers. Languages ``num2words`` does not
know keep their digits; what a voice still cannot say is reported by the speak task.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from num2words import num2words

from .languages import MISTAKES

#: ISO 639-3 codes (as MMS-TTS names its voices: mms-tts-eng) -> ISO 639-1: the
#: three-letter codes ``languages.MISTAKES`` already maps, and those of further voices
#: ("kz" is num2words' code for Kazakh).
_ISO3 = {code: lang for code, lang in MISTAKES.items() if len(code) == 3} | {
    "nor": "no", "nob": "no", "hun": "hu", "kaz": "kz", "lit": "lt", "lav": "lv",
    "slv": "sl", "srp": "sr", "tha": "th", "tel": "te", "ben": "bn", "cat": "ca",
}  # fmt: skip


@dataclass(frozen=True)
class Words:
    """How one language reads symbols and currencies."""

    symbols: dict[str, str]
    #: currency sign -> (singular, plural)
    currencies: dict[str, tuple[str, str]]


_WORDS = {
    "en": Words(
        {"&": "and", "%": "percent", "+": "plus", "=": "equals", "@": "at", "#": "number"},
        {"$": ("dollar", "dollars"), "€": ("euro", "euros"), "£": ("pound", "pounds"),
         "¥": ("yen", "yen")},
    ),
    "fr": Words(
        {"&": "et", "%": "pour cent", "+": "plus", "=": "égale", "@": "arobase"},
        {"$": ("dollar", "dollars"), "€": ("euro", "euros"), "£": ("livre", "livres")},
    ),
    "de": Words(
        {"&": "und", "%": "Prozent", "+": "plus", "=": "gleich", "@": "at"},
        {"$": ("Dollar", "Dollar"), "€": ("Euro", "Euro"), "£": ("Pfund", "Pfund")},
    ),
    "es": Words(
        {"&": "y", "%": "por ciento", "+": "más", "=": "igual a", "@": "arroba"},
        {"$": ("dólar", "dólares"), "€": ("euro", "euros"), "£": ("libra", "libras")},
    ),
    "it": Words(
        {"&": "e", "%": "per cento", "+": "più", "=": "uguale", "@": "chiocciola"},
        {"$": ("dollaro", "dollari"), "€": ("euro", "euro"), "£": ("sterlina", "sterline")},
    ),
    "pt": Words(
        {"&": "e", "%": "por cento", "+": "mais", "=": "igual a", "@": "arroba"},
        {"$": ("dólar", "dólares"), "€": ("euro", "euros"), "£": ("libra", "libras")},
    ),
    "nl": Words(
        {"&": "en", "%": "procent", "+": "plus", "=": "is gelijk aan", "@": "apenstaartje"},
        {"$": ("dollar", "dollar"), "€": ("euro", "euro"), "£": ("pond", "pond")},
    ),
}  # fmt: skip

# A number: digits with optional thousands separators and one decimal part.
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_CURRENCY = re.compile(rf"([$€£¥])\s?({_NUMBER})|({_NUMBER})\s?([$€£¥])")
_PERCENT = re.compile(rf"({_NUMBER})\s?%")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_PLAIN = re.compile(rf"(?<![\w.])({_NUMBER})(?!\w|\.\d)")
_SYMBOL = re.compile(r"(?<=\s)[&+=@#](?=\s)|(?<=\w)[&+=](?=\w)|(?<=\s)@(?=\w)")


def language_of_voice(model_id: str, tokenizer_language: str | None = None) -> str | None:
    """The ISO 639-1 code of a voice: its tokenizer's language ("eng" for MMS-TTS), or
    the ``mms-tts-xxx`` suffix of its name; None when neither says."""
    code = (tokenizer_language or "").strip().lower()
    if not code:
        match = re.search(r"mms-tts-([a-z]{3})", model_id.lower())
        code = match[1] if match else ""
    if len(code) == 2:
        return code
    return _ISO3.get(code[:3]) if code else None


def speakable(text: str, language: str | None) -> str:
    """``text`` with numbers, currencies and symbols written out in ``language`` (ISO
    639-1); unchanged when the language is unknown to us and to num2words."""
    if language is None:
        return text
    words = _WORDS.get(language)

    def number(raw: str, to: str = "cardinal") -> str | None:
        digits = raw.replace(",", "")
        value: int | float = float(digits) if "." in digits else int(digits)
        try:
            return num2words(value, lang=language, to=to)
        except (NotImplementedError, OverflowError, ValueError, TypeError):
            return None

    def currency(match: re.Match[str]) -> str:
        sign, amount = (match[1], match[2]) if match[1] else (match[4], match[3])
        whole, _, cents = amount.partition(".")
        spoken = number(whole)
        if words is None or spoken is None or sign not in words.currencies:
            return match[0]
        one, many = words.currencies[sign]
        said = f"{spoken} {one if whole == '1' else many}"
        cents_said = number(cents) if cents.strip("0") else None
        return f"{said} {cents_said}" if cents_said else said

    def percent(match: re.Match[str]) -> str:
        spoken = number(match[1])
        if words is None or spoken is None:
            return match[0]
        return f"{spoken} {words.symbols['%']}"

    def ordinal(match: re.Match[str]) -> str:
        return number(match[1], "ordinal") or match[0] if language == "en" else match[0]

    def plain(match: re.Match[str]) -> str:
        return number(match[1]) or match[0]

    def symbol(match: re.Match[str]) -> str:
        said = words.symbols.get(match[0]) if words else None
        return f" {said} " if said else match[0]

    text = _CURRENCY.sub(currency, text)
    text = _PERCENT.sub(percent, text)
    text = _ORDINAL.sub(ordinal, text)
    text = _PLAIN.sub(plain, text)
    text = _SYMBOL.sub(symbol, text)
    return re.sub(r" {2,}", " ", text)
