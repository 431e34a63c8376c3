"""Verdicts stay with what they judged: finding ids carried over across rescores.

An inspector's verdict points at a finding id. When a call's findings are
written again (a rescore under a changed rulebook, a re-transcription), each
new finding takes the id of the earlier finding it matches: the same rule,
the same message (which mandated line or step was missing), the same matched
phrase, and an overlapping span or the same anchor (a time window settings do
not move). The match is one to one, nearest anchor first, so when one of two
like findings disappears the other never inherits its verdict. Earlier
findings whose verdicts now match nothing stay in `reviews` with their
snapshot (rule, span, evidence, phrase, rulebook version) and are listed as
detached; a later write that brings such a finding back reattaches them.

A new finding with no match gets a fresh id, never one a verdict of the call
already names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import duckdb

__all__ = ["Carried", "DetachedVerdict", "FindingKey", "assign_ids", "detached_verdicts", "finding_id",
           "previous_findings"]

SPAN_TOLERANCE_S = 0.25  # spans this close count as overlapping (zero-length findings, jitter)
ANCHOR_TOLERANCE_S = 0.5  # re-transcription moves word times by a few hundred ms


@dataclass(frozen=True)
class FindingKey:
    """What identifies a finding for carrying a verdict over."""

    rule_id: str
    message: str | None  # None: a finding stored before messages were recorded (matches any)
    matched_phrase: str | None
    start_s: float
    end_s: float
    anchor_s: float | None


@dataclass(frozen=True)
class DetachedVerdict:
    """A verdict whose finding no rescore has matched since."""

    call_id: str
    finding_id: str
    rule_id: str
    verdict: str
    reviewer: str
    start_s: float | None
    end_s: float | None
    evidence: str | None
    rulebook_version: str | None


@dataclass
class Carried:
    """What a write did to the verdicts of the calls it rewrote."""

    kept: int = 0  # reviewed findings that are still there (same id)
    detached: list[DetachedVerdict] = field(default_factory=list)  # verdicts matching no finding now

    def extend(self, other: "Carried") -> None:
        self.kept += other.kept
        self.detached += other.detached


def finding_id(call_id: str, key: FindingKey, n: int = 0) -> str:
    """A fresh id from what the finding is, not from window settings (the anchor, not the span)."""
    anchor = key.start_s if key.anchor_s is None else key.anchor_s
    text = f"{call_id}\x1f{key.rule_id}\x1f{key.message or ''}\x1f{key.matched_phrase or ''}\x1f{anchor:.1f}\x1f{n}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _same_kind(old: FindingKey, new: FindingKey) -> bool:
    return (old.rule_id == new.rule_id and (old.message is None or old.message == new.message)
            and (old.matched_phrase or None) == (new.matched_phrase or None))


def _distance(old: FindingKey, new: FindingKey) -> float | None:
    """How far apart two findings of the same kind are; None when they cannot be the same finding."""
    overlap = old.start_s <= new.end_s + SPAN_TOLERANCE_S and new.start_s <= old.end_s + SPAN_TOLERANCE_S
    a = old.start_s if old.anchor_s is None else old.anchor_s
    b = new.start_s if new.anchor_s is None else new.anchor_s
    if not overlap and abs(a - b) > ANCHOR_TOLERANCE_S:
        return None
    return abs(a - b) + 0.01 * abs(old.start_s - new.start_s)


def assign_ids(call_id: str, new: Sequence[FindingKey], previous: dict[str, FindingKey],
               reserved: Iterable[str] = ()) -> list[str]:
    """Ids for `new` findings: the id of the earlier finding each matches, else a fresh one.

    `previous` maps the ids the call's findings and verdicts used to their
    keys; `reserved` are ids no fresh finding may take (every id a verdict of
    the call names).
    """
    pairs = []
    for i, key in enumerate(new):
        for fid, old in previous.items():
            if _same_kind(old, key):
                d = _distance(old, key)
                if d is not None:
                    pairs.append((d, i, fid))
    ids: list[str | None] = [None] * len(new)
    used: set[str] = set()
    for _, i, fid in sorted(pairs):
        if ids[i] is None and fid not in used:
            ids[i] = fid
            used.add(fid)
    taken = used | set(previous) | set(reserved)
    for i, key in enumerate(new):
        n = 0
        while ids[i] is None:
            fid = finding_id(call_id, key, n)
            if fid not in taken:
                ids[i] = fid
                taken.add(fid)
            n += 1
    return ids  # type: ignore[return-value]


# Findings are looked up within the calls in question only: the store may hold millions.
_PREVIOUS_SQL = """
    WITH current AS (
        SELECT call_id, finding_id, rule_id, message, matched_phrase, start_s, end_s, anchor_s FROM findings
        WHERE call_id IN (SELECT call_id FROM {ids})
    )
    SELECT * FROM current
    UNION ALL
    -- the snapshot of each detached verdict's finding (its newest verdict), so it can come back
    SELECT call_id, finding_id, rule_id, message, matched_phrase, start_s, coalesce(end_s, start_s), anchor_s
    FROM reviews r
    WHERE finding_id IS NOT NULL AND call_id IN (SELECT call_id FROM {ids})
      AND finding_id NOT IN (SELECT finding_id FROM current)
    QUALIFY row_number() OVER (PARTITION BY finding_id ORDER BY created_at DESC, review_id DESC) = 1
