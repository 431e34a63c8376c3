"""Labelled sentences for the phrase-matching benchmark (seeded, deterministic).

Positives are the default rulebook's phrases with their slots filled (seed
companies and unseen ones, 工号 in Arabic, Chinese or 幺 numerals), clean and
corrupted by a recognition-error model built with pypinyin: same-syllable
characters (homophones, tone changes included), near-homophones (zh/z, ch/c,
sh/s, n/l, in/ing, en/eng, an/ang), dropped characters, Traditional output.
Negatives are innocent agent sentences that contain trigger substrings, the
customer saying forbidden things, and prose from the seed documents.
The split into dev (for tuning) and test (for reporting) is by phrase, so a
phrase's corruptions never leak from one split into the other.
"""

from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import opencc
from pypinyin import Style, pinyin

from qa.phrases import load_rulebook

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
# family -> (rule id, phrase groups)
FAMILIES = {
    "greeting": ("greeting.opening", ("greeting",)),
    "closing": ("closing.farewell", ("offer_help", "farewell")),
    "forbidden": ("phrase.forbidden", ("forbidden",)),
    "apology": ("answer.late_apology", ("apology",)),
    "hold": ("hold.procedure", ("wait_request", "after_hold")),
    "silent_line": ("silent_line.procedure", ("silent_closing", "threat")),
}
UNSEEN_COMPANIES = ["星辰网络", "蓝海保险", "华南电力", "安居物业", "顺达快运"]
CN_DIGITS = "零一二三四五六七八九"

INNOCENT = [  # agent lines that contain a trigger but break no rule
    "如果您还有不清楚的地方,欢迎随时来电", "不知道您现在是否方便接听电话", "如果不行的话,我帮您转接专员",
    "这样处理行不行", "我们会在下一个工作日给您回复", "好的,明天我们再见面详谈", "您可以步行到最近的网点办理",
    "请问我刚才的解释您是否清楚", "这个问题我帮您核实一下", "为您服务是我们应该做的", "您的包裹已经在等待派送了",
    "这个月的费用已经扣除了", "我们的热线是全天服务的", "请您稍后再拨打我们的热线", "您稍后会收到短信通知",
    "感谢您的耐心,我们马上处理", "您的电话号码是多少", "我这边听得很清楚,您请讲", "您说话的声音有点小,我这边听得到",
    "您的账号已经解冻了", "我们的工号是系统分配的", "您好像有点着急,我理解您的心情", "下一步我们会安排师傅上门",
    "麻烦您记录一下,好吗", "对不起,请您讲普通话,好吗", "没关系,请不必介意", "不客气,这是我们应该做的",
    "请您在这里签名", "您的投诉我们已经记录,会尽快处理", "抱歉给您添麻烦了,我们马上改进", "系统显示您的订单已经发货",
    "您可以在官网查看物流信息", "这个优惠活动到月底结束", "您的问题我已经转给技术部门", "请问您贵姓",
    "我再跟您确认一下地址", "您这边还有别的需求吗我记一下", "好的,我明白您的意思了", "我们客服中心的电话是这个号码",
    "请问您是本人吗", "您说的情况我都记下来了", "我帮您查一下上个月的账单",
]
CUSTOMER = [  # the customer may say anything
    "我有的时候说不清楚你们知道吗", "喂,喂,听得到吗", "不行,我今天就要", "你们这事到底归谁管", "我不知道密码了",
    "喂,说话呀", "我要投诉你们", "你们怎么这么慢,急死了", "再不处理我就挂了", "我不清楚这个流程",
    "感谢你们的帮助,再见", "好的,请稍等我找一下单号", "你听我说,这个问题很严重", "我正忙着呢,晚点再说",
]


@dataclass(frozen=True)
class Sample:
    role: str
    text: str
    families: frozenset[str]  # the families really present
    phrase: str  # the source phrase ('' for negatives)
    kind: str  # clean | corrupt | innocent | customer | prose
    split: str  # dev | test
    clean: str = ""  # the text before corruption (labels come from it)


@lru_cache(maxsize=1)
def _syllable_pools() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Characters by toned syllable and by tone-less syllable, from the seeds' vocabulary."""
    chars: set[str] = set()
    for path in SEEDS.glob("*.txt") if SEEDS.exists() else ():
        chars |= {c for c in path.read_text("utf-8") if "\u4e00" <= c <= "\u9fff"}
    # the seeds' own vocabulary: characters a recognizer really writes, not rare CJK
    toned: dict[str, list[str]] = {}
    plain: dict[str, list[str]] = {}
    for c in sorted(chars):
        t = pinyin(c, style=Style.TONE3, neutral_tone_with_five=True)[0][0]
        toned.setdefault(t, []).append(c)
        plain.setdefault(t.rstrip("12345"), []).append(c)
    return toned, plain


