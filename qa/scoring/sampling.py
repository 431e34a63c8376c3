"""Sampling plans (抽检) and calibration between inspectors.

A plan such as "every auto-failed call plus 5% of each agent's calls per
week" is drawn reproducibly: within each agent and week, calls are ordered by
a hash of the plan's seed and the call id, and the first ones are taken.
Drawn calls are dealt out to the inspectors in turn; a share of them
(calibration) goes to the next inspector too, and the overview compares the
two inspectors' verdicts on those calls per rule (Cohen's kappa).

Use `create_plan` inside `db.writing(path)`; the rest read.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from qa.access.audit import record
from qa.access.roles import ROLES, Viewer, can, require
from qa.i18n import Explained

from qa.scoring.queries import JUDGEMENTS, judged

__all__ = ["PlanError", "SamplingPlan", "agreement", "cohen_kappa", "create_plan", "draw", "plan_progress", "plans"]


class PlanError(Explained):
    """A plan cannot be drawn; the message says which setting is wrong."""


@dataclass(frozen=True)
class SamplingPlan:
    name: str
    inspectors: tuple[str, ...]
    share: float = 0.05  # of each agent's calls per week
    all_failed: bool = True  # every auto-failed call besides
    calibration_share: float = 0.0  # of the drawn calls, also sent to a second inspector
    seed: int = 0
    date_from: date | None = None
    date_to: date | None = None

    def check(self) -> None:
        if not self.name.strip():
            raise PlanError("a plan needs a name")
        inspectors = [i.strip() for i in self.inspectors if i.strip()]
        if not inspectors or len(set(inspectors)) != len(inspectors):
            raise PlanError("a plan needs one or more inspectors, each named once")
        if not 0.0 <= self.share <= 1.0 or not 0.0 <= self.calibration_share <= 1.0:
            raise PlanError("shares are fractions between 0 and 1")
        if self.calibration_share > 0 and len(inspectors) < 2:
            raise PlanError("calibration sends calls to two inspectors: name at least two")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise PlanError("the plan's dates end before they start")


def _order(seed: int, call_id: str) -> str:
    return hashlib.sha256(f"{seed}:{call_id}".encode()).hexdigest()


def draw(con: duckdb.DuckDBPyConnection, plan: SamplingPlan) -> list[tuple[str, str, str]]:
    """(call_id, inspector, reason) for every assignment of `plan`; the same plan draws the same."""
    plan.check()
    where, params = ["c.status = 'scored'"], []
    if plan.date_from:
        where.append("c.started_at >= ?")
        params.append(plan.date_from)
    if plan.date_to:
        where.append("c.started_at < ? + INTERVAL 1 DAY")
        params.append(plan.date_to)
    calls = con.execute(
        f"""SELECT c.call_id, coalesce(c.agent_id, '') AS agent, date_trunc('week', c.started_at) AS week,
                   NOT s.passed AS failed
            FROM calls c JOIN scores s USING (call_id) WHERE {' AND '.join(where)}""",
        params,
    ).fetchall()
    groups: dict[tuple, list[tuple[str, bool]]] = {}
    for call_id, agent, week, failed in calls:
        groups.setdefault((agent, week), []).append((call_id, bool(failed)))
    drawn: list[tuple[str, str]] = []  # (call_id, reason)
    for members in groups.values():
        members.sort(key=lambda m: _order(plan.seed, m[0]))
        if plan.all_failed:
            drawn += [(c, "failed") for c, failed in members if failed]
        others = [c for c, failed in members if not (failed and plan.all_failed)]
        drawn += [(c, "sampled") for c in others[: math.ceil(plan.share * len(members))]]
    drawn.sort(key=lambda d: _order(plan.seed, d[0]))
    inspectors = [i.strip() for i in plan.inspectors if i.strip()]
    second = math.ceil(plan.calibration_share * len(drawn)) if len(inspectors) > 1 else 0
    out = []
    for n, (call_id, reason) in enumerate(drawn):
        out.append((call_id, inspectors[n % len(inspectors)], reason))
        if n < second:
            out.append((call_id, inspectors[(n + 1) % len(inspectors)], "calibration"))
    return out


def _check_inspectors(con: duckdb.DuckDBPyConnection, plan: SamplingPlan) -> None:
    """Once accounts exist, each inspector named is an enabled account that may give verdicts."""
    if not con.execute("SELECT count(*) FROM accounts").fetchone()[0]:
        return
    judges = tuple(role for role, rights in ROLES.items() if "judge" in rights.actions)
    known = {r[0] for r in con.execute(
        "SELECT name FROM accounts WHERE NOT disabled AND list_contains(?::VARCHAR[], role)", [list(judges)]).fetchall()}
    unknown = [i.strip() for i in plan.inspectors if i.strip() and i.strip() not in known]
    if unknown:
        raise PlanError("not an account that may give verdicts: {names}", names=", ".join(unknown))


def create_plan(con: duckdb.DuckDBPyConnection, viewer: Viewer, plan: SamplingPlan) -> int:
    """Store the plan, made by `viewer`, and its draw; returns its id."""
    require(viewer, "plans")
    _check_inspectors(con, plan)
    created_by = viewer.name
    assignments = draw(con, plan)
    plan_id = con.execute(
        """INSERT INTO sampling_plans (name, created_by, date_from, date_to, share, all_failed, calibration_share,
                                       inspectors, seed)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING plan_id""",
        [plan.name.strip(), created_by.strip(), plan.date_from, plan.date_to, plan.share, plan.all_failed,
         plan.calibration_share, json.dumps([i.strip() for i in plan.inspectors if i.strip()], ensure_ascii=False),
         plan.seed],
    ).fetchone()[0]
    if assignments:
        con.executemany("INSERT INTO plan_calls VALUES (?, ?, ?, ?)", [(plan_id, *a) for a in assignments])
    record(con, viewer, "make_plan", detail=f"{plan_id}: {plan.name.strip()} ({len(assignments)} assignments)")
    return int(plan_id)


def _has_plans(con: duckdb.DuckDBPyConnection) -> bool:
    """False on a store from before schema 4 opened read-only (the dashboard never migrates a busy store)."""
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'plan_calls'").fetchone()[0] > 0


def plans(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> pd.DataFrame:
    """Every plan for a role that makes plans; for others, the plans that gave them calls."""
    if not _has_plans(con):
        return pd.DataFrame(columns=["plan_id", "name", "created_by", "created_at", "date_from", "date_to", "share",
                                     "all_failed", "calibration_share", "inspectors", "seed", "calls"])
    return con.execute(
        """SELECT p.plan_id, p.name, p.created_by, p.created_at, p.date_from, p.date_to, p.share, p.all_failed,
                  p.calibration_share, p.inspectors, p.seed, count(DISTINCT pc.call_id) AS calls
           FROM sampling_plans p LEFT JOIN plan_calls pc USING (plan_id)
           WHERE $all OR p.plan_id IN (SELECT plan_id FROM plan_calls WHERE inspector = $me)
           GROUP BY ALL ORDER BY p.created_at DESC, p.plan_id DESC""", {"all": can(viewer, "plans"), "me": viewer.name}
    ).df()


# A call is done for its inspector when they have judged each of its findings.
_OWN_VERDICT = judged(by="pc.inspector")


def plan_progress(con: duckdb.DuckDBPyConnection, viewer: Viewer, plan_id: int) -> pd.DataFrame:
    """Per inspector: calls assigned, calls done, calls without findings (nothing to judge), findings waiting;
    a role that does not make plans sees its own line only."""
    return con.execute(
        f"""
        WITH per_call AS (
            SELECT pc.inspector, pc.call_id, count(f.finding_id) AS findings,
                   count(f.finding_id) FILTER (WHERE {_OWN_VERDICT}) AS judged
            FROM plan_calls pc LEFT JOIN findings f USING (call_id)
            WHERE pc.plan_id = ? AND (? OR pc.inspector = ?) GROUP BY pc.inspector, pc.call_id
        )
        SELECT inspector, count(*) AS calls,
               count(*) FILTER (WHERE findings > 0 AND judged = findings) AS done,
               count(*) FILTER (WHERE findings = 0) AS no_findings,
               sum(findings - judged)::BIGINT AS findings_waiting
        FROM per_call GROUP BY inspector ORDER BY inspector
        """,
        [plan_id, can(viewer, "plans"), viewer.name],
    ).df()


def cohen_kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Agreement of two raters beyond chance; None when chance alone explains it (one category only)."""
    if not pairs:
        return None
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    categories = {c for pair in pairs for c in pair}
    expected = sum((sum(a == c for a, _ in pairs) / n) * (sum(b == c for _, b in pairs) / n) for c in categories)
    return None if expected >= 1.0 else (observed - expected) / (1.0 - expected)


