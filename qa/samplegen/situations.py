"""Calls built around the situations of 001 第三篇 / 第五篇 (the scenario rules).

Each call is an ordinary compliant service call (greeting, the customer's
matter, the agent's answer, the closing) with three or four situations put in
its middle. A situation comes in one of these forms:

- handled: the trigger, then the mandated answer (pass);
- missed: the trigger, then an answer that ignores it (fail);
- wrong: the trigger, then an answer not allowed there (fail; where that
  answer is also a 服务忌语, phrase.forbidden fails as well);
- other side: the trigger's words said by the other party (na): 谢谢 or 对不起
  from the agent must not fire a customer's rule, 听不清 from the customer
  must not fire the agent's.

Every call is labelled for every scenario rule: na where its situation does
not arise. Who hung up is in the metadata (`hangup_by`) on some calls; on
others the recording alone shows it (a customer cut off mid-sentence) or
does not (na).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from .generated import COMPANIES, FORMATS, GOODBYE, TOPICS, VOICES, _pick
from .scenario import CallSpec, Pause, Ring, Say, Voice, expected_outcomes

A, C = "agent", "customer"
ASK_MORE = ("请问还有什么可以帮助您?", "请问您还需要其它帮助吗?")
GREETING = "您好,{co},工号{id},请问有什么可以帮您?"
SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴")


@dataclass(frozen=True)
class Form:
    """One way a situation goes: its lines (role, text, forbidden phrases in it) and outcome."""

    lines: tuple[tuple[str, str, tuple[str, ...]], ...]
    outcome: str  # of the situation's rule


def _f(outcome: str, *lines) -> Form:
    """A Form from lines (role, text) or (role, text, forbidden phrases)."""
    return Form(tuple((role, text, tuple(rest[0]) if rest else ()) for role, text, *rest in lines), outcome)


# rule -> {form name: [Form, ...]}; {id} is the agent's 工号.
SITUATIONS: dict[str, dict[str, list[Form]]] = {
    "scenario.apology_accepted": {
        "handled": [_f("pass", (C, "不好意思,刚才是我记错了,是上周三买的。"), (A, "没关系,请不必介意。我记下了。")),
                    _f("pass", (C, "真抱歉,打扰你们这么久。"), (A, "没关系,这是我们应该做的。"))],
        "missed": [_f("fail", (C, "对不起,我刚才说错了,是另外一个订单。"), (A, "那我们重新核对一下订单号码。"))],
        "other": [_f("na", (C, "订单号我发给你们了。"), (A, "不好意思,让您多等了一会儿,我查到了。"))],
    },
    "scenario.thanks": {
        "handled": [_f("pass", (C, "太感谢了,你帮了我大忙。"), (A, "不客气,这是我们应该做的。")),
                    _f("pass", (C, "好的,多谢你啊。"), (A, "请不必客气。"))],
        "missed": [_f("fail", (C, "谢谢你啊,说得很清楚。"), (A, "那我再跟您确认一下地址。"))],
        "wrong": [_f("fail", (C, "太感谢了。"), (A, "小意思啦,客气啥。"))],
        "other": [_f("na", (C, "你帮我看看什么时候能到。"), (A, "谢谢您的耐心,我马上查。"))],
    },
    "scenario.speak_up": {
        "handled": [_f("pass", (A, "对不起,请您大声一点,好吗?"), (C, "我说我想查一下订单。")),
                    _f("pass", (A, "对不起,您的声音太小,请您拿起话筒说话好吗?"), (C, "好的,现在能听清吗?"))],
        "wrong": [_f("fail", (A, "喂,大声一点儿!", ("喂,大声一点儿",)), (C, "我说我想查一下订单。")),
                  _f("fail", (A, "说话大声点!", ("大声点",)), (C, "好的好的。"))],
        "other": [_f("na", (C, "你那边声音太小了,我听不清。"), (A, "好的,我说话大一些,请问现在可以吗?"))],
    },
    "scenario.repeat": {
        "handled": [_f("pass", (A, "对不起,麻烦您将刚才反映的问题再复述一遍,好吗?"), (C, "我说快递一直没有送到。")),
                    _f("pass", (A, "对不起,请您再说一遍,好吗?"), (C, "快递一直没有送到。"))],
        "wrong": [_f("fail", (A, "喂,什么?你说什么?", ("喂,什么?!你说什么",)), (C, "我说快递没有送到!")),
                  _f("fail", (A, "什么?听不清,重讲。", ("什么?听不清,重讲",)), (C, "快递没有送到。"))],
        "other": [_f("na", (C, "你刚才说什么?我没听清。"), (A, "我是说您的订单明天送到。"))],
    },
    "scenario.dialect": {
        "handled": [_f("pass", (A, "对不起,请您讲普通话,好吗?谢谢!"), (C, "好,我说普通话,我想问一下账单。"))],
        "missed": [_f("fail", (A, "你说的话我听不懂。"), (C, "我说,我想问一下账单。"))],
        "wrong": [_f("fail", (A, "你会不会说普通话?"), (C, "会的会的,我想问账单。"))],
        "other": [_f("na", (C, "我普通话不太好,你慢慢说。"), (A, "好的,我慢一点给您讲。"))],
    },
    "scenario.slow": {
        "handled": [_f("pass", (C, "你们怎么这么慢啊,我都等了半天了。"), (A, "对不起,让您久等了,我将尽快帮您处理。"))],
        "missed": [_f("fail", (C, "太慢了,到底还要多久?"), (A, "系统查询需要一点时间。"))],
        "wrong": [_f("fail", (C, "你们怎么这么慢啊?"), (A, "不好意思,我是新手啦。", ("不好意思,我是新手啦",)))],
        "other": [_f("na", (C, "我想查一下进度。"), (A, "今天系统太慢了,请您稍等,我马上帮您查到。"))],
    },
    "scenario.complaint": {
        "handled": [_f("pass", (C, "你们的服务态度太差了,我要投诉。"), (A, "对不起,由于我们服务不周给您添麻烦了,请您原谅。")),
                    _f("pass", (C, "你们搞错了我的地址,我要投诉你们。"), (A, "非常抱歉,给您带来不便,我马上为您更正。"))],
        "missed": [_f("fail", (C, "我要投诉,你们的人态度很差。"), (A, "您说一下具体情况吧。"))],
        "wrong": [_f("fail", (C, "你们的服务态度太差了,我要投诉。"), (A, "这不关我的事。", ("这不关我的事",))),
                  _f("fail", (C, "上次接电话的人态度不好,我要投诉。"),
                     (A, "刚才的电话不是我接的呀。", ("刚才的电话不是我接的呀",)))],
        "other": [_f("na", (C, "我想问一下维修的进度。"), (A, "如果您觉得我的服务态度不好,欢迎您随时提出。"))],
    },
    "scenario.agent_id": {
        "handled": [_f("pass", (C, "你叫什么名字?"), (A, "对不起,我的工号是{id}号。")),
                    _f("pass", (C, "你是几号?我要记一下。"), (A, "我的工号是{id}号。"))],
        "missed": [_f("fail", (C, "你叫什么名字?"), (A, "我们还是先说您的问题吧。"))],
        "wrong": [_f("fail", (C, "你叫什么名字?"), (A, "你问这个干什么?"))],
    },
    "scenario.suggestion": {
        "handled": [_f("pass", (C, "我有个建议,你们的网站应该把退货按钮做得明显一点。"),
                       (A, "谢谢您,您提出的宝贵建议,我们将及时反馈给公司相关负责人员。"))],
        "missed": [_f("fail", (C, "提个建议,希望你们能延长客服的服务时间。"), (A, "好的,知道了。"))],
        "other": [_f("na", (C, "那我应该怎么办?"), (A, "我建议您先在官网上查一下物流信息。"))],
    },
    "scenario.cannot_help": {
        "handled": [_f("pass", (C, "那你直接给我退全款吧,运费也要你们出。"),
                       (A, "很抱歉,这超出我们的服务范围,恐怕我不能帮助您。"))],
        "missed": [_f("fail", (C, "那你直接给我退全款吧。"), (A, "这个我们做不到。"))],
        "wrong": [_f("fail", (C, "那你们把运费也退给我。"), (A, "不可能的吧。", ("不可能的吧",))),
                  _f("fail", (C, "我要你们现在就上门。"), (A, "不可以,完全不可以!", ("完全不可以",)))],
        "other": [_f("na", (C, "这个你们肯定做不到吧?"), (A, "可以的,我这边马上帮您办理。"))],
    },
    "scenario.harassment": {
        "handled": [_f("pass", (C, "美女,你声音真好听,交个朋友吧。"),
                       (A, "对不起,您的要求不在我们的服务范围内,请您挂机。"), (C, "好吧,那说正事。"))],
        "missed": [_f("fail", (C, "你有男朋友吗?陪我聊聊天。"), (A, "请问您还有业务要办理吗?"), (C, "好吧,那说正事。"))],
        "wrong": [_f("fail", (C, "陪我聊聊天嘛,交个朋友。"), (A, "神经病。"), (C, "好吧,那说正事。"))],
    },
    "scenario.explained": {
        "handled": [_f("pass", (A, "请问我刚才的解释您是否明白?"), (C, "明白了。"))],
        "missed": [_f("fail", (A, "明白了吗?"), (C, "明白了。"))],
        "wrong": [_f("fail", (A, "喂,听懂了吧?", ("喂,听懂了吧",)), (C, "听懂了。"))],
        "other": [_f("na", (C, "是下周三之前对吧?"), (A, "是的,我明白了,我给您备注一下。"))],
    },
}
# Situations that close the call (scenario.linger) or need a name (scenario.surname) are built in place.
MIDDLE = tuple(SITUATIONS)
FORM_WEIGHTS = {"handled": 0.45, "missed": 0.2, "wrong": 0.2, "other": 0.15}


def _form(rng: np.random.Generator, rule: str) -> tuple[str, Form]:
    forms = SITUATIONS[rule]
    names = [n for n in FORM_WEIGHTS if n in forms]
    weights = np.array([FORM_WEIGHTS[n] for n in names])
    name = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    return name, _pick(rng, forms[name])


def situation_specs(count: int, seed: int, voices: tuple[str, ...] = VOICES, id_prefix: str = "sit") -> list[CallSpec]:
    """`count` situation calls from `seed`, spoken by `voices` (two per call)."""
    rng = np.random.default_rng([seed, 3])
    start = datetime(2024, 7, 1, 9, 0)
    return [_call(f"{id_prefix}{seed:03d}_{i + 1:04d}", rng, voices,
                  (start + timedelta(minutes=9 * i)).isoformat()) for i in range(count)]


def _call(call_id: str, rng: np.random.Generator, voices: tuple[str, ...], started_at: str) -> CallSpec:
    company, team = _pick(rng, COMPANIES)
    agent_id = str(2100 + 41 * int(rng.integers(0, 5)))
    order = rng.permutation(len(voices))
    agent = Voice(voices[order[0]], _pick(rng, (1.0, 1.1)), float(rng.uniform(-24, -18)))
    customer_voice = voices[order[1]]
    customer = Voice(customer_voice, _pick(rng, (1.0, 1.1)), float(rng.uniform(-25, -18)))
    mono = rng.random() < 0.15
    exp, notes, forbidden = expected_outcomes(True, talk__interruption="na" if mono else "pass"), [], []
    long_line, answer, follow_up, answer2 = _pick(rng, TOPICS)
    events: list = [Ring(int(rng.integers(1, 4))), Say(A, GREETING.format(co=company, id=agent_id), ("greeting",))]
    surname = _pick(rng, SURNAMES) if rng.random() < 0.3 else None
    title = "女士" if customer_voice.startswith(("zf", "jf")) else "先生"
    if surname:
        events.append(Say(C, f"你好,我姓{surname}。" + long_line))
    else:
        events.append(Say(C, "你好。" + long_line))
    addressed = surname is not None and rng.random() < 0.6
    events.append(Say(A, (f"{surname}{title}," if addressed else "") + answer))
    if surname:
        exp["scenario.surname"] = "pass" if addressed else "fail"
        notes.append(f"surname {surname}: " + ("addressed" if addressed else "never addressed"))
    events.append(Say(C, follow_up))
    chosen = [str(r) for r in rng.choice(MIDDLE, size=int(rng.integers(3, 5)), replace=False)]
    for rule in chosen:
        name, form = _form(rng, rule)
        for role, text, phrases in form.lines:
            events.append(Say(role, text.format(id=agent_id), ("forbidden",) if phrases else (), phrases))
            forbidden += list(phrases)
        exp[rule] = form.outcome
        notes.append(f"{rule.split('.', 1)[1]} {name}")
    events.append(Say(A, answer2))
    events.append(Say(C, "好的。"))
    hangup = _closing(rng, events, exp, notes)
    if forbidden:
        exp["phrase.forbidden"] = "fail"
    metadata = {"agent_id": f"A{agent_id}", "team": team, "started_at": started_at}
    tail = hangup.pop("tail_s", None)
    metadata.update(hangup)
    return CallSpec(call_id=call_id, events=tuple(events), expected=exp, notes="; ".join(notes),
                    agent=agent, customer=customer, audio_format=_pick(rng, FORMATS),
                    sample_rate=8000 if rng.random() < 0.5 else 16000, mono=mono, metadata=metadata, tail_s=tail)


def _closing(rng: np.random.Generator, events: list, exp: dict, notes: list) -> dict:
    """The call's end: the usual close, or a customer who stays on the line silent (scenario.linger),
    or one cut off; with who hung up in the metadata or not. Returns the metadata (and tail_s)."""
    ask = _pick(rng, ASK_MORE)
    draw = rng.random()
    if draw < 0.3:  # the customer stays on the line and says nothing
        events.append(Say(A, ask, ("closing",)))
        events.append(Pause(float(rng.uniform(3.6, 4.6))))  # under hold.procedure's 6 s
        way = _pick(rng, ("announced", "announced", "hung_up_at_once", "silent_hang_up"))
        if way == "silent_hang_up":
            exp.update({"scenario.linger": "fail", "closing.farewell": "fail", "closing.hangup_order": "fail"})
            notes.append("customer silent on the line; agent hangs up without a word")
            return {"hangup_by": "agent", "tail_s": 0.2}
        events.append(Say(A, "对不起,我挂线了。感谢您的来电,再见!", ("closing",)))
        if way == "announced":
            events.append(Pause(float(rng.uniform(2.5, 3.5))))
            exp.update({"scenario.linger": "pass", "closing.hangup_order": "pass"})
            notes.append("customer silent on the line; agent announces, waits, hangs up")
            return {"hangup_by": "agent"}
        exp.update({"scenario.linger": "fail", "closing.hangup_order": "pass"})
        notes.append("customer silent on the line; agent announces and hangs up at once")
        return {"hangup_by": "agent", "tail_s": 0.3}
    events += [Say(A, ask, ("closing",)), Say(C, "没有了。"), Say(A, _pick(rng, GOODBYE), ("closing",))]
    if draw < 0.45:  # the customer starts another question as the line goes dead
        events.append(Say(C, "哎,等一下,我还有一个问题想问一下你们的营业时间"))
        exp["closing.hangup_order"] = "fail"
        notes.append("customer cut off at the end")
        return {"tail_s": 0.05}
    if draw < 0.6:
        exp["closing.hangup_order"] = "fail"
        notes.append("agent hung up first (metadata)")
        return {"hangup_by": "agent"}
    if draw < 0.85:
        exp["closing.hangup_order"] = "pass"
        return {"hangup_by": "customer"}
    return {}  # nothing says who hung up, and the recording cannot tell: na
