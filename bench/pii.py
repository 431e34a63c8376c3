"""Precision and recall of personal-number detection (`qa.privacy`) per kind.

A labelled corpus of what callers say: mobile and landline numbers, 身份证号,
bank cards and email addresses, written in digits or read in Chinese numerals
(幺/一, 两/二, 洞/零), grouped with pauses, and sometimes split across two
utterances, and in 30% of cases slightly misheard (digits and 汉字 mixed,
幺 heard as 要, a filler between groups, a digit lost). Negatives are the look-alikes a call is full of: 订单号, amounts,
工号, 验证码, dates. Two sets are drawn from disjoint sentence templates and
number renderings: `dev` (what the detector was written against) and
`held-out` (not looked at while writing it); report on the second. The
baseline is a plain regular expression over the ASCII digits, as a
text-only redactor would do.

    python -m bench.pii [--n 2000] [--seed 5]
"""

from __future__ import annotations

import argparse
import random
import re
from dataclasses import dataclass, field

from qa.privacy import find_in_utterances
from qa.privacy.pii import luhn_ok
from qa.records import Utterance

CN = "零一二三四五六七八九"
MISHEARD = 0.3  # share of numbers the recognizer got slightly wrong (as on real telephone speech)
KINDS = ("mobile", "id_card", "bank_card", "landline", "email")

TEMPLATES = {
    "dev": {
        "mobile": ["我的手机号是{}", "你打{}就能找到我", "电话{}，姓王"],
        "id_card": ["身份证号码是{}", "我身份证{}"],
        "bank_card": ["银行卡号{}", "卡号是{}，建设银行的"],
        "landline": ["座机{}", "打我们办公室{}"],
        "email": ["邮箱是{}", "发到{}就行"],
    },
    "held-out": {
        "mobile": ["号码是{}麻烦记一下", "联系方式{}对吧", "嗯{}这个是我老婆的"],
        "id_card": ["证件号{}", "你核对一下，{}"],
        "bank_card": ["退到这张卡{}", "账号{}"],
        "landline": ["家里电话{}", "你回拨{}也行"],
        "email": ["我的邮件地址{}", "{}这个邮箱"],
    },
}
NEGATIVES = {
    "dev": ["订单号{order}", "一共{amount}元", "工号{staff}为您服务", "验证码{code}", "{date}那天寄出的"],
    "held-out": ["快递单号{order}查一下", "我付了{amount}块钱", "我是{staff}号客服", "单号是{order}", "价格{amount}元",
                 "{date}下的单"],
}


@dataclass
class Sample:
    utterances: list[Utterance]
    labels: list[tuple[int, str, int, int]] = field(default_factory=list)  # (utterance, kind, start, end)


def _mobile(rng: random.Random) -> str:
    return rng.choice(["13", "15", "17", "18", "19"]) + str(rng.randint(0, 9)) + "".join(
        str(rng.randint(0, 9)) for _ in range(8))


def _id_card(rng: random.Random) -> str:
    body = f"{rng.randint(110000, 659000)}{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body += f"{rng.randint(0, 999):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]


def _bank_card(rng: random.Random) -> str:
    body = "62" + "".join(str(rng.randint(0, 9)) for _ in range(rng.choice([13, 16])))
    return body + next(d for d in "0123456789" if luhn_ok(body + d))


def _landline(rng: random.Random) -> str:
    area = rng.choice(["010", "021", "0755", "0571", "028"])
    return area + str(rng.randint(2, 8)) + "".join(str(rng.randint(0, 9)) for _ in range(7 if len(area) == 3 else 6))


def _email(rng: random.Random) -> str:
    user = rng.choice(["zhang.san", "li_ming88", "wangfang", "chen2020"])
    return f"{user}@{rng.choice(['qq.com', '163.com', 'example.cn'])}"


MAKERS = {"mobile": _mobile, "id_card": _id_card, "bank_card": _bank_card, "landline": _landline, "email": _email}


