"""无声电话: the procedure when the customer says nothing.

Greet, pause, greet again, say the no-sound closing line, pause, hang up;
never threaten the caller (喂,说话呀). Each missed step is its own finding so
an inspector sees which step went wrong. Pauses come from the signal.
"""

from __future__ import annotations

from typing import Any

from qa.records import Finding, Interval, Match, RuleResult
from qa.scoring.checks import sound
from qa.scoring.checks.base import CallView, all_speech, finding, outcome, param, silences
from qa.scoring.checks.kinds import SIMILARITY, SOUND_SCORE, Kind, Param, seconds
from qa.scoring.messages import detail, evidence

# The words that show the procedure was followed on mono, where the voices cannot prove a silent customer.
PROCEDURE_WORDS = ("silent_closing", "threat")


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


def _pause_finding(rule: Any, call: CallView, first: Match, second: Match, message: str,
                   pause_s: float, slack_s: float) -> Finding | None:
    gap = _pause(call, first, second)
    measured = gap.duration_s if gap else 0.0
    if measured >= pause_s - slack_s:
        return None
    span = gap or second
    return finding(rule, span.start_s, span.end_s, message, anchor_s=second.start_s, match=second,
                   measured=measured, limit=pause_s)


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

    A matched phrase of the rule's `greeting` group counts (the rulebook
    names the opening scripts there too); so does any other agent turn that
    is not a threat, because a garbled recognition of 您好,请问有什么可以帮助您
    is still a greeting to a caller who hears nothing.
    """
    phrases = call.matches(rule, "greeting", roles=roles)
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
    rejected = None
    if not closings:
        heard = call.line_by_sound(rule, ("silent_closing",), roles, 0.0, end)
        if sound.accepted(rule, heard):
            r = heard.reading
            closings = [Match(r.wording, heard.hypothesis, -1, (0, 0), 0.0, r.start_s, r.end_s, "agent", heard.score)]
        else:
            rejected = heard
    greetings = _greetings(rule, call, roles, closings[0].start_s if closings else end, pause_s)
    if not greetings:
        findings.append(finding(rule, 0.0, end, "silent_line.no_greeting"))
    elif len(greetings) < 2:
        g1 = greetings[0]
        findings.append(finding(rule, g1.start_s, end, "silent_line.one_greeting", match=g1 if g1.phrase else None,
                                said=g1.text or evidence("said.greeting")))
    else:
        findings.append(_pause_finding(rule, call, greetings[0], greetings[1],
                                       "silent_line.short_pause_between_greetings", pause_s, slack_s))
        if closings:
            findings.append(_pause_finding(rule, call, greetings[1], closings[0],
                                           "silent_line.short_pause_before_closing", pause_s, slack_s))
    last = call.last_speech_end()
    if not closings:
        findings.append(finding(rule, max(0.0, last - 5.0), last, "silent_line.no_closing", anchor_s=last,
                                sound=rejected))
    trailing = max(0.0, end - last)
    if (greetings or closings) and trailing < pause_s - slack_s:
        findings.append(finding(rule, last, end, "silent_line.hung_up_at_once", match=closings[-1] if closings else None,
                                measured=trailing, limit=pause_s))
    for m in call.matches(rule, "threat", roles=("agent",)):
        findings.append(finding(rule, m.start_s, m.end_s, "silent_line.threat", match=m, said=m.text))
    return [f for f in findings if f is not None]


def check_silent_line(rule: Any, call: CallView) -> RuleResult:
    if not call.customer_barely_speaks(rule, PROCEDURE_WORDS):
        return outcome(rule, (), detail("silent_line.customer_spoke", seconds=call.others_speech_seconds()), na=True)
    pause_s = param(rule, "pause_s")
    # Speech-activity edges are blurred by a frame or two of hangover; a pause
    # measured `edge_slack_s` short of the limit is not held against the agent.
    slack_s = param(rule, "edge_slack_s")
    findings = _steps(rule, call, pause_s, slack_s)
    return outcome(rule, findings, "; ".join(f.evidence for f in findings) or detail("silent_line.followed"))


SILENT_LINE = Kind(check_silent_line, groups=("greeting", "silent_closing", "threat"), params={
    "pause_s": seconds(0, 60), "max_customer_speech_s": Param(float, 0, 600, "seconds of customer speech"),
    "edge_slack_s": Param(float, 0, 5, "seconds"), "min_similarity": SIMILARITY, "sound_accept": SOUND_SCORE})
