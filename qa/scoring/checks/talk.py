"""How the agent talks: not over the customer, not too fast."""

from __future__ import annotations

from typing import Any

from qa.records import Interval, RuleResult
from qa.scoring.checks.base import CallView, finding, outcome, param, utterance_text_between


DEFAULT_BRIDGE_S = 0.5


def turns(intervals, bridge_s: float) -> list[Interval]:
    """Speech runs with pauses shorter than `bridge_s` bridged.

    During double talk each channel's activity breaks into fragments (the
    other voice bleeds in and is gated out), so pairwise overlaps of raw
    intervals come out as many 0.2 s slivers; whole turns do not.
    """
    runs: list[Interval] = []
    for iv in sorted(intervals, key=lambda i: i.start_s):
        if runs and iv.start_s - runs[-1].end_s <= bridge_s:
            runs[-1] = Interval(runs[-1].start_s, max(runs[-1].end_s, iv.end_s))
        else:
            runs.append(iv)
    return runs


def check_interruption(rule: Any, call: CallView) -> RuleResult:
    """The agent starts a turn while the customer's turn goes on, for at least `min_overlap_s`."""
    if not call.timeline.stereo:
        return outcome(rule, (), "mono recording: overlaps cannot be told apart", na=True)
    min_overlap_s = param(rule, "min_overlap_s", 1.0)
    bridge_s = param(rule, "bridge_s", DEFAULT_BRIDGE_S)
    customer = turns(call.speech("customer"), bridge_s)
    findings = []
    for a in turns(call.speech("agent"), bridge_s):
        for c in customer:
            if not c.start_s < a.start_s < c.end_s:
                continue
            end = min(a.end_s, c.end_s)
            if end - a.start_s < min_overlap_s:
                continue
            said = utterance_text_between(call, "agent", a.start_s, end) or "(坐席插话)"
            findings.append(finding(rule, a.start_s, end, f"打断客户{end - a.start_s:.1f}秒: {said}"))
    return outcome(rule, findings, f"{len(findings)} interruption(s)")


def han_count(text: str) -> int:
    return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")


def check_speech_rate(rule: Any, call: CallView) -> RuleResult:
    """Agent Han characters per minute of agent speech time (from the signal)."""
    limit = param(rule, "max_chars_per_minute", 300.0)
    min_speech_s = param(rule, "min_speech_s", 10.0)
    seconds = call.speech_seconds("agent")
    agent = [u for u in call.utterances if u.role == "agent"]
    chars = sum(han_count(u.text) for u in agent)
    if seconds < min_speech_s or not chars:
        return outcome(rule, (), f"agent spoke {seconds:.1f} s: too little to judge", na=True)
    rate = chars * 60.0 / seconds
    detail = f"{rate:.0f} chars/min over {seconds:.0f} s"
    if rate <= limit:
        return outcome(rule, (), detail)
    # Point the inspector at the densest utterance as an example.
    fastest = max(agent, key=lambda u: han_count(u.text) / max(u.end_s - u.start_s, 0.5))
    evidence = f"语速{rate:.0f}字/分钟, 超过{limit:g}: {fastest.text}"
    return outcome(rule, [finding(rule, fastest.start_s, fastest.end_s, evidence)], detail)
