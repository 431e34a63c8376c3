"""Text normalization of recognized speech: Simplified Chinese, half-width.

Whisper often answers in Traditional characters; every rule matches against
Simplified text, so conversion happens once, here.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import opencc


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def fold_width(text: str) -> str:
    """Full-width ASCII letters, digits and spaces to half-width (NFKC keeps CJK as is)."""
    return unicodedata.normalize("NFKC", text)


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def normalize_text(text: str) -> str:
    """Simplified, width-folded, trimmed; punctuation is kept for display."""
    return to_simplified(fold_width(text)).strip()


def pinyin_key(text: str) -> str:
    """Tone-less pinyin, one syllable per Han character, space separated.

    Stored beside each utterance so a misheard phrase (支店 for 致电) is still
    found by a plain SQL search on its sound. Non-Han characters are dropped.
    """
    from pypinyin import Style, lazy_pinyin

    han = "".join(ch for ch in to_simplified(text) if "\u4e00" <= ch <= "\u9fff")
    return " ".join(lazy_pinyin(han, style=Style.NORMAL))