def _groups(digits: str, kind: str) -> list[str]:
    sizes = {"mobile": [3, 4, 4], "landline": [len(digits) - 8, 4, 4], "id_card": [6, 8, 4],
             "bank_card": [4] * (len(digits) // 4) + ([len(digits) % 4] if len(digits) % 4 else [])}[kind]
    out, at = [], 0
    for size in sizes:
        out.append(digits[at:at + size])
        at += size
    return [g for g in out if g]


def _say(digits: str, rng: random.Random, style: str) -> str:
    if style == "digits":
        return digits
    spoken = []
    for d in digits:
        if d == "X":
            spoken.append("X")
        elif d == "1" and style == "spoken-yao" and rng.random() < 0.8:
            spoken.append("幺")
        elif d == "2" and rng.random() < 0.3:
            spoken.append("两")
        elif d == "0" and style == "spoken-yao" and rng.random() < 0.2:
            spoken.append("洞")
        else:
            spoken.append(CN[int(d)])
    return "".join(spoken)


# renderings differ between the sets as well as templates
STYLES = {"dev": ["digits", "spoken", "digits-grouped"], "held-out": ["spoken-yao", "spoken-grouped", "digits-dashed"]}


def render(number: str, kind: str, rng: random.Random, style: str) -> list[str]:
    """The number as said, as one or more pieces (pieces go to separate utterances when split)."""
    if kind == "email":
        return [number]
    base = style.split("-")[0] if style != "spoken-yao" else "spoken-yao"
    if style.endswith("grouped") or style.endswith("dashed"):
        joiner = "-" if style.endswith("dashed") else " "
        parts = [_say(g, rng, base if base != "digits" else "digits") for g in _groups(number, kind)]
        return [joiner.join(parts)]
    return [_say(number, rng, base)]


def misheard(said: str, rng: random.Random) -> str:
    """What the recognizer makes of a number read aloud: digits and 汉字 mixed, 幺 heard as 要,
    a filler between groups, or a digit lost."""
    how = rng.choice(["mixed", "yao", "filler", "lost"])
    if how == "mixed":
        cut = len(said) // 2
        return said[:cut] + "".join(str(CN.index(c)) if c in CN else c for c in said[cut:])
    if how == "yao" and "幺" in said:
        return said.replace("幺", "要", 1)
    if how == "filler" and " " in said:
        return said.replace(" ", " 呃 ", 1)
    if how == "lost":
        at = rng.randrange(3, len(said) - 1)
        return said[:at] + said[at + 1:]
    return said


def sample(rng: random.Random, split: str, misheard_share: float = MISHEARD, kinds: tuple[str, ...] = KINDS) -> Sample:
    """One labelled sample of `split`; `misheard_share` of the numbers come slightly misheard."""
    kind = rng.choice(kinds + ("none",))
    if kind == "none":
        text = rng.choice(NEGATIVES[split]).format(
            order="".join(str(rng.randint(0, 9)) for _ in range(rng.choice([12, 13, 15, 16, 18]))),
            amount=rng.choice(["1380", "三百五十", "二百九十九", "5000"]), staff=rng.choice(["3027", "三零二七", "一零八八"]),
            code=str(rng.randint(100000, 999999)), date=rng.choice(["2024年5月6日", "二零二四年五月六日"]))
        return Sample([Utterance("customer", 1, 0.0, 2.0, text)])
    number = MAKERS[kind](rng)
    said = render(number, kind, rng, rng.choice(STYLES[split]))[0]
    if kind != "email" and rng.random() < misheard_share:
        said = misheard(said, rng)
    template = rng.choice(TEMPLATES[split][kind])
    text = template.format(said)
    start = template.index("{}")
    if kind != "email" and rng.random() < 0.3:  # a pause splits the number over two utterances
        cut = rng.randint(start + 3, start + len(said) - 3)
        first, second = text[:cut], text[cut:]
        return Sample([Utterance("customer", 1, 0.0, 2.0, first), Utterance("customer", 1, 2.6, 4.0, second)],
                      [(0, kind, start, len(first)), (1, kind, 0, start + len(said) - cut)])
    return Sample([Utterance("customer", 1, 0.0, 3.0, text)], [(0, kind, start, start + len(said))])


BASELINE = re.compile(r"(?<!\d)(1[3-9]\d{9}|\d{17}[\dXx]|\d{16,19}|0\d{9,11})(?!\d)|[\w.+-]+@[\w-]+\.[\w.]+")


def baseline_spans(s: Sample) -> list[tuple[int, str, int, int]]:
    out = []
    for i, u in enumerate(s.utterances):
        for m in BASELINE.finditer(u.text):
            g = m.group()
            kind = ("email" if "@" in g else "mobile" if len(g) == 11 and g[0] == "1" else "id_card" if len(g) == 18
                    else "landline" if g[0] == "0" else "bank_card")
            out.append((i, kind, m.start(), m.end()))
    return out


def callqa_spans(s: Sample) -> list[tuple[int, str, int, int]]:
    return [(x.index, x.kind, x.start, x.end) for x in find_in_utterances(s.utterances)]


def score(samples: list[Sample], predict) -> dict[str, tuple[int, int, int]]:
    """Per kind: (true positives, false positives, false negatives) over labelled pieces."""
    counts = {k: [0, 0, 0] for k in KINDS}
    for s in samples:
        predicted = predict(s)
        for label in s.labels:
            i, kind, a, b = label
            covered = sum(max(0, min(b, e) - max(a, st)) for (j, k, st, e) in predicted if j == i and k == kind)
            counts[kind][0 if covered >= 0.8 * (b - a) else 2] += 1
        for j, kind, st, e in predicted:
            if not any(i == j and k == kind and st < b and a < e for i, k, a, b in s.labels):
                counts[kind][1] += 1
    return {k: tuple(v) for k, v in counts.items()}


def report(name: str, counts: dict[str, tuple[int, int, int]]) -> None:
    for kind, (tp, fp, fn) in counts.items():
        precision = tp / (tp + fp) if tp + fp else float("nan")
        recall = tp / (tp + fn) if tp + fn else float("nan")
        print(f"  {name:<9} {kind:<10} P {precision:5.3f}  R {recall:5.3f}  (tp {tp}, fp {fp}, fn {fn})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="sentences per set")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    for split in ("dev", "held-out"):
        rng = random.Random(f"{args.seed}:{split}")
        samples = [sample(rng, split) for _ in range(args.n)]
        print(f"{split}: {args.n} sentences, {sum(len(s.labels) > 0 for s in samples)} with a personal number "
              "(targets: recall >= 0.98, precision >= 0.95)")
        report("callqa", score(samples, callqa_spans))
        report("baseline", score(samples, baseline_spans))


if __name__ == "__main__":
    main()
