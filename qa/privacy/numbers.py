"""Digits as a caller reads them: 幺三八 一二三四 五六七八, 138-1234-5678, 洞幺两…

A number read digit by digit becomes a run of digits, with each digit's
position in the text, so a match can be mapped back to the characters (and
the words' times) it came from. Place-value numerals (三百五十, 两千) are not
digit-by-digit readings and end a run: amounts are not phone numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

__all__ = ["DIGIT", "DigitRun", "digit_runs", "sound_alike_digits"]

# every way a digit is written or said one by one
DIGIT = {
    **{str(d): str(d) for d in range(10)},
    **{chr(0xFF10 + d): str(d) for d in range(10)},  # full-width ０-９
    "零": "0", "〇": "0", "洞": "0", "幺": "1", "一": "1", "壹": "1", "二": "2", "两": "2", "贰": "2",
    "三": "3", "叁": "3", "四": "4", "肆": "4", "五": "5", "伍": "5", "六": "6", "陆": "6",
    "七": "7", "柒": "7", "拐": "7", "八": "8", "捌": "8", "九": "9", "玖": "9", "勾": "9",
}
# what may stand between the digits of one number (pauses the recognizer wrote down)
SEPARATORS = set(" \u3000-—–_,，、.。·:：") | {"\n"} | set("呃嗯额啊")  # fillers too
MAX_GAP = 3  # separator characters in a row inside one number (a run of spaces counts once)
MISHEARD_ONE = "要"  # 幺 as the recognizer often writes it; a digit only between digits
PLACE_VALUES = set("十百千万亿拾佰仟")


@dataclass(frozen=True)
class DigitRun:
    digits: str  # the number, ASCII digits (a final X of an ID number kept as "X")
    positions: tuple[int, ...]  # index in the text of each digit


def digit_runs(text: str) -> list[DigitRun]:
    """The numbers read in `text`, each a run of single digits with separators allowed between."""
    runs: list[DigitRun] = []
    digits: list[str] = []
    positions: list[int] = []
    gap = 0

    def close() -> None:
        if digits:
            runs.append(DigitRun("".join(digits), tuple(positions)))
        digits.clear()
        positions.clear()

    for i, ch in enumerate(text):
        if ch == MISHEARD_ONE and digits and i + 1 < len(text) and text[i + 1] in DIGIT:
            digits.append("1")
            positions.append(i)
            gap = 0
        elif ch in DIGIT and not _place_value_next(text, i):
            digits.append(DIGIT[ch])
            positions.append(i)
            gap = 0
        elif ch in "Xx" and len(digits) in (16, 17):  # the check character of a 身份证号 (one digit may be lost)
            digits.append("X")
            positions.append(i)
            gap = 0
        elif digits and ch.isspace() and text[i - 1].isspace():
            pass  # one pause: an utterance's trailing space meets the joining one
        elif digits and ch in SEPARATORS and gap < MAX_GAP:
            gap += 1
        else:
            close()
            gap = 0
    close()
    return runs


def _is_chinese_digit(ch: str) -> bool:
    return ch in DIGIT and not ch.isascii() and not "\uff10" <= ch <= "\uff19"


def _place_value_next(text: str, i: int) -> bool:
    """三 in 三百 or 两 in 两千: a place-value numeral, not a digit read alone."""
    return _is_chinese_digit(text[i]) and i + 1 < len(text) and text[i + 1] in PLACE_VALUES


# A digit read out as Whisper may write it down over a telephone line: a character of the same sound
# (巴 for 八, 霸凌 for 八零, 腰 for 幺, 领 for 零). Toneless pinyin -> digit.
SOUND_DIGITS = {"ling": "0", "dong": "0", "yi": "1", "yao": "1", "er": "2", "liang": "2", "san": "3", "si": "4",
                "wu": "5", "liu": "6", "qi": "7", "guai": "7", "ba": "8", "jiu": "9", "gou": "9"}
SOUND_STRETCH = 4  # sound-alike characters in a row that may stand for digits
SOUND_NEEDS = 4  # real digits the stretch of digits around them must hold


@lru_cache(maxsize=8192)
def _sounds_like(ch: str) -> str | None:
    if not "\u4e00" <= ch <= "\u9fff" or ch in DIGIT or ch in PLACE_VALUES:
        return None
    from pypinyin import lazy_pinyin

    return SOUND_DIGITS.get(lazy_pinyin(ch)[0])


def sound_alike_digits(text: str) -> str:
    """`text` with each sound-alike of a digit (1 to SOUND_STRETCH in a row) written as the digit, where it
    touches a stretch of digits (with separators) that holds at least SOUND_NEEDS real ones; same length,
    so offsets stay. Elsewhere 吧 and 以 stay words."""
    kinds = ["d" if ch in DIGIT else "s" if _sounds_like(ch) else "p" if ch in SEPARATORS else "o" for ch in text]
    out = list(text)
    i = 0
    while i < len(text):
        if kinds[i] not in "ds":
            i += 1
            continue
        j = i  # the stretch of digits, sound-alikes and separators from i
        while j < len(text) and kinds[j] in "dsp":
            j += 1
        stretch = kinds[i:j]
        if stretch.count("d") >= SOUND_NEEDS:
            k = i
            while k < j:
                if kinds[k] != "s":
                    k += 1
                    continue
                end = k
                while end < j and kinds[end] == "s":
                    end += 1
                if end - k <= SOUND_STRETCH:
                    for n in range(k, end):
                        out[n] = _sounds_like(text[n])
                k = end
        i = j
    return "".join(out)
