"""How the agent talks: not over the customer, not too fast."""

from __future__ import annotations

from typing import Any

from qa.records import RuleResult
from qa.scoring.checks.base import CallView, finding, outcome, param
from qa.scoring.checks.kinds import Kind, Param, seconds
from qa.scoring.messages import detail


def check_interruption(rule: Any, call: CallView) -> RuleResult:
    """The agent starts talking while the customer's turn goes on, for at least `min_overlap_s`.

    The timeline's overlaps are whole episodes of double talk between turns, each
    naming who started over whom (`qa.transcribe.timeline.turn_overlaps`).
    """
    if not call.timeline.stereo:
        return outcome(rule, (), detail("talk.mono"), na=True)
    min_overlap_s = param(rule, "min_overlap_s")
    findings = []
    for ov in call.timeline.overlaps:
        if ov.interrupter != "agent" or ov.end_s - ov.start_s < min_overlap_s:
            continue
        said = call.said("agent", ov.start_s, ov.end_s, "said.interrupting")
        findings.append(finding(rule, ov.start_s, ov.end_s, "talk.interruption", seconds=ov.end_s - ov.start_s,
                                said=said))
    return outcome(rule, findings, detail("talk.interruptions", count=len(findings)))


def han_count(text: str) -> int:
    return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")


def check_speech_rate(rule: Any, call: CallView) -> RuleResult:
    """Agent Han characters per minute of agent speech time (from the signal)."""
    limit = param(rule, "max_chars_per_minute")
    min_speech_s = param(rule, "min_speech_s")
    seconds = call.speech_seconds("agent")
    agent = [u for u in call.utterances if u.role == "agent"]
    chars = sum(han_count(u.text) for u in agent)
    if seconds < min_speech_s or not chars:
        return outcome(rule, (), detail("talk.too_little", seconds=seconds), na=True)
    rate = chars * 60.0 / seconds
    summary = detail("talk.rate", rate=rate, seconds=seconds)
    if rate <= limit:
        return outcome(rule, (), summary)
    # Point the inspector at the densest utterance as an example.
    fastest = max(agent, key=lambda u: han_count(u.text) / max(u.end_s - u.start_s, 0.5))
    # The rate is the call's; the example line is its anchor only loosely, so the finding's id rests on 0.
    found = finding(rule, fastest.start_s, fastest.end_s, "talk.too_fast", anchor_s=0.0, rate=rate, limit=limit,
                    said=fastest.text)
    return outcome(rule, [found], summary)


INTERRUPTION = Kind(check_interruption, params={"min_overlap_s": seconds(0, 60)})
SPEECH_RATE = Kind(check_speech_rate, params={
    "max_chars_per_minute": Param(float, 0, 5000, "characters per minute", min_exclusive=True),
    "min_speech_s": Param(float, 0, 3600, "seconds")})
