"""How the agent talks: not over the customer, not too fast."""

from __future__ import annotations

from typing import Any

from qa.records import RuleResult
from qa.scoring.checks.base import CallView, finding, outcome, param, utterance_text_between


def check_interruption(rule: Any, call: CallView) -> RuleResult:
    """The agent starts talking while the customer's turn goes on, for at least `min_overlap_s`.

    The timeline's overlaps are whole episodes of double talk between turns, each
    naming who started over whom (`qa.transcribe.timeline.turn_overlaps`).
    """
    if not call.timeline.stereo:
        return outcome(rule, (), "mono recording: overlaps cannot be told apart", na=True)
    min_overlap_s = param(rule, "min_overlap_s", 1.0)
    findings = []
    for ov in call.timeline.overlaps:
        if ov.interrupter != "agent" or ov.end_s - ov.start_s < min_overlap_s:
            continue
        said = utterance_text_between(call, "agent", ov.start_s, ov.end_s) or "(坐席插话)"
        findings.append(finding(rule, ov.start_s, ov.end_s, f"打断客户{ov.end_s - ov.start_s:.1f}秒: {said}"))
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
