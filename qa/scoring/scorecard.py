"""The score card: points deducted from full marks, critical failures fail the call.

A rule that fails deducts its points once; `na` rules deduct nothing and do
not count. A rule marked critical, or any finding of critical severity (a
critical forbidden phrase such as 有本事就投诉我), fails the call outright
(一票否决) whatever the points say: the score drops to 0. Full marks, the pass
mark and whether critical findings fail the call are the rulebook's
`[scorecard]`, validated when it loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from qa.records import RuleResult


@dataclass(frozen=True)
class ScoreCard:
    score: float
    passed: bool
    deducted: float
    critical: tuple[str, ...]  # rule ids that failed the call outright
    judged: int  # rules that applied (pass or fail)


def critical_failures(results: Iterable[RuleResult], rules: dict[str, Any]) -> tuple[str, ...]:
    failed = []
    for r in results:
        if r.outcome != "fail":
            continue
        rule = rules.get(r.rule_id)
        if (rule is not None and rule.critical) or any(f.severity == "critical" for f in r.findings):
            failed.append(r.rule_id)
    return tuple(failed)


def score_card(results: Iterable[RuleResult], rulebook: Any) -> ScoreCard:
    """Score one call's rule results under `rulebook` and its score card settings."""
    results = tuple(results)
    card = rulebook.scorecard
    deducted = sum(r.points for r in results if r.outcome == "fail")
    critical = critical_failures(results, rulebook.rules) if card.critical_fails_call else ()
    score = 0.0 if critical else max(0.0, card.full_marks - deducted)
    judged = sum(1 for r in results if r.outcome != "na")
    return ScoreCard(round(score, 2), not critical and score >= card.pass_mark, round(deducted, 2), critical,
                     judged)


@dataclass
class ScoreTally:
    """The scores and passes of the calls a run scored; its summaries derive the rest."""

    scores: list[float] = field(default_factory=list)
    passed: int = 0

    @property
    def mean_score(self) -> float | None:
        return sum(self.scores) / len(self.scores) if self.scores else None

    @property
    def pass_rate(self) -> float | None:
        return self.passed / len(self.scores) if self.scores else None

