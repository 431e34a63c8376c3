"""Random calls for benches: other voices and wordings than the committed samples.

Each call is drawn from a seeded RNG: company, topic, voices, format, and which
rules it breaks; the expected outcomes follow from those draws. A `Cast` says
who speaks, how fast, and where customer turns come from; other sets (hard.py)
bring their own cast to the same call logic.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from .scenario import CallSpec, Hold, Pause, Ring, Say, Trunk, Voice, call_rng, expected_outcomes

A, C = "agent", "customer"
# Not the samples' voices; zf_xiaoni is left out: Whisper understands it poorly (CER ~0.45).
VOICES = ("zf_xiaoxiao", "zm_yunxia", "zm_yunyang", "zf_xiaoxiao+zf_xiaoyi",
          "zm_yunxia+zm_yunyang", "zf_xiaobei+zf_xiaoxiao", "zm_yunjian+zm_yunyang")
FORMATS = ("wav-pcm16", "wav-ulaw", "flac", "mp3", "ogg")
COMPANIES = (("宇鑫公司客服中心", "账务组"), ("富茂汽车客服部", "售后组"),
             ("星辰游戏客服中心", "玩家组"), ("绿城物业服务中心", "物业组"))
GREETINGS = ("您好,{co},工号{id},请问有什么可以帮您?", "您好,欢迎致电{co},{id}号为您服务。",
             "您好,{co}{id}号为您服务,请问您需要什么帮助?")
HOLIDAY = "{day}好!{co},{id}号为您服务,请问您需要什么帮助?"
NO_GREETING = ("你好,请讲。", "嗯,你说吧。", "什么问题?")
APOLOGY = "对不起,刚才因为线路忙,让您久等了!"
ASK_MORE = ("请问还有什么可以帮助您?", "请问您还需要其它帮助吗?", "您还需要什么帮助吗?")
GOODBYE = ("感谢您的来电,再见!", "感谢您的来电,如有问题请再与我们联系,再见!",
           "感谢您的来电,若有问题请再次来电,谢谢再见!")
HOLD_ASK = ("请您稍等,我帮您查询一下。", "对不起,请您稍等片刻,好吗?", "请您稍等,我帮您核实一下。")
HOLD_THANK = ("感谢您的耐心等待。", "对不起,让您久等了。")
# (phrases from 第二篇 (二) 服务忌语, the agent's line containing them)
TABOO = ((("我不清楚",), "这个我不清楚,你问别人吧。"), (("你问我,我问谁",), "你问我,我问谁?"),
         (("我要下班了", "你明天再打来"), "我要下班了,你明天再打来。"),
         (("你真罗嗦",), "你真罗嗦,我已经说过了。"), (("刚才不是告诉你了吗",), "刚才不是告诉你了吗?"),
         (("这事与我无关",), "这事与我无关。"), (("慢慢讲,急什么",), "慢慢讲,急什么?"))
SILENT_CLOSE = ("对不起,您的电话没有声音,请您换一部电话再次打来,好吗?再见!",
                "很抱歉,您的电话没有声音,请稍后再拨,再见!")
SILENT_RUDE = ((("喂,说话呀", "再不说话我就挂了"), "喂,说话呀!再不说话我就挂了!"),
               (("喂,有没有声音,说吧",), "喂,有没有声音,说吧!"), (("喂,你出声啦",), "喂,你出声啦!"))
# (customer's long statement, agent answer, customer follow-up, agent answer)
TOPICS = (
    ("我想问一下上个月的账单为什么多扣了二十元,我记得自己没有开通什么新业务。",
     "我帮您看一下,多出的二十元是国际漫游的费用。", "可是我上个月根本没有出国。",
     "好的,我已经为您提交了核查申请,三个工作日内给您回复。"),
    ("我家的宽带今天早上开始一直断断续续的,看视频总是卡住,路由器也重启过好几次了。",
     "我看到您所在的片区今天有线路维护。", "那大概什么时候能修好?", "预计今天晚上八点以前恢复正常。"),
    ("我的游戏账号昨天晚上突然登不上去了,提示说账号被冻结,我什么违规的事情都没有做。",
     "我帮您查一下,您的账号因为异地登录被系统保护了。", "那要怎么解冻?",
     "您在官网验证手机号码以后就可以马上解冻。"),
    ("我们楼的电梯从前天开始就一直停在三楼不动,家里有老人,上下楼特别不方便。",
     "非常抱歉给您带来不便,维修人员已经在处理了。", "什么时候能修好?", "明天中午以前一定修好。"),
    ("我上个月在你们店里修的车,刹车还是有点软,踩下去的时候感觉不太踏实。",
     "这个情况需要到店里检查一下。", "周末可以去吗?", "周六上午可以,我帮您登记好了。"),
    ("我网购的一双鞋尺码不合适,想退货,可是页面上的退货按钮是灰色的,点不了。",
     "您的订单已经超过了七天的自助退货期。", "那还能退吗?", "可以的,我这边帮您手工办理退货。"),
    ("我想把现在的套餐换成流量多一点的,最近经常用手机开视频会议,流量总是不够用。",
     "我们有一个每月一百元的套餐,包含四十个G的流量。", "下个月能生效吗?", "可以,下个月一号开始生效。"),
    ("我的快递显示已经签收了,可是我一直在家,根本没有人给我送过东西。",
     "我帮您联系一下配送站核实情况。", "好的,麻烦你们快一点。", "配送站说是放在了驿站,他们会送上门。"),
)
OPENERS = ("你好。", "喂,你好。", "你好,我想咨询一下。")
THANKS = ("好的,谢谢。", "行,知道了。", "好,谢谢你。")
# Speeds on a 0.1 grid so that repeated lines hit the synthesis cache.
USUAL_SPEEDS = (1.0, 1.1, 1.2)
FAST_SPEEDS = (1.8, 1.9, 2.0)  # well over talk.speech_rate's limit: labelled fail


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


@dataclass(frozen=True)
class Pace:
    speed: float
    fast: bool  # labelled talk.speech_rate fail, its lines tagged `fast`
    note: str | None = None


@dataclass(frozen=True)
class Cast:
    """The generated set's speakers: its voices, the agent's pace, TTS customer turns."""

    voices: tuple[str, ...] = VOICES
    id_prefix: str = "gen"
    stream: int = 1  # the RNG stream of the set, so that sets with one seed differ

    def agent_pace(self, rng: np.random.Generator, voice: str) -> Pace:
        if rng.random() < 0.1:
            return Pace(_pick(rng, FAST_SPEEDS), True, "agent speaks far too fast")
        return Pace(_pick(rng, USUAL_SPEEDS), False)

    def customer_speed(self, rng: np.random.Generator, voice: str) -> float:
        return _pick(rng, USUAL_SPEEDS)

    def customer_turn(self, rng: np.random.Generator, turn: str, text: str,
                      tags: tuple[str, ...] = ()) -> tuple[Say, str | None]:
        """The customer's `turn` ('statement' or 'follow_up') and a note about it, if any."""
        return Say(C, text, tags), None


