"""Which model translates a language pair, and which target-language token it needs.

Multi-target Marian models (``opus-mt-en-zh``, ``opus-mt-en-ar``, group models such as
``opus-mt-en-ROMANCE``) want a sentence-initial token naming the target language,
``>>cmn_Hans<<`` or ``>>pt<<``; without it they pick a language themselves. The tokens a
model knows are read from its tokenizer (the vocabulary's ``>>id<<`` entries); the one
for a target comes from TRANSLATE_PAIRS when given, else from the language code
(``>>fr<<``, ``>>fra<<``...) with a preference for the usual written form (Simplified
Mandarin for ``zh``).

TRANSLATE_PAIRS entries are a model id, or an object with the model and its token::

    {"en-ja": "Helsinki-NLP/opus-mt-en-jap",
     "en-pt": {"model": "Helsinki-NLP/opus-mt-en-ROMANCE", "target_token": ">>pt<<"}}
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput
from ..languages import MISTAKES
from ..settings import PairEntry

log = logging.getLogger(__name__)

_PAIR_KEY = re.compile(r"^([a-z]{2,3})[-_>]([a-z]{2,3})$")
_LANGUAGE_TOKEN = re.compile(r"^>>[\w-]+<<$")

#: Pairs that the default template (Helsinki-NLP/opus-mt-{src}-{tgt}) has no model for,
#: served by a published multi-target model (model card: a sentence-initial ``>>id<<``).
GROUP_PAIRS: dict[tuple[str, str], tuple[str, str]] = {
    ("en", "pt"): ("Helsinki-NLP/opus-mt-en-ROMANCE", ">>pt<<"),
    ("en", "gl"): ("Helsinki-NLP/opus-mt-en-ROMANCE", ">>gl<<"),
    ("en", "la"): ("Helsinki-NLP/opus-mt-en-ROMANCE", ">>la<<"),
    ("en", "oc"): ("Helsinki-NLP/opus-mt-en-ROMANCE", ">>oc<<"),
}

#: The written form a bare code means, where a model offers several (opus-mt-en-zh:
#: cmn_Hans, cmn_Hant, yue_Hans...; opus-mt-en-ar: ara, arz, apc...).
PREFERRED: dict[str, tuple[str, ...]] = {
    "zh": ("cmn_Hans", "zho_Hans", "cmn", "zho"),
    "ar": ("ara", "arb"),
    "pt": ("pt", "por", "pt_PT", "pt_br", "pt_BR"),
    "no": ("nob", "no", "nor"),
    "fa": ("pes", "fas"),
}


@dataclass(frozen=True)
class PairModel:
    """The model of one language pair and the target token the operator named for it."""

    model: str
    token: str | None = None


def pair_key(key: str) -> tuple[str, str] | None:
    """``"en-ja"``, ``"en_ja"`` or ``"en>ja"`` as ("en", "ja"); None when not a pair."""
    match = _PAIR_KEY.match(str(key).strip().lower())
    return (match[1], match[2]) if match else None


def parse_pairs(raw: Mapping[str, str | PairEntry]) -> dict[tuple[str, str], PairModel]:
    """TRANSLATE_PAIRS as {(source, target): PairModel}; bad entries are logged, skipped."""
    pairs: dict[tuple[str, str], PairModel] = {}
    for key, value in raw.items():
        entry = value if isinstance(value, PairEntry) else PairEntry(model=str(value))
        pair = pair_key(key)
        token = (entry.target_token or "").strip() or None
        if pair is None or not entry.model.strip():
            log.warning('TRANSLATE_PAIRS: ignoring %r (want {"en-fr": "model id"})', key)
            continue
        if token is not None and not _LANGUAGE_TOKEN.match(token):
            log.warning("TRANSLATE_PAIRS: %r: target_token %r is not like >>fr<<", key, token)
            token = None
        pairs[pair] = PairModel(entry.model.strip(), token)
    return pairs


def language_tokens(tokenizer: Any) -> frozenset[str]:
    """The ``>>id<<`` target-language tokens of a tokenizer's vocabulary (none for a
    single-target model)."""
    return frozenset(token for token in tokenizer.get_vocab() if _LANGUAGE_TOKEN.match(token))


def target_token(
    available: frozenset[str], target: str, configured: str | None, model: str
) -> str | None:
    """The token that asks ``model`` for ``target``: ``configured`` (TRANSLATE_PAIRS) when
    the model has it, else the best match for the code; None for a single-target model.
    ``InvalidInput`` when the model has target tokens but none for ``target``."""
    if not available:
        return None
    if configured is not None:
        if configured in available:
            return configured
        raise InvalidInput(
            f"The translation model {model} has no target token {configured}; "
            f"it knows {_sample(available)}."
        )
    three_letter = [code for code, two in MISTAKES.items() if two == target and len(code) == 3]
    for name in (*PREFERRED.get(target, ()), target, *three_letter):
        if f">>{name}<<" in available:
            return f">>{name}<<"
    raise InvalidInput(
        f"The translation model {model} needs a target-language token and has none for "
        f"{target!r} (it knows {_sample(available)}); name one in TRANSLATE_PAIRS "
        '("target_token").'
    )


def _sample(tokens: frozenset[str], shown: int = 8) -> str:
    names = sorted(tokens)
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
