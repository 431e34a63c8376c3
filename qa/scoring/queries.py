"""Every query the dashboard runs, over a connection from `qa.scoring.db`.

Values are always bound parameters; the only text put into SQL is chosen
from fixed tables here (sort columns, filter fragments). Functions take an
open connection so a caller holds it for one short session
(`with reading(path) as con: ...`) and the nightly batch is never blocked.
Results are pandas DataFrames or plain dicts, ready to draw.
The phrase search lives in `queries_phrases`, verdicts in `queries_reviews`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb
import pandas as pd

from qa.access.roles import Viewer, call_scope

__all__ = [
    "CallFilter",
    "DECISIONS",
    "JUDGEMENTS",
    "LATEST_VERDICTS",
    "PENDING_APPEALS",
    "REVIEW_STATUSES",
    "SORT_COLUMNS",
    "call_findings",
    "call_header",
    "call_reviews",
    "call_rule_results",
    "call_utterances",
    "ensure_indexes",
    "filter_options",
    "group_trend",
    "is_empty",
    "judged",
    "latest_verdicts",
    "pending_appeals",
    "list_calls",
    "most_failed_rules",
    "night_trend",
    "overview",
    "rule_precision",
    "wilson_interval",
]

# When a call was made. A call without a start time has no date: it is left out of a date
# range and counted in the "unknown date" bucket, never placed at the night it was scored.
CALL_TIME = "c.started_at"

REVIEW_STATUSES = ("any", "unreviewed", "partly_reviewed", "reviewed", "disputed", "appealed", "missed")
# user-facing sort key -> SQL expression (never user text)
SORT_COLUMNS = {
    "started_at": CALL_TIME,
    "score": "s.score",
    "duration_s": "c.duration_s",
    "agent_id": "c.agent_id",
    "team": "c.team",
    "call_id": "c.call_id",
}

# Indexes for the per-call lookups of the detail page and the list's page
# enrichment; the primary keys on (call_id, idx) and (call_id, rule_id) are
# composite, and DuckDB only scans single-column indexes for `call_id = ?`.
INDEXES = {
    "idx_utterances_call": "utterances(call_id)",
    "idx_findings_call": "findings(call_id)",
    "idx_rule_results_call": "rule_results(call_id)",
    "idx_reviews_call": "reviews(call_id)",
    "idx_reviews_finding": "reviews(finding_id)",
}

JUDGEMENTS = ("confirmed", "false_positive")  # an inspector's verdict on a finding
DECISIONS = ("upheld", "overturned")  # a supervisor's decision on an appeal


def judged(by: str | None = None) -> str:
    """SQL true when finding `f` has a verdict: anyone's, or the own judgement of the reviewer
    `by` names (a constant SQL expression: a column, or `?`)."""
    if by is None:
        return "EXISTS (SELECT 1 FROM reviews v WHERE v.finding_id = f.finding_id)"
    return (f"EXISTS (SELECT 1 FROM reviews v WHERE v.finding_id = f.finding_id AND v.reviewer = {by} "
            f"AND v.verdict IN {JUDGEMENTS})")


def latest_verdicts(where: str = "TRUE") -> str:
    """SQL for the verdict that counts on each finding (reviews are append-only): the newest
    judgement, where an appeal's decision is one too (upheld: confirmed, overturned: a false
    positive). An appeal alone changes nothing until it is decided. `where` is a constant
    filter on `reviews`."""
    return f"""
    SELECT finding_id, call_id,
           CASE verdict WHEN 'upheld' THEN 'confirmed' WHEN 'overturned' THEN 'false_positive' ELSE verdict END
               AS verdict,
           reviewer, comment, created_at, review_id
    FROM reviews WHERE finding_id IS NOT NULL AND verdict IN {JUDGEMENTS + DECISIONS} AND {where}
    QUALIFY row_number() OVER (PARTITION BY finding_id ORDER BY created_at DESC, review_id DESC) = 1
    """


def pending_appeals(where: str = "TRUE") -> str:
    """SQL for the appeals not decided yet: the newest appeal on each finding, filed after the
    verdict that counts now. `where` is a constant filter on `reviews`, as for `latest_verdicts`."""
    return f"""
    SELECT a.finding_id, a.call_id, a.reviewer, a.comment, a.created_at
    FROM (SELECT * FROM reviews WHERE verdict = 'appeal' AND {where}) a
    LEFT JOIN ({latest_verdicts(where)}) l USING (finding_id)
    WHERE a.review_id > coalesce(l.review_id, -1)
    QUALIFY row_number() OVER (PARTITION BY a.finding_id ORDER BY a.review_id DESC) = 1
    """


LATEST_VERDICTS = latest_verdicts()
PENDING_APPEALS = pending_appeals()


def ensure_indexes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create the dashboard's indexes once; returns the names created now."""
    existing = {row[0] for row in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
    created = []
    for name, target in INDEXES.items():
        if name not in existing:
            con.execute(f"CREATE INDEX {name} ON {target}")  # names and targets are constants above
            created.append(name)
    return created


def is_empty(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT count(*) FROM calls").fetchone()[0] == 0


def date_clause(date_from: date | None, date_to: date | None, column: str = CALL_TIME) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if date_from is not None:
        clauses.append(f"{column} >= ?")
        params.append(date_from)
    if date_to is not None:  # inclusive day: everything before the next midnight
        clauses.append(f"{column} < ?")
        params.append(date_to + timedelta(days=1))
    return (" AND ".join(clauses) or "TRUE"), params


def scoped(viewer: Viewer, date_from: date | None = None, date_to: date | None = None) -> tuple[str, list[Any]]:
    """SQL over `calls c`: the viewer's calls (`qa.access.roles.call_scope`) within the dates."""
    scope, params = call_scope(viewer)
    dates, more = date_clause(date_from, date_to)
    return f"{scope} AND {dates}", params + more


def overview(con: duckdb.DuckDBPyConnection, viewer: Viewer, date_from: date | None = None,
             date_to: date | None = None) -> dict[str, Any]:
    where, params = scoped(viewer, date_from, date_to)
    row = con.execute(
        f"""
        SELECT count(*) FILTER (WHERE c.status = 'scored'),
               count(*) FILTER (WHERE c.status = 'error'),
               avg(s.score), avg(CASE WHEN s.passed THEN 1.0 ELSE 0.0 END),
               min({CALL_TIME}), max({CALL_TIME})
        FROM calls c LEFT JOIN scores s USING (call_id) WHERE {where}
        """,
        params,
    ).fetchone()
    keys = ("calls_scored", "calls_failed_to_score", "mean_score", "pass_rate", "first_call", "last_call")
    return dict(zip(keys, row))


def night_trend(con: duckdb.DuckDBPyConnection, viewer: Viewer, date_from: date | None = None,
                date_to: date | None = None) -> pd.DataFrame:
    """Calls, mean score and pass rate per night (the day the calls were made)."""
    where, params = scoped(viewer, date_from, date_to)
    return con.execute(
        f"""
        SELECT CAST({CALL_TIME} AS DATE) AS night, count(*) AS calls,  -- NULL: the unknown-date bucket
               round(avg(s.score), 2) AS mean_score,
               round(avg(CASE WHEN s.passed THEN 1.0 ELSE 0.0 END), 4) AS pass_rate
        FROM calls c JOIN scores s USING (call_id) WHERE {where}
        GROUP BY night ORDER BY night NULLS LAST
        """,
        params,
    ).df()


def group_trend(con: duckdb.DuckDBPyConnection, viewer: Viewer, by: str, date_from: date | None = None,
                date_to: date | None = None) -> pd.DataFrame:
    """Calls, mean score and pass rate per agent or per team."""
    column = {"agent": "c.agent_id", "team": "c.team"}[by]
    where, params = scoped(viewer, date_from, date_to)
    return con.execute(
        f"""
        SELECT coalesce({column}, '(none)') AS {by}, count(*) AS calls,
               round(avg(s.score), 2) AS mean_score,
               round(avg(CASE WHEN s.passed THEN 1.0 ELSE 0.0 END), 4) AS pass_rate
        FROM calls c JOIN scores s USING (call_id) WHERE {where}
        GROUP BY 1 ORDER BY mean_score, 1
        """,
        params,
    ).df()


def most_failed_rules(con: duckdb.DuckDBPyConnection, viewer: Viewer, date_from: date | None = None,
                      date_to: date | None = None, limit: int = 20) -> pd.DataFrame:
    where, params = scoped(viewer, date_from, date_to)
    return con.execute(
        f"""
        SELECT r.rule_id, count(*) AS failed_calls,
               round(count(*) / (SELECT count(*) FROM calls c JOIN scores USING (call_id) WHERE {where}), 4) AS share_of_calls,
               sum(r.points) AS points_deducted
        FROM rule_results r JOIN calls c USING (call_id)
        WHERE r.outcome = 'fail' AND {where}
        GROUP BY r.rule_id ORDER BY failed_calls DESC, r.rule_id LIMIT ?
        """,
        params + params + [limit],
    ).df()


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float] | tuple[None, None]:
    """The Wilson score interval of a proportion (95% by default); (None, None) without trials.

    Unlike successes/n +- a normal error, it stays inside [0, 1] and is wide for
    small n: one confirmation out of one gives 0.21..1.00, not "100%".
    """
    if n <= 0:
        return None, None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def rule_precision(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> pd.DataFrame:
    """Per rule, over the viewer's calls: findings, verdicts and precision = confirmed / (confirmed + false
    positives), with its 95% Wilson interval (`precision_low`, `precision_high`)."""
    table = _rule_precision(con, viewer)
    bounds = [wilson_interval(int(c), int(c + f)) for c, f in zip(table["confirmed"], table["false_positive"])]
    table["precision_low"] = [b[0] for b in bounds]
    table["precision_high"] = [b[1] for b in bounds]
    return table


def _rule_precision(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> pd.DataFrame:
    scope, params = call_scope(viewer)
    mine = "TRUE" if scope == "TRUE" else f"call_id IN (SELECT c.call_id FROM calls c WHERE {scope})"
    params = params * 2  # per rule, then the missed reports
    return con.execute(
        f"""
        WITH latest AS ({LATEST_VERDICTS}),
        per_rule AS (
            SELECT f.rule_id, count(*) AS findings,
                   count(l.verdict) AS reviewed,
                   count(*) FILTER (WHERE l.verdict = 'confirmed') AS confirmed,
                   count(*) FILTER (WHERE l.verdict = 'false_positive') AS false_positive
            FROM findings f LEFT JOIN latest l USING (finding_id) WHERE {mine.replace('call_id', 'f.call_id', 1)}
            GROUP BY f.rule_id
        ),
        missed AS (
            SELECT rule_id, count(*) AS missed FROM reviews WHERE verdict = 'missed' AND {mine} GROUP BY rule_id
        )
        SELECT coalesce(p.rule_id, m.rule_id) AS rule_id,
               coalesce(p.findings, 0) AS findings, coalesce(p.reviewed, 0) AS reviewed,
               coalesce(p.confirmed, 0) AS confirmed, coalesce(p.false_positive, 0) AS false_positive,
               CASE WHEN p.confirmed + p.false_positive > 0
                    THEN round(p.confirmed / (p.confirmed + p.false_positive), 4) END AS precision,
               coalesce(m.missed, 0) AS missed_reports
        FROM per_rule p FULL OUTER JOIN missed m ON p.rule_id = m.rule_id
        ORDER BY precision NULLS LAST, rule_id
        """, params
    ).df()


def filter_options(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> dict[str, Any]:
    """The values the call list's filters offer, from the viewer's calls."""
    scope, params = call_scope(viewer)

    def values(sql: str) -> list[Any]:
        return [r[0] for r in con.execute(sql, params).fetchall()]

    agents = values(f"SELECT DISTINCT agent_id FROM calls c WHERE agent_id IS NOT NULL AND {scope} ORDER BY 1")
    teams = values(f"SELECT DISTINCT team FROM calls c WHERE team IS NOT NULL AND {scope} ORDER BY 1")
    rules = values("SELECT DISTINCT rule_id FROM rule_results" + (
        "" if scope == "TRUE" else f" WHERE call_id IN (SELECT c.call_id FROM calls c WHERE {scope})") + " ORDER BY 1")
    first, last = con.execute(f"SELECT min({CALL_TIME}), max({CALL_TIME}) FROM calls c WHERE {scope}", params).fetchone()
    return {"agents": agents, "teams": teams, "rules": rules, "first_call": first, "last_call": last}


@dataclass(frozen=True)
class CallFilter:
    date_from: date | None = None
    date_to: date | None = None
    agents: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    score_min: float | None = None
    score_max: float | None = None
    failed_rule: str | None = None
    review_status: str = "any"
    sort: str = "started_at"
    descending: bool = True
    page: int = 0
    page_size: int = 50


# A call is reviewed when every finding has a verdict (a call without findings, once an
# inspector reported on it); partly reviewed while some findings still wait.
_JUDGED = judged()
_ANY_WAITING = f"EXISTS (SELECT 1 FROM findings f WHERE f.call_id = c.call_id AND NOT {_JUDGED})"
_ANY_REVIEW = "EXISTS (SELECT 1 FROM reviews v WHERE v.call_id = c.call_id)"
_REVIEW_WHERE = {
    "any": "TRUE",
    "unreviewed": f"NOT {_ANY_REVIEW}",
    "partly_reviewed": f"{_ANY_WAITING} AND {_ANY_REVIEW}",
    "reviewed": f"NOT {_ANY_WAITING} AND {_ANY_REVIEW}",
    "disputed": f"c.call_id IN (SELECT l.call_id FROM ({LATEST_VERDICTS}) l JOIN findings f USING (finding_id) "
                "WHERE l.verdict = 'false_positive')",
    "missed": "EXISTS (SELECT 1 FROM reviews v WHERE v.call_id = c.call_id AND v.verdict = 'missed')",
    "appealed": f"c.call_id IN (SELECT call_id FROM ({PENDING_APPEALS}))",
}


def _call_where(viewer: Viewer, flt: CallFilter) -> tuple[str, list[Any]]:
    if flt.review_status not in _REVIEW_WHERE:
        raise ValueError(f"review status {flt.review_status!r}: expected one of {', '.join(REVIEW_STATUSES)}")
    where, params = scoped(viewer, flt.date_from, flt.date_to)
    clauses = [where, _REVIEW_WHERE[flt.review_status]]
    if flt.agents:
        clauses.append("list_contains(?::VARCHAR[], c.agent_id)")
        params.append(list(flt.agents))
    if flt.teams:
        clauses.append("list_contains(?::VARCHAR[], c.team)")
        params.append(list(flt.teams))
    if flt.score_min is not None:
        clauses.append("s.score >= ?")
        params.append(flt.score_min)
    if flt.score_max is not None:
        clauses.append("s.score <= ?")
        params.append(flt.score_max)
    if flt.failed_rule:
        clauses.append(
            "EXISTS (SELECT 1 FROM rule_results r WHERE r.call_id = c.call_id AND r.rule_id = ? AND r.outcome = 'fail')"
        )
        params.append(flt.failed_rule)
    return " AND ".join(clauses), params


def list_calls(con: duckdb.DuckDBPyConnection, viewer: Viewer, flt: CallFilter) -> tuple[pd.DataFrame, int]:
    """One page of the viewer's calls matching `flt`, sorted in SQL, and the total count."""
    if flt.sort not in SORT_COLUMNS:
        raise ValueError(f"sort {flt.sort!r}: expected one of {', '.join(SORT_COLUMNS)}")
    where, params = _call_where(viewer, flt)
    # scores are joined to every call only when the filter or the order needs them
    by_score = flt.sort == "score" or flt.score_min is not None or flt.score_max is not None
    base = f"FROM calls c {'LEFT JOIN scores s USING (call_id)' if by_score else ''} WHERE {where}"
    order = f"{SORT_COLUMNS[flt.sort]} {'DESC' if flt.descending else 'ASC'} NULLS LAST, c.call_id"
    size = max(1, flt.page_size)
    # the total rides along as a window count: one scan of the calls instead of two
    page = con.execute(
        f"""
        SELECT c.call_id, c.started_at, c.agent_id, c.team, c.duration_s, c.status, count(*) OVER () AS total
        {base} ORDER BY {order} LIMIT ? OFFSET ?
        """,
        params + [size, max(0, flt.page) * size],
    ).df()
    columns = ["call_id", "started_at", "agent_id", "team", "duration_s", "score", "passed", "status"]
    if page.empty:  # past the last page: count on its own
        total = con.execute(f"SELECT count(*) {base}", params).fetchone()[0]
        return page.assign(score=[], passed=[])[columns].assign(failed_rules=[], findings=[], judged=[]), total
    total = int(page["total"].iloc[0])
    # the rest only for the page's calls, never for the whole store
    ids = page["call_id"].tolist()
    scores = {c: (score, passed) for c, score, passed in con.execute(
        "SELECT call_id, score, passed FROM scores WHERE list_contains(?::VARCHAR[], call_id)", [ids]
    ).fetchall()}
    page["score"] = [scores.get(c, (None, None))[0] for c in ids]
    page["passed"] = [scores.get(c, (None, None))[1] for c in ids]
    page = page[columns]
    failed = dict(con.execute(
        """SELECT call_id, string_agg(rule_id, ', ' ORDER BY rule_id) FROM rule_results
           WHERE outcome = 'fail' AND list_contains(?::VARCHAR[], call_id) GROUP BY call_id""",
        [ids],
    ).fetchall())
    judged = {c: (n, j) for c, n, j in con.execute(
        f"""SELECT f.call_id, count(*), count(*) FILTER (WHERE {_JUDGED}) FROM findings f
            WHERE list_contains(?::VARCHAR[], f.call_id) GROUP BY f.call_id""",
        [ids],
    ).fetchall()}
    return page.assign(
        failed_rules=[failed.get(c, "") for c in ids],
        findings=[judged.get(c, (0, 0))[0] for c in ids],
        judged=[judged.get(c, (0, 0))[1] for c in ids],
    ), total


def call_header(con: duckdb.DuckDBPyConnection, call_id: str) -> dict[str, Any] | None:
    cur = con.execute(
        """
        SELECT c.call_id, c.path, c.duration_s, c.channels, c.sample_rate, c.agent_id, c.team,
               c.started_at, c.direction, c.ring_count, c.ring_source, c.answer_onset_s, c.status,
               c.error, c.timeline_json, c.scored_at, s.score, s.passed,
               coalesce(s.rulebook_version, c.rulebook_version) AS rulebook_version
        FROM calls c LEFT JOIN scores s USING (call_id) WHERE c.call_id = ?
        """,
        [call_id],
    )
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cur.description], row))


def call_utterances(con: duckdb.DuckDBPyConnection, call_id: str, raw: bool = True) -> pd.DataFrame:
    """The call's lines; not `raw`: personal numbers masked (and no word times where they were masked)."""
    text = "text" if raw else "coalesce(redacted_text, text) AS text"
    words = "words_json" if raw else "CASE WHEN redacted_text IS NULL THEN words_json END AS words_json"
    return con.execute(
        f"SELECT idx, role, channel, start_s, end_s, {text}, {words} FROM utterances WHERE call_id = ? "
        "ORDER BY start_s, idx",
        [call_id],
    ).df()


def call_findings(con: duckdb.DuckDBPyConnection, call_id: str, raw: bool = True) -> pd.DataFrame:
    """The call's findings with the verdict that counts on each, and its pending appeal; not `raw`: the
    evidence with personal numbers masked."""
    evidence = "f.evidence" if raw else "coalesce(f.evidence_redacted, f.evidence) AS evidence"
    return con.execute(
        f"""
        WITH latest AS ({latest_verdicts("call_id = $call")}),
        appeals AS ({pending_appeals("call_id = $call")})
        SELECT f.finding_id, f.rule_id, f.start_s, f.end_s, f.role, {evidence}, f.matched_phrase,
               f.similarity, f.clause, f.severity, l.verdict, l.reviewer, l.comment AS review_comment,
               l.created_at AS reviewed_at, a.comment AS appeal, a.reviewer AS appealed_by,
               a.created_at AS appealed_at
        FROM findings f LEFT JOIN latest l USING (finding_id) LEFT JOIN appeals a USING (finding_id)
        WHERE f.call_id = $call ORDER BY f.start_s, f.rule_id
        """,
        {"call": call_id},
    ).df()


def call_rule_results(con: duckdb.DuckDBPyConnection, call_id: str) -> pd.DataFrame:
    return con.execute(
        "SELECT rule_id, outcome, points, detail FROM rule_results WHERE call_id = ? ORDER BY rule_id", [call_id]
    ).df()


def call_reviews(con: duckdb.DuckDBPyConnection, call_id: str) -> pd.DataFrame:
    """Every verdict on the call, newest first (the audit trail)."""
    return con.execute(
        """
        SELECT review_id, finding_id, rule_id, verdict, reviewer, comment, start_s, created_at
        FROM reviews WHERE call_id = ? ORDER BY created_at DESC, review_id DESC
        """,
        [call_id],
    ).df()
