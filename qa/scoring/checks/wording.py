"""Mandated and forbidden wording: the opening greeting, the closing, 服务忌语."""

from __future__ import annotations

from typing import Any

from qa.phrases.textnorm import keyed
from qa.records import RuleResult
from qa.scoring.checks.base import CallView, finding, near_miss_note, outcome, param, utterance_text_between


UNATTRIBUTED = "unknown"  # mono speech the voices could not assign to a party


def _roles(rule: Any, default: tuple[str, ...] = ("agent",)) -> tuple[str, ...]:
    return tuple(rule.roles) if getattr(rule, "roles", None) else default


def check_greeting(rule: Any, call: CallView) -> RuleResult:
    """The agent greets within `window_s` of the answer."""
    window_s = param(rule, "window_s", 10.0)
    onset = call.timeline.answer_onset_s
    if onset is None:
        onset = min((iv.start_s for ivs in call.timeline.speech.values() for iv in ivs), default=0.0)
    deadline = onset + window_s
    roles = call.required_roles(rule)
    greetings = [m for m in call.matches(rule, "greeting", roles=roles) if m.start_s <= deadline]
    if greetings:
        best = max(greetings, key=lambda m: m.similarity)
        return outcome(rule, (), f"greeting at {best.start_s:.1f} s ({best.similarity:.2f})")
    parts = _greeting_parts(rule, call, roles, deadline)
    if parts:
        return outcome(rule, (), parts)
    said = utterance_text_between(call, "agent", onset, deadline) or "(坐席未说话)"
    near = call.near_miss(rule, ("greeting",), roles, onset, deadline)
    evidence = f"开头{window_s:g}秒内没有标准问候语: {said}{near_miss_note(near)}"
    detail = "no greeting in the opening window" + (f"; near miss {near.similarity:.2f}" if near else "")
    return outcome(rule, [finding(rule, onset, deadline, evidence)], detail)


# Phrase groups of a greeting rule that count only together: the standards'
# greeting has all three, a salutation, the agent's introduction and the offer
# to help.
GREETING_PARTS = ("salutation", "introduction", "offer")


def greeting_complete(parts: set[str] | frozenset[str]) -> bool:
    """An introduction (who answers) with a salutation or an offer to help.

    Two suffice because the first syllable of a call is the one a recognizer
    most often loses: 您好 is heard as 也好 or 你好, or clipped, while the
    introduction and the offer that follow it come through.
    """
    return "introduction" in parts and bool(parts & {"salutation", "offer"})


def _greeting_parts(rule: Any, call: CallView, roles: tuple[str, ...], deadline: float) -> str | None:
    """A greeting by its parts, when the wording as a whole matches no script:
    agents vary the order and the filler, and a recognizer garbles some words
    of a long greeting."""
    if not all(group in rule.phrases for group in ("salutation", "introduction")):
        return None
    found = {}
    for group in GREETING_PARTS:
        hits = [m for m in call.matches(rule, group, roles=roles) if m.start_s <= deadline] \
            if group in rule.phrases else []
        if hits:
            found[group] = f"{group} {hits[0].text!r} at {hits[0].start_s:.1f} s"
    if not greeting_complete(set(found)):
        return None
    detail = "greeting by its parts: " + ", ".join(found.values())
    if "salutation" not in found:
        detail += "; no salutation heard (您好 may be misrecognized)"
    return detail


def check_closing(rule: Any, call: CallView) -> RuleResult:
    """In the last `window_s` of speech the agent offers more help and says goodbye.

    A silent line has its own closing line (the silent-line rule), so this
    rule does not apply there.
    """
    if call.customer_barely_speaks():
        return outcome(rule, (), "silent line: the silent-line rule judges the closing", na=True)
    window_s = param(rule, "window_s", 20.0)
    end = call.last_speech_end()
    start = max(0.0, end - window_s)
    findings = []
    found = []
    for group, missing in (("offer_help", "结束前没有询问是否还需要帮助"), ("farewell", "没有标准结束语")):
        hits = [m for m in call.matches(rule, group, roles=call.required_roles(rule)) if m.end_s >= start]
        if hits:
            found.append(f"{group} at {hits[-1].start_s:.1f} s")
            continue
        said = utterance_text_between(call, "agent", start, end) or "(坐席未说话)"
        near = call.near_miss(rule, (group,), call.required_roles(rule), start, end)
        findings.append(finding(rule, start, end, f"{missing}: {said}{near_miss_note(near)}"))
    return outcome(rule, findings, "; ".join(found) or "no closing phrase")


def check_forbidden(rule: Any, call: CallView) -> RuleResult:
    """Each forbidden phrase the agent says is a finding with that phrase's severity.

    On mono some speech stays attributed to neither party. A forbidden
    sentence heard there (at least `unattributed_min_chars` characters: 你问我,
    我问谁 is said to a caller, while 不行 or 不知道 are said by both sides) is a
    finding too, marked as such for the inspector to confirm.
    """
    phrases = {p.text: p for p in rule.phrases.get("forbidden", ())}
    roles = _roles(rule)
    widened = not call.timeline.stereo and UNATTRIBUTED not in roles
    min_chars = param(rule, "unattributed_min_chars", 4)
    findings = []
    for m in call.matches(rule, "forbidden", roles=roles + (UNATTRIBUTED,) if widened else roles):
        spec = phrases.get(m.phrase)
        if widened and m.role == UNATTRIBUTED and len(keyed(m.phrase).key) < min_chars:
            continue
        severity = getattr(spec, "severity", None) or rule.severity
        u = call.utterances[m.utterance_idx] if 0 <= m.utterance_idx < len(call.utterances) else None
        evidence = u.text if u is not None else m.text
        if m.role == UNATTRIBUTED:
            evidence = f"(单声道录音, 说话人未确认) {evidence}"
        findings.append(finding(rule, m.start_s, m.end_s, evidence, role=m.role, match=m, severity=severity))
    return outcome(rule, findings, f"{len(findings)} forbidden phrase(s)")