def generated_specs(count: int, seed: int) -> list[CallSpec]:
    return cast_specs(Cast(), count, seed)


# The IVR of a trunk-side recording: its welcome and menu, the key pressed, its transfer prompt.
IVR_MENUS = (("您好,欢迎致电{co}。普通话服务请按1,English service please press 2。", "1"),
             ("欢迎致电{co},本次通话可能会被录音。查询业务请按1,人工服务请按0。", "0"),
             ("您好,这里是{co}。咨询请按1,投诉建议请按2,返回上级菜单请按星号键。", "2"))
IVR_TRANSFERS = ("正在为您转接人工服务,请稍候。", "坐席正忙,请您耐心等待。")
IVR_VOICE = "zf_xiaoni"  # a voice no agent or customer of these sets speaks with


def trunk_specs(count: int, seed: int) -> list[CallSpec]:
    """Generated calls recorded on the trunk: each opens with the IVR, a key press and queue
    music, then ringback (in most) before the agent answers. Their own RNG stream and ids."""
    return [trunk_opening(spec, seed) for spec in cast_specs(Cast(id_prefix="trunk", stream=3), count, seed)]


def trunk_opening(spec: CallSpec, seed: int) -> CallSpec:
    """`spec` with the IVR in front; without ringback after the queue the rings are unknown (na)."""
    rng = call_rng(seed + 2, spec.call_id)
    company = next((co for co, _ in COMPANIES if any(isinstance(e, Say) and co in e.text for e in spec.events)),
                   COMPANIES[0][0])
    menu, key = _pick(rng, IVR_MENUS)
    opening = Trunk(menu.format(co=company), key, _pick(rng, IVR_TRANSFERS), float(rng.uniform(4.0, 15.0)),
                    IVR_VOICE)
    events, expected, notes = list(spec.events), dict(spec.expected), [spec.notes, "trunk-side: IVR, key, music"]
    if rng.random() < 0.3 and isinstance(events[0], Ring):
        events.pop(0)
        expected.update({"answer.rings": "na", "answer.late_apology": "na"})
        notes.append("no ringback")
    return replace(spec, events=(opening, *events), expected=expected, notes="; ".join(notes))


