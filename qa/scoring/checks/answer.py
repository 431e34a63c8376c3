"""Answering: within the allowed rings, and an apology after a late answer."""

from __future__ import annotations

from typing import Any

from qa.records import RuleResult
from qa.scoring.checks import sound
from qa.scoring.checks.base import CallView, by_sound, finding, outcome, param
from qa.scoring.checks.kinds import SIMILARITY, SOUND_SCORE, Kind, Param, seconds
from qa.scoring.messages import RING_SOURCES, detail

MAX_RINGS = Param(int, 1, 20, "rings")


def _no_ring_info(call: CallView) -> bool:
    tl = call.timeline
    return tl.ring_source == "none" and tl.ring_count == 0 and not tl.rings


def _ring_span(call: CallView) -> tuple[float, float]:
    tl = call.timeline
    start = tl.rings[0].start_s if tl.rings else 0.0
    end = tl.answer_onset_s if tl.answer_onset_s is not None else (tl.rings[-1].end_s if tl.rings else 0.0)
    return start, max(start, end)


def check_rings(rule: Any, call: CallView) -> RuleResult:
    """More than `max_rings` rings before the answer fails.

    The timeline already prefers the metadata's ring seconds over detection;
    without either there is nothing to judge.
    """
    if _no_ring_info(call):
        return outcome(rule, (), detail("no_ring_info"), na=True)
    max_rings = int(rule.params["max_rings"])
    count = call.timeline.ring_count
    source = RING_SOURCES.get(call.timeline.ring_source, call.timeline.ring_source)
    summary = detail("rings.count", count=count, source=source, limit=max_rings)
    if count <= max_rings:
        return outcome(rule, (), summary)
    start, end = _ring_span(call)
    return outcome(rule, [finding(rule, start, end, "rings.late", anchor_s=end, count=count, limit=max_rings)],
                   summary)


def check_late_apology(rule: Any, call: CallView) -> RuleResult:
    """After a late answer (more than the rule's `max_rings`) the agent's first words must hold the apology."""
    if _no_ring_info(call):
        return outcome(rule, (), detail("no_ring_info"), na=True)
    if call.timeline.ring_count <= int(rule.params["max_rings"]):
        return outcome(rule, (), detail("late_apology.in_time", count=call.timeline.ring_count), na=True)
    window_s = param(rule, "window_s")
    starts = [call.first_speech_start(role) for role in call.required_roles(rule)]
    first = min((t for t in starts if t is not None), default=None)
    if first is None:
        onset = call.timeline.answer_onset_s or 0.0
        return outcome(rule, [finding(rule, onset, onset, "late_apology.agent_silent")],
                       detail("late_apology.agent_silent"))
    deadline = first + window_s
    apologies = [m for m in call.matches(rule, "apology", roles=call.required_roles(rule)) if m.start_s <= deadline]
    if apologies:
        return outcome(rule, (), detail("late_apology.found", at=apologies[0].start_s))
    heard = call.line_by_sound(rule, ("apology",), call.required_roles(rule), first, deadline)
    if sound.accepted(rule, heard):
        return outcome(rule, (), by_sound(rule, "apology", heard))
    said = call.said("agent", first, deadline, "said.none")
    return outcome(rule, [finding(rule, first, deadline, "late_apology.missing", anchor_s=first, said=said,
                                  sound=heard)], detail("late_apology.missing", window=window_s))


RINGS = Kind(check_rings, params={"max_rings": MAX_RINGS})
LATE_APOLOGY = Kind(check_late_apology, groups=("apology",), params={
    "max_rings": MAX_RINGS, "window_s": seconds(0, 300), "min_similarity": SIMILARITY, "sound_accept": SOUND_SCORE})
