"""One call under review: what the inspector sees, the verdicts, the reviewed score.

Reviews are append-only; the newest verdict on a finding wins
(`queries.LATEST_VERDICTS`). An appeal (申诉) disputes a confirmed finding
with a reason; a supervisor then upholds it (the finding stays confirmed) or
overturns it (it becomes a false positive, and the reviewed score gives the
points back). Use `record_review` inside `db.writing(path)`.
"""

from __future__ import annotations

from typing import Any

import duckdb

from qa.access.audit import record
from qa.access.roles import Viewer, may_open_call, require, require_call
from qa.i18n import Explained

from qa.scoring.queries import (
    DECISIONS, JUDGEMENTS, call_findings, call_header, call_reviews, call_rule_results, call_utterances,
    latest_verdicts, pending_appeals,
)
from qa.scoring.rulebooks import stored_rulebook
from qa.scoring.verdicts import detached_verdicts

__all__ = ["DECISIONS", "JUDGEMENTS", "ReviewError", "VERDICTS", "call_detail", "record_review", "reviewed_score"]

VERDICTS = JUDGEMENTS + ("missed", "appeal") + DECISIONS


class ReviewError(Explained):
    """A verdict cannot be stored; the message says what is missing or wrong."""


def reviewed_score(con: duckdb.DuckDBPyConnection, call_id: str) -> float | None:
    """The score after inspectors' verdicts, under the rulebook the call was scored with.

    A failed rule whose findings were all judged false positives gets its
    points back; a rule reported as missed (and not already failed) loses its
    points in that rulebook. Only verdicts still attached to a finding count.
    """
    row = con.execute("SELECT score, rulebook_version FROM scores WHERE call_id = ?", [call_id]).fetchone()
    if row is None:
        return None
    score, version = float(row[0]), row[1]
    book = stored_rulebook(con, version)
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
        if book is not None and rule_id in book.rules:
            score -= book.rules[rule_id].points
        else:  # a store from before rulebooks were kept: the most it ever deducted for the rule
            seen = con.execute(
                "SELECT max(points) FROM rule_results WHERE rule_id = ? AND outcome = 'fail'", [rule_id]
            ).fetchone()[0]
            score -= float(seen or 0.0)
    full = book.scorecard.full_marks if book is not None and book.scorecard else 100.0
    return max(0.0, min(full, score))


# which right each verdict needs (`qa.access.roles`)
VERDICT_ACTION = {**{v: "judge" for v in JUDGEMENTS + ("missed",)}, "appeal": "appeal",
                  **{v: "decide" for v in DECISIONS}}


def record_review(
    con: duckdb.DuckDBPyConnection,
    viewer: Viewer,
    *,
    call_id: str,
    verdict: str,
    finding_id: str | None = None,
    rule_id: str | None = None,
    comment: str | None = None,
    start_s: float | None = None,
) -> int:
    """Append one verdict by `viewer` (use inside `writing(path)`), and its line in the audit log;
    returns its review_id. The role must allow the verdict and the call."""
    if verdict not in VERDICTS:
        raise ReviewError("verdict {verdict!r}: expected one of {expected}", verdict=verdict, expected=", ".join(VERDICTS))
    require(viewer, VERDICT_ACTION[verdict])
    require_call(con, viewer, call_id)
    if verdict == "missed":
        if finding_id is not None:
            raise ReviewError("a missed-violation report does not point at a finding")
        if not rule_id and not (comment and comment.strip()):
            raise ReviewError("a missed-violation report needs the rule or a comment saying what was missed")
    snapshot: dict[str, Any] = {"end_s": None, "anchor_s": None, "evidence": None, "matched_phrase": None,
                                "message": None}
    if verdict in ("appeal",) + DECISIONS:
        _check_appeal(con, verdict, finding_id, comment)
    if verdict != "missed":
        if finding_id is None:
            raise ReviewError("a {verdict} verdict needs the finding it judges", verdict=verdict)
        cur = con.execute(
            "SELECT rule_id, start_s, end_s, anchor_s, evidence, matched_phrase, message FROM findings "
            "WHERE finding_id = ? AND call_id = ?", [finding_id, call_id])
        row = cur.fetchone()
        if row is None:
            raise ReviewError("finding {finding!r} is not in call {call!r}", finding=finding_id, call=call_id)
        found = dict(zip([d[0] for d in cur.description], row))
        rule_id = rule_id or found.pop("rule_id")
        start_s = found.pop("start_s") if start_s is None else start_s
        snapshot.update({k: v for k, v in found.items() if k in snapshot})
    version = con.execute("SELECT rulebook_version FROM calls WHERE call_id = ?", [call_id]).fetchone()[0]
    record(con, viewer, "verdict", call_id=call_id, finding_id=finding_id, detail=verdict)
    # What was judged is stored with the verdict, so it can be matched to the
    # same finding after a rescore and shown even when no finding matches.
    return con.execute(
        """
        INSERT INTO reviews (call_id, finding_id, rule_id, verdict, reviewer, comment, start_s,
                             end_s, anchor_s, evidence, matched_phrase, message, rulebook_version)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING review_id
        """,
        [call_id, finding_id, rule_id, verdict, viewer.name, (comment or "").strip() or None, start_s,
         snapshot["end_s"], snapshot["anchor_s"], snapshot["evidence"], snapshot["matched_phrase"],
         snapshot["message"], version],
    ).fetchone()[0]


def _check_appeal(con: duckdb.DuckDBPyConnection, verdict: str, finding_id: str | None, comment: str | None) -> None:
    """An appeal needs a confirmed finding, none pending, and a reason; a decision needs a pending appeal."""
    if finding_id is None:
        raise ReviewError("{verdict}: name the finding", verdict=verdict)
    counted = con.execute(f"SELECT verdict FROM ({latest_verdicts('finding_id = $f')})", {"f": finding_id}).fetchone()
    pending = con.execute(f"SELECT count(*) FROM ({pending_appeals('finding_id = $f')})",
                          {"f": finding_id}).fetchone()[0] > 0
    if verdict == "appeal":
        if counted is None or counted[0] != "confirmed":
            raise ReviewError("only a confirmed finding can be appealed")
        if pending:
            raise ReviewError("this finding's appeal is still waiting for a decision")
        if not (comment and comment.strip()):
            raise ReviewError("an appeal needs the reason")
    elif not pending:
        raise ReviewError("{verdict}: this finding has no appeal waiting for a decision", verdict=verdict)


def call_detail(con: duckdb.DuckDBPyConnection, viewer: Viewer, call_id: str) -> dict[str, Any] | None:
    """Everything an inspector sees for one call, read in one session; None if no such call or not the
    viewer's to open (the two look alike). A role without raw text gets the masked transcript.

    `rulebook` is the one the call was scored with (None for a store from
    before rulebooks were kept); `detached` the verdicts no finding matches now.
    """
    if not may_open_call(con, viewer, call_id):
        return None
    header = call_header(con, call_id)
    if header is None:
        return None
    version = header.get("rulebook_version")
    raw = viewer.rights.raw_text
    return {
        "rulebook": stored_rulebook(con, version) if version else None,
        "call": header,
        "utterances": call_utterances(con, call_id, raw),
        "findings": call_findings(con, call_id, raw),
        "rule_results": call_rule_results(con, call_id),
        "reviews": call_reviews(con, call_id),
        "detached": detached_verdicts(con, call_id),
        "reviewed_score": reviewed_score(con, call_id),
    }
