"""Personal numbers in what was said: mobile and landline numbers, 身份证号, bank cards, email.

Numbers are found as digit runs (`numbers.digit_runs`: digits or Chinese
numerals read one by one, with pauses between), and kept only when they have
the shape of their kind: a mobile number is 11 digits from 13-19, an ID
number 18 with a valid check character, a card number 16-19 digits that pass
Luhn's check. Look-alikes are left alone: a run that a 订单号, 工号 or 金额
announces, or that 元/块 follows. A number read across two utterances of one
party is found too: adjacent utterances are read as one text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from qa.phrases.textnorm import char_codes, near_parts
from qa.privacy.numbers import DigitRun, digit_runs, sound_alike_digits

__all__ = ["KINDS", "PiiSpan", "find_in_text", "find_in_utterances", "mask_text", "redact"]

# kind -> the mask shown in its place
KINDS = {"mobile": "【手机号】", "id_card": "【身份证号】", "bank_card": "【银行卡号】", "landline": "【座机号】",
         "email": "【邮箱】"}
# words that announce a number which is not personal
NOT_PERSONAL_BEFORE = ("订单号", "订单", "单号", "运单", "快递单", "工号", "编号", "金额", "价格", "合计", "验证码",
                       "流水号", "批次", "型号", "房间号", "分机")
NOT_PERSONAL_AFTER = ("元", "块", "圆", "毛", "角", "分钟", "秒", "号楼", "%", "个", "件", "年", "月", "天")
CONTEXT_CHARS = 8  # how far before a number its announcing word may stand
JOIN_GAP_S = 3.0  # adjacent utterances of one party closer than this are read as one text
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+\s*(?:@|艾特)\s*[A-Za-z0-9-]+(?:\s*(?:\.|点)\s*[A-Za-z0-9-]+)+")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class PiiSpan:
    kind: str  # a KINDS key
    start: int  # character offsets in the text searched
    end: int
    text: str  # as said (for those allowed to see it)


def id_check_ok(digits: str) -> bool:
    if len(digits) != 18 or not digits[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS))
    return "10X98765432"[total % 11] == digits[17].upper()


def luhn_ok(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for n, d in enumerate(reversed(digits)):
        v = int(d) * (2 if n % 2 else 1)
        total += v - 9 if v > 9 else v
    return total % 10 == 0


def kind_of(digits: str) -> str | None:
    """The kind of personal number `digits` has the shape of, if any."""
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) == 11 and re.fullmatch(r"1[3-9]\d{9}", digits):
        return "mobile"
    if len(digits) == 18 and id_check_ok(digits):
        return "id_card"
    if 16 <= len(digits) <= 19 and luhn_ok(digits):
        return "bank_card"
    if 10 <= len(digits) <= 12 and digits.startswith("0") and not digits.startswith("00"):
        return "landline"
    return _one_digit_lost(digits)


def _one_digit_lost(digits: str) -> str | None:
    """A number the recognizer dropped a digit of, told by what stays: a mobile's 1[3-9] prefix,
    an ID's birth year, a UnionPay card's 62."""
    if len(digits) == 10 and re.fullmatch(r"1[3-9]\d{8}", digits):
        return "mobile"
    if len(digits) == 17 and re.fullmatch(r"[1-6]\d{5}(19|20)\d{8}[\dX]", digits):
        return "id_card"
    if 15 <= len(digits) <= 18 and digits.startswith("62"):
        return "bank_card"
    return None


# Whisper over a telephone line drops and merges digits (150-6067-2036 heard as 1506072036): a long
# run whose length fits no kind still shows its kind by its start. Masked, unless something announces
# it as not personal (订单号, 元...): a leak costs more than a mask too many.
LOSSY = (("mobile", re.compile(r"1[3-9]\d{7,9}")), ("landline", re.compile(r"0[1-9]\d{7,10}")),
         ("id_card", re.compile(r"[1-6]\d{12,16}[\dX]")), ("bank_card", re.compile(r"[3-6]\d{11,19}")))
LOSSY_MIN = 9  # digits: shorter runs are 工号, 验证码, amounts as often as not


def _lossy_kind(digits: str) -> str | None:
    if len(digits) < LOSSY_MIN:
        return None
    return next((kind for kind, shape in LOSSY if shape.fullmatch(digits)), None)


def _announced_otherwise(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - CONTEXT_CHARS):start]
    after = text[end:end + 3]
    return any(w in before for w in NOT_PERSONAL_BEFORE) or after.startswith(NOT_PERSONAL_AFTER)


# Words that announce a kind. An announced run of digits is masked as that kind even when its
# length or check is spoiled (a leak costs more than a mask too many); over a telephone line the
# word itself is often misheard (号码 as 后马, 证件号 as 政见号), so it is matched by its sound too.
ANNOUNCING = {"id_card": ("身份证", "身份证号码", "证件号", "证件号码"),
              "bank_card": ("卡号", "银行卡", "账号", "卡号码"),
              "mobile": ("手机", "电话", "号码", "联系方式"),
              "landline": ("座机", "固话")}
ANNOUNCED_DIGITS = {"id_card": (7, 20), "bank_card": (7, 21), "mobile": (7, 13), "landline": (7, 13)}
ANNOUNCED_MIN = 7  # digits: a 工号, 验证码 or amount is shorter


@lru_cache(maxsize=4096)
def _syllable(ch: str) -> tuple[str, str, str]:
    syllable = char_codes(ch)[2]
    return (syllable, *near_parts(syllable))


def _sound_score(word: str, heard: str) -> float:
    """How much of `word` `heard` (as long) sounds like: per character 1 for its syllable or a near
    homophone, 0.5 for the initial alone."""
    score = 0.0
    for a, b in zip(word, heard):
        (sa, ia, fa), (sb, ib, fb) = _syllable(a), _syllable(b)
        score += 1.0 if sa == sb or (ia, fa) == (ib, fb) else 0.5 if ia and ia == ib else 0.0
    return score


def _sounds_like_word(word: str, heard: str) -> bool:
    # every syllable but, at most, one that keeps only its initial: 卡号码 is not 裹号码
    return _sound_score(word, heard) >= len(word) - 0.5


def _announced_kind(text: str, start: int, digits: str) -> str | None:
    """The kind the announcing word nearest before the number names (as written or as it sounds), if
    the number's length fits it. A phone number that starts with 0 is a landline."""
    before = text[max(0, start - CONTEXT_CHARS):start]
    said = [(at + len(w), len(w), kind) for kind, words in ANNOUNCING.items() for w in words
            for at in range(len(before) - len(w) + 1) if _sounds_like_word(w, before[at:at + len(w)])]
    if not said:
        return None
    kind = max(said)[2]  # the word ending nearest the number; of 身份证号码 and its 号码, the whole word
    low, high = ANNOUNCED_DIGITS[kind]
    if not low <= len(digits) <= high:
        return None
    return "landline" if kind == "mobile" and digits.startswith("0") else kind


