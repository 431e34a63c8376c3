"""Everything that produced one stored score, and the score made again from it.

`explain_call` reads what the database holds for a call: the recording's
hash, the ASR and signal options, the model's name and weights hash, callqa's
version, the rulebook version (and the stored rulebook itself), the rule
results and findings. `reproduce_call` runs the stored rulebook over the
stored transcript and timeline again and lists every difference from the
stored results: none means the stored score is reproducible from the store
alone.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from qa.scoring import store
from qa.scoring.db import reading
from qa.scoring.rulebooks import stored_rulebook
from qa.scoring.score import rescore_transcript

__all__ = ["ExplainError", "Explanation", "Reproduction", "explain_call", "pretty_json", "reproduce_call"]

CALL_FIELDS = ("call_id", "path", "sha256", "status", "error", "duration_s", "channels", "sample_rate",
               "scored_at", "options_json", "signal_options_json", "model_name", "model_sha256", "callqa_version",
               "channel_roles", "roles_source", "roles_confidence",
               "rulebook_version", "metadata_json", "verify", "unheard")
# What a rerun of the rules must give again, finding by finding.
FINDING_FIELDS = ("rule_id", "start_s", "end_s", "role", "evidence", "matched_phrase", "similarity", "clause",
                  "severity", "message", "message_args", "anchor_s")


class ExplainError(Exception):
    """The call cannot be explained or reproduced; the message says why."""


@dataclass
class Explanation:
    call: dict[str, Any]
    score: dict[str, Any] | None
    rulebook: Any  # the stored Rulebook, or None when the store predates stored rulebooks
    rule_results: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    heard: list[dict[str, Any]] = field(default_factory=list)  # readings the audio was asked about


@dataclass
class Reproduction:
    differences: list[str]
    score: float | None
    passed: bool | None

    @property
    def same(self) -> bool:
        return not self.differences


def _dicts(con, sql: str, args: list) -> list[dict[str, Any]]:
    cur = con.execute(sql, args)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def explain_call(db_path: str | Path, call_id: str) -> Explanation:
    with reading(db_path) as con:
        calls = _dicts(con, f"SELECT {', '.join(CALL_FIELDS)} FROM calls WHERE call_id = ?", [call_id])
        if not calls:
            raise ExplainError(f"{db_path}: no call {call_id!r}")
        scores = _dicts(con, "SELECT rulebook_version, score, passed FROM scores WHERE call_id = ?", [call_id])
        score = scores[0] if scores else None
        version = score["rulebook_version"] if score else calls[0]["rulebook_version"]
        book = stored_rulebook(con, version) if version else None
        results = _dicts(con, "SELECT rule_id, outcome, points, detail FROM rule_results WHERE call_id = ? "
                              "ORDER BY rule_id", [call_id])
        findings = _dicts(con, f"SELECT finding_id, {', '.join(FINDING_FIELDS)} FROM findings WHERE call_id = ? "
                               f"ORDER BY rule_id, start_s, finding_id", [call_id])
        heard = _dicts(con, f"SELECT {', '.join(store.HEARD_COLS[1:])} FROM heard WHERE call_id = ? "
                            f"ORDER BY start_s, score DESC", [call_id])
    return Explanation(calls[0], score, book, results, findings, heard)


def _finding_key(f: dict[str, Any]) -> tuple:
    return tuple(f[k] for k in FINDING_FIELDS)


def reproduce_call(db_path: str | Path, call_id: str) -> Reproduction:
    """The stored rulebook over the stored transcript again, compared field by field with the stored results."""
    told = explain_call(db_path, call_id)
    if told.call["status"] != "scored" or told.score is None:
        raise ExplainError(f"{call_id}: not scored ({told.call['status']}: {told.call['error'] or 'no score'})")
    if told.rulebook is None:
        raise ExplainError(f"{call_id}: rulebook {told.score['rulebook_version']} is not stored in {db_path} "
                           f"(scored before rulebooks were kept); rescore once to store it")
    raw = store.stored_calls_by_id(db_path, [call_id])
    heard = store.stored_heard(db_path, [call_id]).get(call_id, ())
    stored = replace(store.stored_call(*raw[0]), heard=heard)
    # The stored answers of the audio only: a reproduction never asks the recording anew.
    result = rescore_transcript(stored, told.rulebook, verify=told.call.get("verify") is not False)
    rules, findings = store.result_rows(call_id, result.rule_results)
    differences = []
    if (result.score, result.passed) != (told.score["score"], told.score["passed"]):
        differences.append(f"score {told.score['score']} (passed {told.score['passed']}) stored, "
                           f"{result.score} (passed {result.passed}) now")
    stored_rules = {r["rule_id"]: (r["outcome"], r["points"], r["detail"]) for r in told.rule_results}
    for r in rules:
        was = stored_rules.pop(r.rule_id, None)
        if was != (r.outcome, r.points, r.detail):
            differences.append(f"{r.rule_id}: {was} stored, {(r.outcome, r.points, r.detail)} now")
    differences += [f"{rule_id}: stored but not produced now" for rule_id in stored_rules]
    old = Counter(_finding_key(f) for f in told.findings)
    new = Counter(_finding_key(f._asdict()) for f in findings)
    for f in sorted((old - new).elements(), key=repr):
        differences.append(f"finding stored but not produced now: {dict(zip(FINDING_FIELDS, f))}")
    for f in sorted((new - old).elements(), key=repr):
        differences.append(f"finding produced now but not stored: {dict(zip(FINDING_FIELDS, f))}")
    return Reproduction(differences, result.score, result.passed)


def pretty_json(text: str | None) -> str:
    return json.dumps(json.loads(text), ensure_ascii=False, indent=1, sort_keys=True) if text else "-"
