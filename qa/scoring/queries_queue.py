"""The review queue: the next finding no inspector has judged, across calls.

Order: calls that failed (a critical finding or too few points) first, then
the finding's severity (critical, major, minor), then the call's start time
(undated calls last), the call and the finding's time. "Judged" means the
finding has a verdict in `reviews`; under a sampling plan, a verdict of the
inspector the plan gave the call to (a calibration call waits for both).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from qa.access.roles import Viewer
from qa.scoring.queries import JUDGEMENTS, judged, scoped

__all__ = ["QueueFilter", "next_finding", "queue_progress"]

SEVERITY_RANK = "CASE f.severity WHEN 'critical' THEN 0 WHEN 'major' THEN 1 WHEN 'minor' THEN 2 ELSE 3 END"


@dataclass(frozen=True)
class QueueFilter:
    rules: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    date_from: date | None = None  # nights, by the call's start (undated calls only without a range)
    date_to: date | None = None
    plan_id: int | None = None  # only the calls a sampling plan gave the viewer; judged = judged by them


def _where(viewer: Viewer, flt: QueueFilter) -> tuple[str, list[Any]]:
    where, params = scoped(viewer, flt.date_from, flt.date_to)
    clauses = [where]
    for column, values in (("f.rule_id", flt.rules), ("c.agent_id", flt.agents), ("c.team", flt.teams)):
        if values:
            clauses.append(f"list_contains(?::VARCHAR[], {column})")  # columns are constants
            params.append(list(values))
    if flt.plan_id is not None:
        clauses.append("EXISTS (SELECT 1 FROM plan_calls pc WHERE pc.call_id = f.call_id AND pc.plan_id = ? "
                       "AND pc.inspector = ?)")
        params += [flt.plan_id, viewer.name]
    return " AND ".join(clauses), params


def _judged(viewer: Viewer, flt: QueueFilter) -> tuple[str, list[Any]]:
    """SQL true when finding f has its verdict: anyone's, or under a plan the viewer's own."""
    if flt.plan_id is None:
        return judged(), []
    return judged(by="?"), [viewer.name]


def next_finding(con: duckdb.DuckDBPyConnection, viewer: Viewer, flt: QueueFilter,
                 skip: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The first unjudged finding of the viewer's calls under `flt`, leaving out the finding ids in `skip`;
    None when done."""
    where, params = _where(viewer, flt)
    judged, judged_params = _judged(viewer, flt)
    cur = con.execute(
        f"""
        SELECT f.finding_id, f.call_id, f.rule_id, f.start_s, f.end_s, f.severity, s.passed
        FROM findings f JOIN calls c USING (call_id) LEFT JOIN scores s USING (call_id)
        WHERE {where} AND NOT list_contains(?::VARCHAR[], f.finding_id) AND NOT {judged}
        ORDER BY coalesce(s.passed, TRUE), {SEVERITY_RANK}, c.started_at NULLS LAST, f.call_id, f.start_s, f.rule_id
        LIMIT 1
        """,
        params + [list(skip)] + judged_params,
    )
    row = cur.fetchone()
    return None if row is None else dict(zip([d[0] for d in cur.description], row))


def queue_progress(con: duckdb.DuckDBPyConnection, viewer: Viewer, flt: QueueFilter) -> dict[str, int]:
    """How many findings of the viewer's calls under `flt` are judged and how many wait.

    Counted from the few reviews, not by probing every finding for one; the
    calls are joined only when the filter or the viewer's scope needs them.
    """
    where, params = _where(viewer, flt)
    needs_calls = flt.date_from or flt.date_to or flt.agents or flt.teams or viewer.rights.calls != "all"
    calls = "JOIN calls c ON c.call_id = f.call_id" if needs_calls else ""
    total = con.execute(f"SELECT count(*) FROM findings f {calls} WHERE {where}", params).fetchone()[0]
    if flt.plan_id is None:
        mine, mine_params = "", []
    else:
        mine, mine_params = f"AND v.reviewer = ? AND v.verdict IN {JUDGEMENTS}", [viewer.name]
    judged = con.execute(
        f"""SELECT count(DISTINCT f.finding_id) FROM reviews v JOIN findings f USING (finding_id) {calls}
            WHERE {where} {mine}""",
        params + mine_params,
    ).fetchone()[0]
    return {"judged": int(judged), "waiting": int(total - judged), "total": int(total)}
