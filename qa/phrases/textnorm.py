"""Matching keys for recognized text: characters, tone-less pinyin, near-homophones.

A text is reduced to a compact key (Simplified, no punctuation or spaces, digits
and 幺/〇 as Chinese numerals, 您 folded to 你 because recognizers write either)
plus two code strings of the same length, one code character per key
character: the tone-less syllable and a coarser "near-homophone" syllable
(zh/z, ch/c, sh/s, n/l, f/h, r/l initials; in/ing, en/eng, an/ang finals merged),
and the syllables spelled out in pinyin letters.
Because every level has one code per character, an alignment found on any
level maps straight back to character positions in the original text.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, pinyin

from qa.transcribe.normalize import normalize_text

# One form per numeral so 工号1023, 工号一零二三 and 工号幺零二三 give one key;
# 您/你 and 著/着 are one sound that recognizers spell either way.
_FOLD = str.maketrans(
    {
        "0": "零", "1": "一", "2": "二", "3": "三", "4": "四",
        "5": "五", "6": "六", "7": "七", "8": "八", "9": "九",
        "〇": "零", "○": "零", "幺": "一", "您": "你",
        "著": "着",  # OpenCC t2s keeps 著 (著名); recognizers write 你著急 for 你着急
    }
)
NUMERAL_CHARS = frozenset("零一二三四五六七八九十百千两")

_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h",
             "j", "q", "x", "r", "z", "c", "s", "y", "w")
_INITIAL_FOLD = {"zh": "z", "ch": "c", "sh": "s", "l": "n", "r": "n", "f": "h"}
_FINAL_FOLD = {"ing": "in", "eng": "en", "ang": "an", "iang": "ian", "uang": "uan"}

_codes: dict[str, str] = {}  # syllable -> one private-use character


def _code(syllable: str) -> str:
    code = _codes.get(syllable)
    if code is None:
        code = _codes[syllable] = chr(0xE000 + len(_codes))
    return code


def near_parts(syllable: str) -> tuple[str, str]:
    """(initial, final) of a tone-less syllable, near-homophones folded together (zh/z, in/ing...)."""
    initial = next((i for i in _INITIALS if syllable.startswith(i)), "")
    final = syllable[len(initial):]
    return _INITIAL_FOLD.get(initial, initial), _FINAL_FOLD.get(final, final)


def _near(syllable: str) -> str:
    return "-".join(near_parts(syllable))


@lru_cache(maxsize=None)
def char_codes(ch: str) -> tuple[str, str, str]:
    """(syllable code, near-homophone code, tone-less syllable) of one key character.

    The default reading of the single character is used, not the reading in
    context: contextual pinyin costs ~13 us per character, a dictionary hit
    well under one, and identical characters must always get identical codes.
    """
    if "\u4e00" <= ch <= "\u9fff":
        syllable = pinyin(ch, style=Style.NORMAL, strict=False)[0][0]
        return _code(syllable), _code("~" + _near(syllable)), syllable
    return ch, ch, ch


def _keep(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in "LN"  # letters (Han included) and digits; drop punctuation, spaces, symbols


@dataclass(frozen=True)
class Keyed:
    """A text ready for matching. `pos[i]` is the index in `display` of key[i]."""

    display: str  # normalize_text(text): what spans refer to
    key: str
    pos: tuple[int, ...]
    py: str  # tone-less syllable codes, len(key)
    near: str  # near-homophone codes, len(key)
    # Tone-less syllables spelled out, one per key character: here 么 (me) and
    # 默 (mo) differ by a letter, where the syllable codes call them unrelated.
    syllables: tuple[str, ...] = ()
    grams: frozenset[str] = frozenset()  # near-code bigrams and unigrams (the matcher's index keys)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Key offsets [start, end) -> display offsets."""
        if not self.pos or end <= start:
            return (0, 0)
        return (self.pos[start], self.pos[end - 1] + 1)


def fold_char(ch: str) -> str:
    return ch.lower().translate(_FOLD)


@lru_cache(maxsize=8192)
def keyed(text: str) -> Keyed:
    """Matching key of `text` (cached: a rescore sees the same utterances again)."""
    display = normalize_text(text)
    key_chars: list[str] = []
    pos: list[int] = []
    for i, ch in enumerate(display):
        if _keep(ch):
            key_chars.append(fold_char(ch))
            pos.append(i)
    key = "".join(key_chars)
    codes = [char_codes(c) for c in key]
    near = "".join(c[1] for c in codes)
    return Keyed(
        display=display,
        key=key,
        pos=tuple(pos),
        py="".join(c[0] for c in codes),
        near=near,
        syllables=tuple(c[2] for c in codes),
        grams=frozenset({near[i:i + 2] for i in range(len(near) - 1)} | set(near)),
    )


def match_key(text: str) -> str:
    """The compact key alone (phrases, exclusions, word texts)."""
    return keyed(text).key