def cast_specs(cast: Cast, count: int, seed: int) -> list[CallSpec]:
    rng = np.random.default_rng([seed, cast.stream])
    start = datetime(2024, 6, 3, 8, 30)
    specs = []
    for i in range(count):
        call_id = f"{cast.id_prefix}{seed:03d}_{i + 1:04d}"
        started = start + timedelta(minutes=int(i * 7 + rng.integers(0, 5)))
        specs.append(_random_call(call_id, rng, started.isoformat(), cast))
    return specs


def _random_call(call_id: str, rng: np.random.Generator, started_at: str, cast: Cast) -> CallSpec:
    company, team = _pick(rng, COMPANIES)
    agent_id = str(1100 + 37 * int(rng.integers(0, 4)) + 500 * COMPANIES.index((company, team)))
    voices = rng.permutation(len(cast.voices))
    agent_voice, customer_voice = cast.voices[voices[0]], cast.voices[voices[1]]
    quiet = rng.random() < 0.15
    pace = cast.agent_pace(rng, agent_voice)
    fast = pace.fast
    agent = Voice(agent_voice, pace.speed, float(rng.uniform(-32, -28) if quiet else rng.uniform(-24, -18)))
    customer = Voice(customer_voice, cast.customer_speed(rng, customer_voice),
                     float(rng.uniform(-33, -28) if quiet else rng.uniform(-25, -18)))
    mono = rng.random() < 0.15
    audio_format = _pick(rng, FORMATS)
    rate = 8000 if audio_format == "wav-ulaw" or rng.random() < 0.5 else 16000
    greeting = _pick(rng, GREETINGS).format(co=company, id=agent_id)
    tag_fast = ("fast",) if fast else ()
    exp = expected_outcomes(talk__interruption="na" if mono else "pass", talk__speech_rate="fail" if fast else "pass")
    notes = []
    rings = int(rng.integers(1, 4))
    events = [Ring(rings, "cn" if rng.random() < 0.85 else "na", bool(rng.random() < 0.3))]

    if rng.random() < 0.08:  # a silent line
        exp["closing.farewell"] = "na"
        events.append(Say(A, greeting, ("greeting",) + tag_fast))
        if rng.random() < 0.5:
            pause = float(rng.uniform(2.5, 5.5))
            events += [Say(A, "您好,请问有什么可以帮助您?", ("greeting",) + tag_fast, gap=pause),
                       Say(A, _pick(rng, SILENT_CLOSE), ("silent_closing",) + tag_fast, gap=pause),
                       Pause(pause)]
            exp["silent_line.procedure"] = "pass"
            notes.append("silent line handled")
        else:
            phrases, line = _pick(rng, SILENT_RUDE)
            events += [Say(A, line, ("forbidden", "threat") + tag_fast, phrases, gap=float(rng.uniform(2, 4))),
                       Pause(1.0)]
            exp.update({"silent_line.procedure": "fail", "phrase.forbidden": "fail"})
            if exp["talk.speech_rate"] == "fail":  # a fast agent's greeting and threat: under the rule's 5 s of speech
                exp["talk.speech_rate"] = "na"
            notes.append("silent line handled wrong")
        return _spec(call_id, events, exp, notes, agent, customer, audio_format, rate, mono,
                     agent_id, team, started_at)

    if rng.random() < 0.25:
        rings = int(rng.integers(4, 7))
        events[0] = Ring(rings, events[0].style, events[0].both_channels)
        exp["answer.rings"] = "fail"
        apologizes = rng.random() < 0.6
        exp["answer.late_apology"] = "pass" if apologizes else "fail"
        notes.append(f"{rings} rings, " + ("apology" if apologizes else "no apology"))
    else:
        apologizes = False
    if rng.random() < 0.12:
        events.append(Say(A, _pick(rng, NO_GREETING), tag_fast))
        exp["greeting.opening"] = "fail"
        notes.append("no greeting")
    elif rng.random() < 0.15:
        day = _pick(rng, ("节日", "周末", "新年"))
        events.append(Say(A, HOLIDAY.format(day=day, co=company, id=agent_id), ("greeting",) + tag_fast))
    else:
        events.append(Say(A, greeting, ("greeting",) + tag_fast))
    if apologizes:
        events.append(Say(A, APOLOGY, ("apology",) + tag_fast))

    long_line, answer, follow_up, answer2 = _pick(rng, TOPICS)
    opener = _pick(rng, OPENERS)
    statement, note = cast.customer_turn(rng, "statement", opener + long_line, ("trap",) if "喂" in opener else ())
    events.append(statement)
    if note:
        notes.append(note)
    if rng.random() < 0.15:
        events.append(Say(A, answer, ("interruption",) + tag_fast, overlap=float(rng.uniform(1.5, 3.0))))
        if not mono:
            exp["talk.interruption"] = "fail"
        notes.append("agent talks over the customer")
    else:
        events.append(Say(A, answer, tag_fast))
    said, note = cast.customer_turn(rng, "follow_up", follow_up)
    events.append(said)
    if note:
        notes.append(note)
    if rng.random() < 0.3:
        asks, thanks = rng.random() < 0.75, rng.random() < 0.75
        if asks:
            events.append(Say(A, _pick(rng, HOLD_ASK), ("hold_request",) + tag_fast))
        events.append(Hold(float(rng.uniform(6, 14)), music=bool(rng.random() < 0.6)))
        if thanks:
            events.append(Say(A, _pick(rng, HOLD_THANK), ("hold_thanks",) + tag_fast))
        exp["hold.procedure"] = "pass" if asks and thanks else "fail"
        notes.append("hold " + ("asked and thanked" if asks and thanks else "not announced or not thanked"))
    events.append(Say(A, answer2, tag_fast))
    if rng.random() < 0.25:
        phrases, line = _pick(rng, TABOO)
        events += [Say(C, "你能再说清楚一点吗?"), Say(A, line, ("forbidden",) + tag_fast, phrases)]
        exp["phrase.forbidden"] = "fail"
        notes.append("taboo: " + "、".join(phrases))
    if rng.random() < 0.3:
        events.append(Say(A, "如果您还有不清楚的地方请随时来电。", ("trap",) + tag_fast))
    events.append(Say(C, _pick(rng, THANKS)))
    if rng.random() < 0.15:
        events.append(Say(A, "好,就这样吧。", tag_fast))
        exp["closing.farewell"] = "fail"
        notes.append("no closing")
    else:
        events += [Say(A, _pick(rng, ASK_MORE), ("closing",) + tag_fast), Say(C, "没有了。"),
                   Say(A, _pick(rng, GOODBYE), ("closing",) + tag_fast)]
    if pace.note:
        notes.append(pace.note)
    return _spec(call_id, events, exp, notes, agent, customer, audio_format, rate, mono,
                 agent_id, team, started_at)


def _spec(call_id, events, exp, notes, agent, customer, audio_format, rate, mono,
          agent_id, team, started_at) -> CallSpec:
    return CallSpec(
        call_id=call_id, events=tuple(events), expected=exp,
        notes="; ".join(notes) or "compliant", agent=agent, customer=customer,
        audio_format=audio_format, sample_rate=rate, mono=mono,
        metadata={"agent_id": f"A{agent_id}", "team": team, "started_at": started_at},
    )
