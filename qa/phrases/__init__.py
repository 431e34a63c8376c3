"""The rulebook's phrase lists and fuzzy phrase matching (jieba + pinyin + rapidfuzz)."""

from qa.phrases.matcher import DEFAULT_MIN_SIMILARITY, find
from qa.phrases.rulebook import (
    DEFAULT_PATH,
    KINDS,
    PhraseSpec,
    Rulebook,
    RulebookError,
    RuleSpec,
    load_rulebook,
)
from qa.phrases.textnorm import keyed, match_key

__all__ = [
    "DEFAULT_MIN_SIMILARITY",
    "DEFAULT_PATH",
    "KINDS",
    "PhraseSpec",
    "RuleSpec",
    "Rulebook",
    "RulebookError",
    "find",
    "keyed",
    "load_rulebook",
    "match_key",
]
