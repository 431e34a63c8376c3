"""The rulebook's phrase lists and fuzzy phrase matching (jieba + pinyin + rapidfuzz)."""

from qa.phrases.matcher import DEFAULT_MIN_SIMILARITY, find
from qa.phrases.rulebook import (
    DEFAULT_PATH,
    PhraseSpec,
    Rulebook,
    RulebookError,
    RuleSpec,
    Scorecard,
    load_rulebook,
    rulebook_from_json,
)
from qa.phrases.textnorm import keyed, match_key

__all__ = [
    "DEFAULT_MIN_SIMILARITY",
    "DEFAULT_PATH",
    "PhraseSpec",
    "RuleSpec",
    "Rulebook",
    "RulebookError",
    "Scorecard",
    "find",
    "keyed",
    "load_rulebook",
    "rulebook_from_json",
    "match_key",
]
