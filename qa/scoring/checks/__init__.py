"""Check kinds, looked up by the `kind` each rulebook rule names.

The rulebook is data (ids, phrases, thresholds, points, source clauses); this
registry is the small set of code that a rule can instantiate. Each kind is
declared once, beside its check (`Kind`: the check, the phrase groups it reads,
its params with types and ranges); the rulebook loader validates every rule
against it.
"""

from __future__ import annotations

from typing import Any, Mapping

from qa.records import Heard, Reading, RuleResult, Timeline, Utterance
from qa.scoring.checks.answer import LATE_APOLOGY, RINGS
from qa.scoring.checks.base import CallView, CheckError, FindFn
from qa.scoring.checks.hangup import HANGUP
from qa.scoring.checks.hold import HOLD
from qa.scoring.checks.kinds import Kind, Param
from qa.scoring.checks.response import RESPONSE
from qa.scoring.checks.silent_line import SILENT_LINE
from qa.scoring.checks.surname import SURNAME
from qa.scoring.checks.talk import INTERRUPTION, SPEECH_RATE
from qa.scoring.checks.wording import CLOSING, FORBIDDEN, GREETING

__all__ = ["CallView", "CheckError", "KINDS", "Kind", "Param", "run_rules"]

KINDS: dict[str, Kind] = {
    "rings": RINGS,
    "late_apology": LATE_APOLOGY,
    "greeting": GREETING,
    "closing": CLOSING,
    "forbidden": FORBIDDEN,
    "silent_line": SILENT_LINE,
    "hold": HOLD,
    "interruption": INTERRUPTION,
    "speech_rate": SPEECH_RATE,
    "response": RESPONSE,
    "surname": SURNAME,
    "hangup": HANGUP,
}


def run_rules(
    rulebook: Any,
    timeline: Timeline,
    utterances: tuple[Utterance, ...],
    *,
    find: FindFn | None = None,
    heard: Mapping[tuple, Heard] | None = None,
    asked: list[Reading] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> tuple[RuleResult, ...]:
    """Every enabled rule of `rulebook` over one call, in rulebook order.

    `heard`: readings scored by sound, by key; readings the checks ask about
    that are not there are appended to `asked` (see qa.scoring.checks.sound).
    """
    extra: dict[str, Any] = {"find": find} if find is not None else {}
    call = CallView(timeline, tuple(utterances), getattr(rulebook, "slots", {}) or {}, rulebook.rules,
                    heard=heard or {}, asked=asked, metadata=dict(metadata or {}), **extra)
    results = []
    for rule in rulebook.rules.values():
        if not rule.enabled:
            continue
        kind = KINDS.get(rule.kind)
        if kind is None:
            raise CheckError(f"rule {rule.rule_id}: unknown kind '{rule.kind}' (known: {', '.join(sorted(KINDS))})")
        results.append(kind.check(rule, call))
    return tuple(results)