def agreement(con: duckdb.DuckDBPyConnection, viewer: Viewer, plan_id: int | None = None) -> pd.DataFrame:
    """Per rule, over calibration calls (of one plan or all): the findings both inspectors judged,
    how often they agreed, and Cohen's kappa of their own latest verdicts. For a role that makes plans."""
    require(viewer, "plans")
    if not _has_plans(con):
        return pd.DataFrame(columns=["rule_id", "findings", "agreed", "kappa"])
    rows = con.execute(
        f"""
        WITH pairs AS (  -- each calibration call's two inspectors, by name: the same person is always rater 1
            SELECT plan_id, call_id, list(inspector ORDER BY inspector) AS who
            FROM plan_calls WHERE call_id IN (SELECT call_id FROM plan_calls WHERE reason = 'calibration')
              AND ($plan IS NULL OR plan_id = $plan)
            GROUP BY plan_id, call_id HAVING count(*) = 2
        ),
        own AS (  -- each inspector's own latest judgement of a finding
            SELECT finding_id, reviewer, verdict FROM reviews
            WHERE finding_id IS NOT NULL AND verdict IN {JUDGEMENTS}
            QUALIFY row_number() OVER (PARTITION BY finding_id, reviewer ORDER BY created_at DESC, review_id DESC) = 1
        )
        SELECT f.rule_id, a.verdict AS first, b.verdict AS second
        FROM pairs p JOIN findings f USING (call_id)
        JOIN own a ON a.finding_id = f.finding_id AND a.reviewer = p.who[1]
        JOIN own b ON b.finding_id = f.finding_id AND b.reviewer = p.who[2]
        """,
        {"plan": plan_id},
    ).fetchall()
    by_rule: dict[str, list[tuple[str, str]]] = {}
    for rule_id, first, second in rows:
        by_rule.setdefault(rule_id, []).append((first, second))
    table: list[dict[str, Any]] = [
        {"rule_id": rule_id, "findings": len(pairs), "agreed": sum(a == b for a, b in pairs),
         "kappa": cohen_kappa(pairs)}
        for rule_id, pairs in sorted(by_rule.items())
    ]
    return pd.DataFrame(table, columns=["rule_id", "findings", "agreed", "kappa"])
