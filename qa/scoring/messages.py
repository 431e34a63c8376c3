"""Every text a check writes, in one table, looked up by key.

A finding stores its message key and the values filled in (`findings.message`,
`findings.message_args`) beside the rendered evidence, so an interface can
show it in another language from its own catalog, and a verdict is matched to
the same kind of finding after a rescore (the key says which mandated line or
which step was missing). `detail` texts explain a rule's outcome.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DETAILS", "EVIDENCE", "NEAR_MISS_MARK", "RING_SOURCES", "detail", "evidence"]

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
    # scenario rules (kind response): the trigger, then the answer or its absence
    "response.no_answer": "{at:.1f}秒 对方说“{trigger}”, 坐席{within:g}秒内没有按规范回应: {said}",
    "response.not_allowed": "{at:.1f}秒 对方说“{trigger}”, 坐席回应了不可以说的话: {said}",
    "response.trigger_by_sound": "{said}(录音核实为“{wording}”, 得分{score:+.2f})",
    "response.hung_up_at_once": "{at:.1f}秒 “{trigger}”之后, 坐席说完即挂机(停顿{measured:.1f}秒, 应至少{limit:g}秒)",
    # addressing by surname, hang-up order
    "surname.unused": "客户说了姓氏“{surname}”(“{said}”), 之后坐席没有称呼{surname}先生/女士",
    "hangup.agent_first": "通话记录: 坐席先挂机, 没有按流程结束: {said}",
    "hangup.cut_off": "录音结束时客户还在说话(推断坐席挂断, 离结束{left:.1f}秒): {said}",
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

# where a ring count came from, as the details name it
RING_SOURCES = {"detected": "录音检测", "metadata": "通话记录", "none": "无"}

DETAILS: dict[str, str] = {
    "no_ring_info": "没有回铃信息",
    "rings.count": "响铃{count}声(来源: {source}), 上限{limit}声",
    "late_apology.in_time": "及时接听(响铃{count}声)",
    "late_apology.agent_silent": "坐席没有说话",
    "late_apology.found": "{at:.1f}秒处致歉",
    "late_apology.missing": "坐席开口后{window:g}秒内没有致歉",
    "greeting.found": "{at:.1f}秒处问候(相似度{similarity:.2f})",
    "greeting.missing": "开头时段内没有问候语",
    "greeting.near_miss": "开头时段内没有问候语; 最接近的相似度{similarity:.2f}",
    "greeting.by_parts": "问候语按组成部分齐全: {parts}",
    "greeting.by_sound": "问候语按组成部分齐全, 部分经录音核实: {parts}",
    "greeting.no_salutation": "; 未听到“您好”(可能是识别误差)",
    "greeting.part": "{group} {text!r} 在{at:.1f}秒",
    "silent_line.judges_closing": "无声电话: 结束语由无声电话规则判定",
    "closing.found": "{group} 在{at:.1f}秒",
    "by_sound": "{group} 经录音核实, 在{at:.1f}秒: {wording!r}(得分{score:+.2f}, 识别为{heard!r})",
    "forbidden.unconfirmed": "; {count}处低相似度命中经录音核实未采纳",
    "closing.none": "没有结束语",
    "forbidden.count": "{count}处服务忌语",
    "silent_line.customer_spoke": "客户说了话({seconds:.1f}秒)",
    "silent_line.followed": "按流程处理",
    "hold.silent_line": "无声电话: 没有让客户等待",
    "hold.none": "没有{min_hold:g}秒以上的静默",
    "hold.found": "等待 {start:.1f}-{end:.1f}秒",
    "talk.mono": "单声道录音: 无法区分抢话",
    "talk.interruptions": "打断客户{count}次",
    "talk.too_little": "坐席只说了{seconds:.1f}秒, 不足以判断",
    "talk.rate": "语速{rate:.0f}字/分钟(共{seconds:.0f}秒)",
    "response.no_trigger": "没有出现该情形",
    "response.answered": "{at:.1f}秒 “{trigger}” → “{answer}”({after:.1f}秒后)",
    "response.count": "{count}处未按规范回应",
    "surname.not_given": "客户没有说姓氏",
    "surname.no_chance": "客户说姓氏“{surname}”后坐席只说了{spoken:.1f}秒",
    "surname.used": "坐席称呼客户“{surname}”: {address!r}(在{at:.1f}秒)",
    "surname.unused_detail": "没有称呼客户的姓氏“{surname}”",
    "hangup.metadata": "来源: 通话记录",
    "hangup.customer_first": "客户先挂机({source})",
    "hangup.by_procedure": "坐席按流程结束后挂机: {said}",
    "hangup.silent": "无声电话",
    "hangup.inferred_sure": "由录音推断(把握较高, 也可能是线路中断)",
    "hangup.waited": "由录音推断: 坐席说完后等待{waited:.1f}秒(把握一般)",
    "hangup.unknown": "通话记录没有挂机方, 录音也无法判断谁先挂机",
}


def evidence(key: str, **values: Any) -> str:
    return EVIDENCE[key].format(**values)


def detail(key: str, **values: Any) -> str:
    return DETAILS[key].format(**values)
