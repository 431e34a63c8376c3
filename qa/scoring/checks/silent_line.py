"""无声电话: the procedure when the customer says nothing.

Greet, pause, greet again, say the no-sound closing line, pause, hang up;
never threaten the caller (喂,说话呀). Each missed step is its own finding so
an inspector sees which step went wrong. Pauses come from the signal.
"""

from __future__ import annotations

from typing import Any

from qa.records import Finding, Interval, Match, RuleResult
from qa.scoring.checks.base import CallView, all_speech, finding, outcome, param, silences

# Speech-activity edges are blurred by a frame or two of hangover; a pause
# measured this much short of the limit is not held against the agent.
DEFAULT_EDGE_SLACK_S = 0.25


def _separate(matches: list[Match]) -> list[Match]:
    """Greeting matches that do not overlap in time (two phrases over one span count once)."""
    kept: list[Match] = []
    for m in matches:
        if not kept or m.start_s >= kept[-1].end_s:
            kept.append(m)
    return kept


def _pause(call: CallView, first: Match, second: Match) -> Interval | None:
    """The longest silence between two spoken lines (lines themselves have no long gaps)."""
    gaps = silences(all_speech(call), first.start_s, second.end_s)
    return max(gaps, key=lambda iv: iv.duration_s, default=None)


def _pause_finding(rule: Any, call: CallView, first: Match, second: Match, what: str,
                   pause_s: float, slack_s: float) -> Finding | None:
    gap = _pause(call, first, second)
    measured = gap.duration_s if gap else 0.0
    if measured >= pause_s - slack_s:
        return None
    span = gap or second
    return finding(rule, span.start_s, span.end_s,
                   f"无声电话: {what}停顿{measured:.1f}秒, 少于{pause_s:g}秒", match=second)


def _turns(call: CallView, roles: tuple[str, ...], bridge_s: float) -> list[Interval]:
    """The agent's speech runs, short gaps bridged: each is one attempt to reach the caller."""
    runs: list[Interval] = []
    for iv in sorted((iv for r in roles for iv in call.speech(r)), key=lambda i: i.start_s):
        if runs and iv.start_s - runs[-1].end_s < bridge_s:
            runs[-1] = Interval(runs[-1].start_s, max(runs[-1].end_s, iv.end_s))
        else:
            runs.append(iv)
    return runs


def _greetings(rule: Any, call: CallView, roles: tuple[str, ...], before_s: float, pause_s: float) -> list[Match]:
    """Greeting attempts before the closing line.

    A matched greeting phrase (this rule's, or the opening rule's) counts; so
    does any other agent turn that is not a threat, because a garbled
    recognition of 您好,请问有什么可以帮助您 is still a greeting to a caller
    who hears nothing.
    """
    phrases = call.matches(rule, "greeting", roles=roles)
    for other in call.rules.values():
        if other.kind == "greeting" and other.phrases.get("greeting"):
            phrases += call.matches(other, "greeting", roles=roles)
    threats = call.matches(rule, "threat", roles=roles)
    attempts = [m for m in phrases if m.start_s < before_s]
    for turn in _turns(call, roles, bridge_s=min(1.0, pause_s / 2)):
        if turn.start_s >= before_s or any(t.start_s < turn.end_s and t.end_s > turn.start_s for t in threats):
            continue
        if not any(m.start_s < turn.end_s and m.end_s > turn.start_s for m in attempts):
            attempts.append(Match("", "", -1, (0, 0), 0.0, turn.start_s, turn.end_s, "agent"))
    return _separate(sorted(attempts, key=lambda m: (m.start_s, m.end_s)))


def _steps(rule: Any, call: CallView, pause_s: float, slack_s: float) -> list[Finding]:
    findings: list[Finding | None] = []
    roles = call.required_roles(rule)
    closings = call.matches(rule, "silent_closing", roles=roles)
    end = call.timeline.duration_s
    greetings = _greetings(rule, call, roles, closings[0].start_s if closings else end, pause_s)
    if not greetings:
        findings.append(finding(rule, 0.0, end, "无声电话: 坐席没有问候"))
    elif len(greetings) < 2:
        g1 = greetings[0]
        findings.append(finding(rule, g1.start_s, end, f"无声电话: 没有再次问候 (只有一次: {g1.text or '问候'})",
                                match=g1 if g1.phrase else None))
    else:
        findings.append(_pause_finding(rule, call, greetings[0], greetings[1], "两次问候之间", pause_s, slack_s))
        if closings:
            findings.append(_pause_finding(rule, call, greetings[1], closings[0], "结束语之前", pause_s, slack_s))
    last = call.last_speech_end()
    if not closings:
        findings.append(finding(rule, max(0.0, last - 5.0), last, "无声电话: 没有说无声结束语"))
    trailing = max(0.0, end - last)
    if (greetings or closings) and trailing < pause_s - slack_s:
        findings.append(finding(
            rule, last, end, f"无声电话: 说完后立即挂机 (停顿{trailing:.1f}秒, 应至少{pause_s:g}秒)",
            match=closings[-1] if closings else None,
        ))
    for m in call.matches(rule, "threat", roles=("agent",)):
        findings.append(finding(rule, m.start_s, m.end_s, f"无声电话: 催促/威胁客户: {m.text}", match=m))
    return [f for f in findings if f is not None]


def check_silent_line(rule: Any, call: CallView) -> RuleResult:
    if not call.customer_barely_speaks(rule):
        return outcome(rule, (), f"the customer spoke ({call.others_speech_seconds():.1f} s)", na=True)
    pause_s = param(rule, "pause_s", 2.0)
    slack_s = param(rule, "edge_slack_s", DEFAULT_EDGE_SLACK_S)
    findings = _steps(rule, call, pause_s, slack_s)
    return outcome(rule, findings, "; ".join(f.evidence for f in findings) or "procedure followed")
