"""Mandated and forbidden wording: the opening greeting, the closing, 服务忌语."""

from __future__ import annotations

from typing import Any

from qa.phrases.textnorm import keyed
from qa.records import RuleResult
from qa.scoring.checks.base import CallView, finding, outcome, param
from qa.scoring.checks.kinds import SIMILARITY, Kind, Param, seconds
from qa.scoring.messages import detail

UNATTRIBUTED = "unknown"  # mono speech the voices could not assign to a party
# A closing rule's words that mark a silent line on mono (its own group, named in the rulebook).
SILENT_LINE_WORDS = ("silent_line_words",)


def _roles(rule: Any, default: tuple[str, ...] = ("agent",)) -> tuple[str, ...]:
    return tuple(rule.roles) if getattr(rule, "roles", None) else default


def check_greeting(rule: Any, call: CallView) -> RuleResult:
    """The agent greets within `window_s` of the answer."""
    window_s = param(rule, "window_s")
    onset = call.timeline.answer_onset_s
    if onset is None:
        onset = min((iv.start_s for ivs in call.timeline.speech.values() for iv in ivs), default=0.0)
    deadline = onset + window_s
    roles = call.required_roles(rule)
    greetings = [m for m in call.matches(rule, "greeting", roles=roles) if m.start_s <= deadline]
    if greetings:
        best = max(greetings, key=lambda m: m.similarity)
        return outcome(rule, (), detail("greeting.found", at=best.start_s, similarity=best.similarity))
    parts = _greeting_parts(rule, call, roles, deadline)
    if parts:
        return outcome(rule, (), parts)
    near = call.near_miss(rule, ("greeting",), roles, onset, deadline)
    found = finding(rule, onset, deadline, "greeting.missing", anchor_s=onset, near=near, window=window_s,
                    said=call.said("agent", onset, deadline))
    summary = detail("greeting.near_miss", similarity=near.similarity) if near else detail("greeting.missing")
    return outcome(rule, [found], summary)


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
    if not all(rule.phrases.get(group) for group in ("salutation", "introduction")):
        return None
    found = {}
    for group in GREETING_PARTS:
        hits = [m for m in call.matches(rule, group, roles=roles) if m.start_s <= deadline] \
            if rule.phrases.get(group) else []
        if hits:
            found[group] = detail("greeting.part", group=group, text=hits[0].text, at=hits[0].start_s)
    if not greeting_complete(set(found)):
        return None
    summary = detail("greeting.by_parts", parts=", ".join(found.values()))
    if "salutation" not in found:
        summary += detail("greeting.no_salutation")
    return summary


def check_closing(rule: Any, call: CallView) -> RuleResult:
    """In the last `window_s` of speech the agent offers more help and says goodbye.

    A silent line has its own closing line (the silent-line rule), so this
    rule does not apply there.
    """
    if call.customer_barely_speaks(rule, SILENT_LINE_WORDS):
        return outcome(rule, (), detail("silent_line.judges_closing"), na=True)
    window_s = param(rule, "window_s")
    end = call.last_speech_end()
    start = max(0.0, end - window_s)
    roles = call.required_roles(rule)
    findings = []
    found = []
    for group, missing in (("offer_help", "closing.no_offer_help"), ("farewell", "closing.no_farewell")):
        hits = [m for m in call.matches(rule, group, roles=roles) if m.end_s >= start]
        if hits:
            found.append(detail("closing.found", group=group, at=hits[-1].start_s))
            continue
        near = call.near_miss(rule, (group,), roles, start, end)
        findings.append(finding(rule, start, end, missing, anchor_s=end, near=near,
                                said=call.said("agent", start, end)))
    return outcome(rule, findings, "; ".join(found) or detail("closing.none"))


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
    min_chars = int(rule.params["unattributed_min_chars"])
    findings = []
    for m in call.matches(rule, "forbidden", roles=roles + (UNATTRIBUTED,) if widened else roles):
        spec = phrases.get(m.phrase)
        if widened and m.role == UNATTRIBUTED and len(keyed(m.phrase).key) < min_chars:
            continue
        severity = getattr(spec, "severity", None) or rule.severity
        u = call.utterances[m.utterance_idx] if 0 <= m.utterance_idx < len(call.utterances) else None
        said = u.text if u is not None else m.text
        message = "forbidden.unattributed" if m.role == UNATTRIBUTED else "forbidden.said"
        findings.append(finding(rule, m.start_s, m.end_s, message, role=m.role, match=m, severity=severity,
                                said=said))
    return outcome(rule, findings, detail("forbidden.count", count=len(findings)))


WINDOW = seconds(0, 600)
CUSTOMER_SPEECH = Param(float, 0, 600, "seconds of customer speech in a silent line")
GREETING = Kind(check_greeting, groups=("greeting",), optional_groups=GREETING_PARTS,
                params={"window_s": WINDOW, "min_similarity": SIMILARITY})
CLOSING = Kind(check_closing, groups=("offer_help", "farewell"), optional_groups=SILENT_LINE_WORDS,
               params={"window_s": WINDOW, "min_similarity": SIMILARITY, "max_customer_speech_s": CUSTOMER_SPEECH})
FORBIDDEN = Kind(check_forbidden, groups=("forbidden",), params={
    "unattributed_min_chars": Param(int, 1, 100, "characters"), "min_similarity": SIMILARITY})
