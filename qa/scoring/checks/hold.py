"""Hold etiquette: ask before making the customer wait, thank or apologize after."""

from __future__ import annotations

from typing import Any

from qa.phrases.textnorm import keyed
from qa.records import Interval, RuleResult
from qa.scoring.checks.base import CallView, all_speech, missing_line, outcome, param, silences
from qa.scoring.checks.kinds import SIMILARITY, SOUND_SCORE, Kind, Param, seconds
from qa.scoring.messages import detail
from qa.scoring.checks.wording import SILENT_LINE_WORDS

EDGE_SLACK_S = 0.5  # word times and speech-activity edges disagree by a few hundred ms
# A sound this short with at most one character heard in it (a hold-music
# note's attack, a click, which the recognizer may still write as 你 or 请)
# does not end a hold: the silences on both sides of it are one wait.
BLIP_S = 0.3


def holds(call: CallView, min_hold_s: float) -> list[Interval]:
    """Mutual silences of at least `min_hold_s` between the first and the last speech."""
    speech = all_speech(call)
    if not speech:
        return []
    first = min(iv.start_s for iv in speech)
    last = max(iv.end_s for iv in speech)
    gaps = call.timeline.mutual_silence or tuple(silences(speech, first, last))
    gaps = _across_blips(call, sorted(gaps, key=lambda g: g.start_s))
    return [g for g in gaps if g.start_s >= first and g.end_s <= last and g.duration_s >= min_hold_s]


def _across_blips(call: CallView, gaps: list[Interval]) -> list[Interval]:
    joined: list[Interval] = []
    for g in gaps:
        prev = joined[-1] if joined else None
        if prev is not None and g.start_s - prev.end_s <= BLIP_S and not any(
                u.start_s < g.start_s and u.end_s > prev.end_s and len(keyed(u.text).key) > 1
                for u in call.utterances):
            joined[-1] = Interval(prev.start_s, g.end_s)
        else:
            joined.append(g)
    return joined


def _after_closing_offer(rule: Any, call: CallView, gaps: list[Interval]) -> list[Interval]:
    """`gaps` less those that open on the closing's offer of more help (请问还有什么可以帮助您): the
    customer's pause before answering, or leaving the line open (scenario.linger), not a hold."""
    if not gaps or not rule.phrases.get("closing_offer"):
        return gaps
    offers = [m.end_s for m in call.matches(rule, "closing_offer", roles=call.required_roles(rule))]
    return [g for g in gaps if not any(abs(end - g.start_s) <= EDGE_SLACK_S + 1.0 for end in offers)]


def check_hold(rule: Any, call: CallView) -> RuleResult:
    if call.customer_barely_speaks(rule, SILENT_LINE_WORDS):
        return outcome(rule, (), detail("hold.silent_line"), na=True)
    min_hold_s = param(rule, "min_hold_s")
    window_s = param(rule, "window_s")
    found = _after_closing_offer(rule, call, holds(call, min_hold_s))
    if not found:
        return outcome(rule, (), detail("hold.none", min_hold=min_hold_s), na=True)
    roles = call.required_roles(rule)
    asks = call.matches(rule, "wait_request", roles=roles)
    afters = call.matches(rule, "after_hold", roles=roles)
    findings, notes = [], [detail("hold.found", start=h.start_s, end=h.end_s) for h in found]
    for h in found:
        asked = [m for m in asks if h.start_s - window_s <= m.start_s and m.end_s <= h.start_s + EDGE_SLACK_S]
        thanked = [m for m in afters if h.end_s - EDGE_SLACK_S <= m.start_s <= h.end_s + window_s]
        if not asked:
            start, end = max(0.0, h.start_s - window_s), h.start_s
            findings.append(missing_line(rule, call, "wait_request", roles, (start, end + EDGE_SLACK_S),
                                         "hold.no_request", notes, anchor_s=h.start_s, span=(start, end),
                                         hold=h.duration_s))
        if not thanked:
            start, end = h.end_s, h.end_s + window_s
            findings.append(missing_line(rule, call, "after_hold", roles, (start - EDGE_SLACK_S, end),
                                         "hold.no_thanks", notes, anchor_s=h.end_s, span=(start, end),
                                         hold=h.duration_s))
    return outcome(rule, [f for f in findings if f is not None], ", ".join(notes))


HOLD = Kind(check_hold, groups=("wait_request", "after_hold"), optional_groups=SILENT_LINE_WORDS + ("closing_offer",),
            params={
    "min_hold_s": seconds(0, 3600), "window_s": seconds(0, 600), "min_similarity": SIMILARITY,
    "sound_accept": SOUND_SCORE,
    "max_customer_speech_s": Param(float, 0, 600, "seconds of customer speech in a silent line")})
