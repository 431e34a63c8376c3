"""Answering: within the allowed rings, and an apology after a late answer."""

from __future__ import annotations

from typing import Any

from qa.records import RuleResult
from qa.scoring.checks.base import CallView, finding, outcome, param, utterance_text_between

DEFAULT_MAX_RINGS = 3


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
        return outcome(rule, (), "no ringback information", na=True)
    max_rings = int(param(rule, "max_rings", DEFAULT_MAX_RINGS))
    count = call.timeline.ring_count
    detail = f"{count} rings ({call.timeline.ring_source}), limit {max_rings}"
    if count <= max_rings:
        return outcome(rule, (), detail)
    start, end = _ring_span(call)
    evidence = f"响铃{count}声才接听(上限{max_rings}声)"
    return outcome(rule, [finding(rule, start, end, evidence, role="agent")], detail)


def check_late_apology(rule: Any, call: CallView) -> RuleResult:
    """After a late answer the agent's first words must contain the apology."""
    if _no_ring_info(call):
        return outcome(rule, (), "no ringback information", na=True)
    max_rings = int(call.shared_param(rule, "max_rings", "rings", DEFAULT_MAX_RINGS))
    if call.timeline.ring_count <= max_rings:
        return outcome(rule, (), f"answered in time ({call.timeline.ring_count} rings)", na=True)
    window_s = param(rule, "window_s", 10.0)
    starts = [call.first_speech_start(role) for role in call.required_roles(rule)]
    first = min((t for t in starts if t is not None), default=None)
    if first is None:
        onset = call.timeline.answer_onset_s or 0.0
        return outcome(rule, [finding(rule, onset, onset, "接听晚了, 坐席没有说话")], "agent never spoke")
    deadline = first + window_s
    apologies = [m for m in call.matches(rule, "apology", roles=call.required_roles(rule)) if m.start_s <= deadline]
    if apologies:
        return outcome(rule, (), f"apology at {apologies[0].start_s:.1f} s")
    said = utterance_text_between(call, "agent", first, deadline) or "(无)"
    return outcome(rule, [finding(rule, first, deadline, f"接听晚了, 开头没有致歉: {said}")],
                   f"no apology within {window_s:g} s of the agent's first words")
