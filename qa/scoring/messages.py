"""Every text a check writes, in one table, looked up by key.

A finding stores its message key and the values filled in (`findings.message`,
`findings.message_args`) beside the rendered evidence, so an interface can
show it in another language from its own catalog, and a verdict is matched to
the same kind of finding after a rescore (the key says which mandated line or
which step was missing). `detail` texts explain a rule's outcome.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DETAILS", "EVIDENCE", "NEAR_MISS_MARK", "detail", "evidence"]

NEAR_MISS_MARK = "疑似识别误差"  # how the evidence says a missing line was likely misheard

EVIDENCE: dict[str, str] = {
    # answer.rings, answer.late_apology
    "rings.late": "响铃{count}声才接听(上限{limit}声)",
    "late_apology.agent_silent": "接听晚了, 坐席没有说话",
    "late_apology.missing": "接听晚了, 开头没有致歉: {said}",
    # greeting.opening, closing.farewell
    "greeting.missing": "开头{window:g}秒内没有标准问候语: {said}",
    "closing.no_offer_help": "结束前没有询问是否还需要帮助: {said}",
    "closing.no_farewell": "没有标准结束语: {said}",
    # phrase.forbidden
    "forbidden.said": "{said}",
    "forbidden.unattributed": "(单声道录音, 说话人未确认) {said}",
    # silent_line.procedure
    "silent_line.no_greeting": "无声电话: 坐席没有问候",
    "silent_line.one_greeting": "无声电话: 没有再次问候 (只有一次: {said})",
    "silent_line.short_pause_between_greetings": "无声电话: 两次问候之间停顿{measured:.1f}秒, 少于{limit:g}秒",
    "silent_line.short_pause_before_closing": "无声电话: 结束语之前停顿{measured:.1f}秒, 少于{limit:g}秒",
    "silent_line.no_closing": "无声电话: 没有说无声结束语",
    "silent_line.hung_up_at_once": "无声电话: 说完后立即挂机 (停顿{measured:.1f}秒, 应至少{limit:g}秒)",
    "silent_line.threat": "无声电话: 催促/威胁客户: {said}",
    # hold.procedure
    "hold.no_request": "让客户等待{hold:.0f}秒前没有征询客户意见",
    "hold.no_thanks": "等待{hold:.0f}秒后没有感谢或致歉",
    # talk.interruption, talk.speech_rate
    "talk.interruption": "打断客户{seconds:.1f}秒: {said}",
    "talk.too_fast": "语速{rate:.0f}字/分钟, 超过{limit:g}: {said}",
    # appended to a missing line's evidence
    "near_miss": "; " + NEAR_MISS_MARK + ": “{heard}”接近“{phrase}”(相似度{similarity:.2f}), 请听录音核实",
    # appended when the audio was asked and said no
    "sound_rejected": "; 录音核实: 最接近的“{wording}”得分{score:+.2f}, 低于{limit:+.2f}, 未采纳",
    "forbidden.by_sound": "(录音核实: “{wording}”得分{score:+.2f}) {said}",
    # what stands for words not said
    "said.nothing": "(坐席未说话)",
    "said.none": "(无)",
    "said.interrupting": "(坐席插话)",
    "said.greeting": "问候",
}

DETAILS: dict[str, str] = {
    "no_ring_info": "no ringback information",
    "rings.count": "{count} rings ({source}), limit {limit}",
    "late_apology.in_time": "answered in time ({count} rings)",
    "late_apology.agent_silent": "agent never spoke",
    "late_apology.found": "apology at {at:.1f} s",
    "late_apology.missing": "no apology within {window:g} s of the agent's first words",
    "greeting.found": "greeting at {at:.1f} s ({similarity:.2f})",
    "greeting.missing": "no greeting in the opening window",
    "greeting.near_miss": "no greeting in the opening window; near miss {similarity:.2f}",
    "greeting.by_parts": "greeting by its parts: {parts}",
    "greeting.by_sound": "greeting by its parts, some by sound: {parts}",
    "greeting.no_salutation": "; no salutation heard (您好 may be misrecognized)",
    "greeting.part": "{group} {text!r} at {at:.1f} s",
    "silent_line.judges_closing": "silent line: the silent-line rule judges the closing",
    "closing.found": "{group} at {at:.1f} s",
    "by_sound": "{group} by sound at {at:.1f} s: {wording!r} (score {score:+.2f}, heard {heard!r})",
    "forbidden.unconfirmed": "; {count} low-similarity hit(s) rejected by sound",
    "closing.none": "no closing phrase",
    "forbidden.count": "{count} forbidden phrase(s)",
    "silent_line.customer_spoke": "the customer spoke ({seconds:.1f} s)",
    "silent_line.followed": "procedure followed",
    "hold.silent_line": "silent line: nobody is on hold",
    "hold.none": "no silence of {min_hold:g} s or more",
    "hold.found": "hold {start:.1f}-{end:.1f} s",
    "talk.mono": "mono recording: overlaps cannot be told apart",
    "talk.interruptions": "{count} interruption(s)",
    "talk.too_little": "agent spoke {seconds:.1f} s: too little to judge",
    "talk.rate": "{rate:.0f} chars/min over {seconds:.0f} s",
}


def evidence(key: str, **values: Any) -> str:
    return EVIDENCE[key].format(**values)


def detail(key: str, **values: Any) -> str:
    return DETAILS[key].format(**values)
