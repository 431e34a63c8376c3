"""Sampling plans (抽检): drawn reproducibly, dealt out, tracked; calibration agreement per rule."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for bench.make_db

from bench.make_db import make_db  # noqa: E402
from viewers import SUPERVISOR, as_viewer  # noqa: E402
from qa.scoring.db import reading, writing  # noqa: E402
from qa.scoring.queries_queue import QueueFilter, next_finding, queue_progress  # noqa: E402
from qa.scoring.queries_reviews import record_review  # noqa: E402
from qa.scoring.sampling import (  # noqa: E402
    PlanError, SamplingPlan, agreement, cohen_kappa, create_plan, draw, plan_progress, plans,
)

PLAN = SamplingPlan(name="第48周抽检", inspectors=("li", "wang"), share=0.2, all_failed=True,
                    calibration_share=0.25, seed=3)


@pytest.fixture()
def store(tmp_path) -> Path:
    path = tmp_path / "calls.duckdb"
    make_db(path, n_calls=80, findings_per_call=2, seed=13, nights=9)
    return path


def _calls(path: Path) -> pd.DataFrame:
    with reading(path) as con:
        return con.execute("SELECT c.call_id, c.agent_id, date_trunc('week', c.started_at) AS week, s.passed "
                           "FROM calls c JOIN scores s USING (call_id)").df()


def test_a_plan_draws_every_failed_call_and_a_share_of_each_agents_week(store):
    calls = _calls(store)
    with reading(store) as con:
        assignments = draw(con, PLAN)
        again = draw(con, PLAN)
        other_seed = draw(con, SamplingPlan(**{**PLAN.__dict__, "seed": 4}))
    assert assignments == again and assignments != other_seed  # reproducible, and the seed matters
    drawn = {c: r for c, _, r in assignments if r != "calibration"}
    assert set(calls[~calls["passed"]]["call_id"]) <= set(drawn)
    for (agent, week), group in calls.groupby(["agent_id", "week"]):
        sampled = [c for c in group["call_id"] if drawn.get(c) == "sampled"]
        assert len(sampled) == min(math.ceil(0.2 * len(group)), int(group["passed"].sum()))
    first = [i for _, i, r in assignments if r != "calibration"]
    assert abs(first.count("li") - first.count("wang")) <= 1  # dealt out in turn
    calibration = [(c, i) for c, i, r in assignments if r == "calibration"]
    assert len(calibration) == math.ceil(0.25 * len(drawn))
    for call_id, inspector in calibration:  # the second inspector is the other one
        assert inspector != next(i for c, i, r in assignments if c == call_id and r != "calibration")


def test_bad_plans_are_refused_with_the_reason(store):
    with reading(store) as con:
        for plan, why in ((SamplingPlan(name="", inspectors=("li",)), "name"),
                          (SamplingPlan(name="x", inspectors=()), "inspector"),
                          (SamplingPlan(name="x", inspectors=("li",), share=5), "fractions"),
                          (SamplingPlan(name="x", inspectors=("li",), calibration_share=0.1), "at least two")):
            with pytest.raises(PlanError, match=why):
                draw(con, plan)


def _judge(store: Path, inspector: str, plan_id: int, verdict_of) -> int:
    """Work the inspector's plan queue to the end; `verdict_of(finding)` picks each verdict."""
    flt, me = QueueFilter(plan_id=plan_id), as_viewer(inspector, "inspector")
    n = 0
    with writing(store) as con:
        while (f := next_finding(con, me, flt)) is not None:
            record_review(con, me, call_id=f["call_id"], finding_id=f["finding_id"], verdict=verdict_of(f))
            n += 1
        assert queue_progress(con, me, flt)["waiting"] == 0
    return n


def test_a_plan_is_worked_through_the_queue_and_its_progress_tracked(store):
    with writing(store) as con:
        plan_id = create_plan(con, as_viewer("supervisor-zhao"), PLAN)
    with reading(store) as con:
        listed = plans(con, SUPERVISOR)
        before = plan_progress(con, SUPERVISOR, plan_id).set_index("inspector")
        mine = {c for (c,) in con.execute("SELECT call_id FROM plan_calls WHERE plan_id = ? AND inspector = 'li'",
                                          [plan_id]).fetchall()}
    assert listed.iloc[0]["name"] == "第48周抽检" and int(listed.iloc[0]["calls"]) > 0
    assert int(before.loc["li", "done"]) == 0
    seen = set()
    judged = _judge(store, "li", plan_id, lambda f: seen.add(f["call_id"]) or "confirmed")
    assert seen <= mine and judged == int(before.loc["li", "findings_waiting"])
    with reading(store) as con:
        after = plan_progress(con, SUPERVISOR, plan_id).set_index("inspector")
    assert int(after.loc["li", "done"]) == int(after.loc["li", "calls"]) - int(after.loc["li", "no_findings"])
    assert int(after.loc["wang", "done"]) < int(after.loc["wang", "calls"])  # wang's calibration calls still wait


def test_calibration_agreement_per_rule(store):
    with writing(store) as con:
        plan_id = create_plan(con, as_viewer("zhao"), SamplingPlan(**{**PLAN.__dict__, "calibration_share": 1.0}))
    _judge(store, "li", plan_id, lambda f: "confirmed")
    # wang disagrees on every third finding (by time), the same way on each rule
    _judge(store, "wang", plan_id, lambda f: "false_positive" if int(f["start_s"] * 10) % 3 == 0 else "confirmed")
    with reading(store) as con:
        table = agreement(con, SUPERVISOR, plan_id).set_index("rule_id")
        rows = con.execute(
            """SELECT f.rule_id, a.verdict, b.verdict FROM findings f
               JOIN reviews a ON a.finding_id = f.finding_id AND a.reviewer = 'li'
               JOIN reviews b ON b.finding_id = f.finding_id AND b.reviewer = 'wang'""").fetchall()
    assert not table.empty
    for rule_id, group in pd.DataFrame(rows, columns=["rule", "a", "b"]).groupby("rule"):
        pairs = list(zip(group["a"], group["b"]))
        assert int(table.loc[rule_id, "findings"]) == len(pairs)
        assert int(table.loc[rule_id, "agreed"]) == sum(a == b for a, b in pairs)
        expected = cohen_kappa(pairs)
        assert (pd.isna(table.loc[rule_id, "kappa"]) and expected is None) or \
            table.loc[rule_id, "kappa"] == pytest.approx(expected)


def test_cohen_kappa_matches_the_textbook_example():
    # 50 items: both yes 20, yes/no 5, no/yes 10, both no 15 -> kappa 0.4
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    assert cohen_kappa(pairs) == pytest.approx(0.4)
    assert cohen_kappa([("y", "y")] * 5) is None  # one category: agreement says nothing beyond chance
    assert cohen_kappa([]) is None