# An ID number and a card number are both long, and a check passes by chance one time in ten or eleven
# (more often once a digit is misheard): between the two, what the caller announced decides.
LONG_KINDS = ("id_card", "bank_card")


def _kind(text: str, start: int, digits: str) -> str | None:
    shape = kind_of(digits)
    announced = _announced_kind(text, start, digits)
    if announced and (shape is None or (shape in LONG_KINDS and announced in LONG_KINDS)):
        return announced
    return shape or _lossy_kind(digits)


def _span(text: str, run: DigitRun, at: int, size: int) -> PiiSpan | None:
    digits, positions = run.digits[at:at + size], run.positions[at:at + size]
    start, end = positions[0], positions[-1] + 1
    kind = _kind(text, start, digits)
    if kind is None or _announced_otherwise(text, start, end):
        return None
    return PiiSpan(kind, start, end, text[start:end])


def _run_spans(text: str, run: DigitRun) -> list[PiiSpan]:
    """The run as one number or, failing that, as numbers read one after another from its
    start (two phone numbers in one breath); never a number picked out of a longer one."""
    whole = _span(text, run, 0, len(run.digits))
    if whole is not None:
        return [whole]
    spans, at = [], 0
    while at < len(run.digits):
        piece = next((p for size in (11, 13, 18, 16, 19, 17, 12, 10)  # mobiles are the most common
                      if at + size <= len(run.digits) and (p := _span(text, run, at, size))), None)
        if piece is None:
            break
        spans.append(piece)
        at += run.positions.index(piece.end - 1) - run.positions.index(piece.start) + 1
    return spans


def _numbers(text: str) -> list[PiiSpan]:
    return [s for run in digit_runs(text) if len(run.digits) >= ANNOUNCED_MIN for s in _run_spans(text, run)]


def find_in_text(text: str) -> list[PiiSpan]:
    """Every personal number and email address in `text`, in order: as written, and as heard where the
    recognizer wrote digits down as characters of their sound (`numbers.sound_alike_digits`)."""
    spans = _numbers(text)
    heard = sound_alike_digits(text)
    if heard != text:
        spans += [PiiSpan(s.kind, s.start, s.end, text[s.start:s.end]) for s in _numbers(heard)
                  if not any(s.start < o.end and o.start < s.end for o in spans)]
    spans += [PiiSpan("email", m.start(), m.end(), m.group()) for m in EMAIL.finditer(text)]
    return sorted(spans, key=lambda s: s.start)


def redact(text: str, spans: Iterable[PiiSpan]) -> str:
    """`text` with each span replaced by its kind's mask."""
    out, at = [], 0
    for s in sorted(spans, key=lambda s: s.start):
        if s.start < at:
            continue
        out += [text[at:s.start], KINDS[s.kind]]
        at = s.end
    return "".join(out) + text[at:]


def mask_text(text: str) -> str:
    """`text` with every personal number found in it alone masked."""
    return redact(text, find_in_text(text))


@dataclass(frozen=True)
class UtteranceSpan:
    """A span in one utterance: `index` into the utterances searched, offsets in its text."""

    index: int
    kind: str
    start: int
    end: int


def find_in_utterances(utterances: Sequence) -> list[UtteranceSpan]:
    """Spans per utterance (`qa.records.Utterance` or alike: role, start_s, end_s, text), reading each party's
    adjacent utterances as one text so a number split by a pause is still found."""
    order = sorted(range(len(utterances)), key=lambda i: (utterances[i].role, utterances[i].start_s))
    found: list[UtteranceSpan] = []
    group: list[int] = []
    for i in order + [None]:
        u = utterances[i] if i is not None else None
        if group and (u is None or u.role != utterances[group[-1]].role
                      or u.start_s - utterances[group[-1]].end_s > JOIN_GAP_S):
            found += _group_spans(utterances, group)
            group = []
        if i is not None:
            group.append(i)
    return sorted(found, key=lambda s: (s.index, s.start))


def _group_spans(utterances: Sequence, group: list[int]) -> list[UtteranceSpan]:
    texts = [utterances[i].text for i in group]
    joined = " ".join(texts)  # one separator: a pause inside a number is allowed
    bounds, at = [], 0
    for t in texts:
        bounds.append((at, at + len(t)))
        at += len(t) + 1
    out = []
    for span in find_in_text(joined):
        for i, (lo, hi) in zip(group, bounds):
            start, end = max(span.start, lo), min(span.end, hi)
            if start < end:
                out.append(UtteranceSpan(i, span.kind, start - lo, end - lo))
    return out
