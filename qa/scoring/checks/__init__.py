"""Check kinds, looked up by the `kind` each rulebook rule names.

The rulebook is data (ids, phrases, thresholds, points, source clauses); this
registry is the small set of code that a rule can instantiate.
"""

from __future__ import annotations

from typing import Any, Callable

from qa.records import RuleResult, Timeline, Utterance
from qa.scoring.checks.answer import check_late_apology, check_rings
from qa.scoring.checks.base import CallView, CheckError, FindFn
from qa.scoring.checks.hold import check_hold
from qa.scoring.checks.silent_line import check_silent_line
from qa.scoring.checks.talk import check_interruption, check_speech_rate
from qa.scoring.checks.wording import check_closing, check_forbidden, check_greeting

__all__ = ["CHECKS", "CallView", "CheckError", "run_rules", "validate_rulebook"]

CheckFn = Callable[[Any, CallView], RuleResult]

CHECKS: dict[str, CheckFn] = {
    "rings": check_rings,
    "late_apology": check_late_apology,
    "greeting": check_greeting,
    "closing": check_closing,
    "forbidden": check_forbidden,
    "silent_line": check_silent_line,
    "hold": check_hold,
    "interruption": check_interruption,
    "speech_rate": check_speech_rate,
}


def validate_rulebook(rulebook: Any) -> None:
    """Raise CheckError naming the first enabled rule whose kind has no check."""
    for rule in rulebook.rules.values():
        if getattr(rule, "enabled", True) and rule.kind not in CHECKS:
            known = ", ".join(sorted(CHECKS))
            raise CheckError(f"rule {rule.rule_id}: unknown kind '{rule.kind}' (known: {known})")


def run_rules(
    rulebook: Any,
    timeline: Timeline,
    utterances: tuple[Utterance, ...],
    *,
    find: FindFn | None = None,
) -> tuple[RuleResult, ...]:
    """Every enabled rule of `rulebook` over one call, in rulebook order."""
    extra = {"find": find} if find is not None else {}
    call = CallView(timeline, tuple(utterances), getattr(rulebook, "slots", {}) or {}, rulebook.rules, **extra)
    results = []
    for rule in rulebook.rules.values():
        if not getattr(rule, "enabled", True):
            continue
        check = CHECKS.get(rule.kind)
        if check is None:
            raise CheckError(f"rule {rule.rule_id}: unknown kind '{rule.kind}'")
        results.append(check(rule, call))
    return tuple(results)