NEAR = [("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"), ("ing", "in"), ("eng", "en"), ("ang", "an")]


def _near_syllables(syl: str) -> list[str]:
    out = []
    for a, b in NEAR:
        for x, y in ((a, b), (b, a)):
            if x in ("zh", "ch", "sh", "n", "l", "z", "c", "s") and syl.startswith(x) and not (
                    x in "zcs" and syl[1:2] == "h"):
                out.append(y + syl[len(x):])
            elif x not in ("zh", "ch", "sh", "n", "l", "z", "c", "s") and syl.endswith(x) and not (
                    x in ("in", "en", "an") and syl.endswith(x + "g")):
                out.append(syl[: -len(x)] + y)
    return out


def corrupt(text: str, rng: random.Random, rate: float) -> str:
    """Recognition-style errors at about `rate` per character."""
    toned, plain = _syllable_pools()
    out = []
    for ch in text:
        if not ("\u4e00" <= ch <= "\u9fff") or rng.random() >= rate:
            out.append(ch)
            continue
        t = pinyin(ch, style=Style.TONE3, neutral_tone_with_five=True)[0][0]
        syl, op = t.rstrip("12345"), rng.random()
        if op < 0.45:  # same syllable, same or other tone
            pool = [c for c in plain.get(syl, []) if c != ch]
        elif op < 0.8:  # near-homophone
            pool = [c for s in _near_syllables(syl) for c in plain.get(s, [])]
        elif op < 0.9:  # dropped
            continue
        else:  # unrelated character
            pool = [c for c in toned[rng.choice(list(toned))]]
        out.append(rng.choice(pool) if pool else ch)
    result = "".join(out)
    if rng.random() < 0.25:
        result = _s2t().convert(result)
    return result


@lru_cache(maxsize=1)
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def _agent_no(rng: random.Random) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(rng.choice((3, 4))))
    form = rng.random()
    if form < 0.4:
        return digits
    cn = "".join(CN_DIGITS[int(d)] for d in digits)
    return cn.replace("一", "幺") if form < 0.6 else cn


def render(template: str, rng: random.Random, slots: dict[str, tuple[str, ...]]) -> str:
    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "agent_no":
            return _agent_no(rng)
        if name == "company":
            return rng.choice(list(slots["company"]) + UNSEEN_COMPANIES)
        return rng.choice(slots[name])

    return re.sub(r"\{(\w+)\}", fill, template)


def _split(phrase: str) -> str:
    return "test" if zlib.crc32(phrase.encode()) % 2 else "dev"


def _prose(rng: random.Random, n: int) -> list[str]:
    if not SEEDS.exists():
        return []
    text = "".join(SEEDS.joinpath(p).read_text("utf-8") for p in sorted(p.name for p in SEEDS.glob("00[034]*.txt")))
    sentences = [s for s in re.split(r"[。;!?\n]", text) if 8 <= len(s) <= 40]
    return rng.sample(sentences, min(n, len(sentences)))


def build(seed: int = 7, corruptions: int = 3, rate: float = 0.12) -> list[Sample]:
    """The whole labelled corpus; the caller computes which families a text holds."""
    rng = random.Random(seed)
    book = load_rulebook()
    samples: list[Sample] = []
    for family, (rule_id, groups) in FAMILIES.items():
        for group in groups:
            for spec in book.rules[rule_id].phrases[group]:
                split = _split(spec.text)
                for i in range(1 + corruptions):
                    text = render(spec.text, rng, book.slots)
                    if rng.random() < 0.3:
                        text = rng.choice(["嗯,", "好的,", "那个,"]) + text
                    clean = text
                    if i:
                        text = corrupt(text, rng, rate)
                    samples.append(Sample("agent", text, frozenset({family}), spec.text,
                                          "corrupt" if i else "clean", split, clean))
    for text in INNOCENT:
        samples.append(Sample("agent", text, frozenset(), "", "innocent", _split(text)))
    for text in CUSTOMER:
        samples.append(Sample("customer", text, frozenset(), "", "customer", _split(text)))
    for text in _prose(rng, 60):
        samples.append(Sample("agent", text, frozenset(), "", "prose", _split(text)))
    return samples
