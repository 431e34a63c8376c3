"""Score card: points off 100, na excluded, critical failures fail the call."""

from __future__ import annotations

from built_calls import rule, rulebook
from qa.records import Finding, RuleResult
from qa.scoring.scorecard import score_card

A = rule("greeting", "a", points=15)
B = rule("closing", "b", points=10)
C = rule("forbidden", "c", points=20)
CRIT = rule("hold", "crit", points=5, critical=True)
BOOK = rulebook(A, B, C, CRIT)


def res(rule_id, outcome, points=0.0, severity="major"):
    findings = (Finding(rule_id, 1.0, 2.0, "agent", "x", severity=severity),) if outcome == "fail" else ()
    return RuleResult(rule_id, outcome, points, findings)


def test_points_are_deducted_from_100_and_na_is_excluded():
    card = score_card([res("a", "fail", 15), res("b", "na"), res("c", "pass"), res("crit", "pass")], BOOK)
    assert card.score == 85 and card.deducted == 15 and card.passed and card.judged == 3


def test_below_the_pass_mark_fails():
    card = score_card([res("a", "fail", 15), res("b", "fail", 10)], BOOK)
    assert card.score == 75 and not card.passed and card.critical == ()


def test_critical_rule_fails_the_call_outright():
    card = score_card([res("crit", "fail", 5)], BOOK)
    assert card.score == 0 and not card.passed and card.critical == ("crit",)


def test_critical_phrase_in_a_normal_rule_fails_the_call():
    card = score_card([res("c", "fail", 20, severity="critical")], BOOK)
    assert card.score == 0 and not card.passed and card.critical == ("c",)
    minor = score_card([res("c", "fail", 20, severity="minor")], BOOK)
    assert minor.score == 80 and minor.passed


def test_score_never_below_zero_and_all_na_is_full_marks():
    heavy = rulebook(*(rule("greeting", f"r{i}", points=30) for i in range(5)))
    assert score_card([res(f"r{i}", "fail", 30) for i in range(5)], heavy).score == 0
    assert score_card([res("a", "na"), res("b", "na")], BOOK).score == 100
