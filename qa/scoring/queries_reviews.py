"""One call under review: what the inspector sees, the verdicts, the reviewed score.

Reviews are append-only; the newest verdict on a finding wins
(`queries.LATEST_VERDICTS`). Use `record_review` inside `db.writing(path)`.
"""

from __future__ import annotations

from typing import Any

import duckdb

from qa.scoring.queries import call_findings, call_header, call_reviews, call_rule_results, call_utterances

__all__ = ["ReviewError", "VERDICTS", "call_detail", "record_review", "reviewed_score"]

VERDICTS = ("confirmed", "false_positive", "missed")


class ReviewError(ValueError):
    """A verdict cannot be stored; the message says what is missing or wrong."""


def reviewed_score(
    con: duckdb.DuckDBPyConnection, call_id: str, rule_points: dict[str, float] | None = None
) -> float | None:
    """The score after inspectors' verdicts.

    A failed rule whose findings were all judged false positives gets its
    points back; a rule reported as missed (and not already failed) loses
    its points: `rule_points`, else the most the store ever deducted for it.
    """
    row = con.execute("SELECT score FROM scores WHERE call_id = ?", [call_id]).fetchone()
    if row is None:
        return None
    score = float(row[0])
    results = call_rule_results(con, call_id)
    findings = call_findings(con, call_id)
    failed = results[results["outcome"] == "fail"]
    for rule_id, points in zip(failed["rule_id"], failed["points"]):
        verdicts = findings.loc[findings["rule_id"] == rule_id, "verdict"]
        if len(verdicts) and (verdicts == "false_positive").all():
            score += float(points)
    missed = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT rule_id FROM reviews WHERE call_id = ? AND verdict = 'missed' AND rule_id IS NOT NULL",
            [call_id],
        ).fetchall()
    }
    for rule_id in sorted(missed - set(failed["rule_id"])):
        if rule_points and rule_id in rule_points:
            score -= float(rule_points[rule_id])
        else:
            seen = con.execute(
                "SELECT max(points) FROM rule_results WHERE rule_id = ? AND outcome = 'fail'", [rule_id]
            ).fetchone()[0]
            score -= float(seen or 0.0)
    return max(0.0, min(100.0, score))


def record_review(
    con: duckdb.DuckDBPyConnection,
    *,
    call_id: str,
    verdict: str,
    reviewer: str,
    finding_id: str | None = None,
    rule_id: str | None = None,
    comment: str | None = None,
    start_s: float | None = None,
) -> int:
    """Append one verdict (use inside `writing(path)`); returns its review_id."""
    if verdict not in VERDICTS:
        raise ReviewError(f"verdict {verdict!r}: expected one of {', '.join(VERDICTS)}")
    if not reviewer or not reviewer.strip():
        raise ReviewError("a verdict needs the reviewer's name")
    if con.execute("SELECT count(*) FROM calls WHERE call_id = ?", [call_id]).fetchone()[0] == 0:
        raise ReviewError(f"no call {call_id!r} in the store")
    if verdict == "missed":
        if finding_id is not None:
            raise ReviewError("a missed-violation report does not point at a finding")
        if not rule_id and not (comment and comment.strip()):
            raise ReviewError("a missed-violation report needs the rule or a comment saying what was missed")
    else:
        if finding_id is None:
            raise ReviewError(f"a {verdict} verdict needs the finding it judges")
        row = con.execute(
            "SELECT rule_id, start_s FROM findings WHERE finding_id = ? AND call_id = ?", [finding_id, call_id]
        ).fetchone()
        if row is None:
            raise ReviewError(f"finding {finding_id!r} is not in call {call_id!r}")
        rule_id = rule_id or row[0]
        start_s = row[1] if start_s is None else start_s
    return con.execute(
        """
        INSERT INTO reviews (call_id, finding_id, rule_id, verdict, reviewer, comment, start_s)
        VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING review_id
        """,
        [call_id, finding_id, rule_id, verdict, reviewer.strip(), (comment or "").strip() or None, start_s],
    ).fetchone()[0]


def call_detail(
    con: duckdb.DuckDBPyConnection, call_id: str, rule_points: dict[str, float] | None = None
) -> dict[str, Any] | None:
    """Everything an inspector sees for one call, read in one session; None if no such call."""
    header = call_header(con, call_id)
    if header is None:
        return None
    return {
        "call": header,
        "utterances": call_utterances(con, call_id),
        "findings": call_findings(con, call_id),
        "rule_results": call_rule_results(con, call_id),
        "reviews": call_reviews(con, call_id),
        "reviewed_score": reviewed_score(con, call_id, rule_points),
    }