"""


def previous_findings(con: duckdb.DuckDBPyConnection, ids_table: str
                      ) -> tuple[dict[str, dict[str, FindingKey]], dict[str, set[str]]]:
    """Per call of the temp table `ids_table` (a constant name): the keys of its current
    findings and of its detached verdicts' findings, and every finding id its verdicts name."""
    previous: dict[str, dict[str, FindingKey]] = {}
    for cid, fid, rule, message, phrase, start, end, anchor in con.execute(
            _PREVIOUS_SQL.format(ids=ids_table)).fetchall():
        previous.setdefault(cid, {}).setdefault(fid, FindingKey(rule, message, phrase, start, end, anchor))
    reserved: dict[str, set[str]] = {}
    for cid, fid in con.execute(f"SELECT DISTINCT call_id, finding_id FROM reviews WHERE finding_id IS NOT NULL "
                                f"AND call_id IN (SELECT call_id FROM {ids_table})").fetchall():
        reserved.setdefault(cid, set()).add(fid)
    return previous, reserved


_DETACHED_SQL = """
    WITH current AS (SELECT finding_id FROM findings WHERE {where})
    SELECT r.call_id, r.finding_id, r.rule_id, r.verdict, r.reviewer, r.start_s, r.end_s, r.evidence,
           r.rulebook_version
    FROM reviews r
    WHERE r.finding_id IS NOT NULL AND {where} AND r.finding_id NOT IN (SELECT finding_id FROM current)
    QUALIFY row_number() OVER (PARTITION BY r.finding_id ORDER BY r.created_at DESC, r.review_id DESC) = 1
    ORDER BY r.call_id, r.start_s
"""


def detached_verdicts(con: duckdb.DuckDBPyConnection, call_id: str | None = None,
                      ids_table: str | None = None) -> list[DetachedVerdict]:
    """The newest verdict on each finding that no longer exists: of one call, of the calls
    in the temp table `ids_table`, or of the whole store."""
    if call_id is not None:
        rows = con.execute(_DETACHED_SQL.format(where="call_id = $call"), {"call": call_id}).fetchall()
    elif ids_table is not None:
        rows = con.execute(_DETACHED_SQL.format(where=f"call_id IN (SELECT call_id FROM {ids_table})")).fetchall()
    else:
        rows = con.execute(_DETACHED_SQL.format(where="TRUE")).fetchall()
    return [DetachedVerdict(*row) for row in rows]


def kept_verdicts(con: duckdb.DuckDBPyConnection, ids_table: str) -> int:
    """Findings of the calls in `ids_table` that carry a verdict."""
    return con.execute(
        f"SELECT count(DISTINCT f.finding_id) FROM findings f JOIN reviews r USING (finding_id) "
        f"WHERE f.call_id IN (SELECT call_id FROM {ids_table}) AND r.call_id IN (SELECT call_id FROM {ids_table})"
    ).fetchone()[0]
