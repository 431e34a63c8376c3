"""Writing scored calls to DuckDB and reading them back for a rescore.

Each call is written in one transaction that first deletes the call's rows:
a crash never leaves half a call and a rerun never duplicates one. Each new
finding takes the id of the earlier finding it matches (`qa.scoring.verdicts`),
so an inspector's verdict stays with what it judged across rescores and
re-transcriptions, and a verdict that matches nothing is reported, never
reattached elsewhere. Every call records what produced it: ASR and signal
options, the model's name and weights hash, callqa's version, the rulebook
version (the rulebook itself is in `rulebooks`). Rows go in as column lists
through `unnest`, which DuckDB takes in one statement (executemany costs a
round trip per row).
"""

from __future__ import annotations

import json
from functools import lru_cache
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator, NamedTuple, Sequence

import duckdb

from qa.access.roles import Viewer
from qa.privacy.masking import CallPii
from qa.privacy.pii import mask_text
from qa.records import (CallResult, Cue, Heard, Interval, Reading, Overlap, Provenance, RoleAssignment, RuleResult,
                        Timeline, TranscribeOptions, Transcript, Utterance)
from qa.scoring.db import reading, writing
from qa.scoring.verdicts import Carried, FindingKey, assign_ids, detached_verdicts, kept_verdicts, previous_findings
from qa.transcribe.normalize import pinyin_key
from qa.words_layout import words_from_json, words_to_json

__all__ = [
    "Fingerprint", "FindingRow", "RescoredRows", "RuleRow", "ScoreRow", "StoredCall", "add_review", "ensure_store",
    "fingerprints", "iter_stored_calls", "metadata_json", "options_json", "redacts_at_rest", "save_call", "save_rescored",
    "stored_call", "stored_call_ids", "stored_call_rows", "stored_calls_by_id", "timeline_from_json",
    "timeline_to_json", "write_rescored",
]

CALL_TABLES = ("utterances", "rule_results", "findings", "scores", "heard", "pii_spans", "calls")


@dataclass(frozen=True)
class Fingerprint:
    """What decides whether a stored call is up to date: its transcript (audio, metadata and
    everything in `Provenance`) and, apart from that, its rules (the rulebook version); the batch's
    `plan` compares them."""

    sha256: str | None
    rulebook_version: str | None
    options_json: str | None
    status: str
    metadata_json: str | None = None
    signal_options_json: str | None = None
    model_name: str | None = None
    model_sha256: str | None = None
    callqa_version: str | None = None
    verify: bool | None = None  # the checks could ask the audio


class RuleRow(NamedTuple):
    call_id: str
    rule_id: str
    outcome: str
    points: float
    detail: str


class FindingRow(NamedTuple):
    finding_id: str | None  # assigned when written: carried over from the finding it matches
    call_id: str
    rule_id: str
    start_s: float
    end_s: float
    role: str
    evidence: str
    matched_phrase: str | None
    similarity: float | None
    clause: str
    severity: str
    message: str
    message_args: str  # JSON
    anchor_s: float | None
    evidence_redacted: str | None = None  # the evidence with personal numbers masked, where it differs

    def key(self) -> FindingKey:
        return FindingKey(self.rule_id, self.message, self.matched_phrase, self.start_s, self.end_s, self.anchor_s)


class ScoreRow(NamedTuple):
    call_id: str
    rulebook_version: str
    score: float
    passed: bool


@dataclass(frozen=True)
class StoredCall:
    call_id: str
    path: str
    sha256: str
    transcript: Transcript
    metadata: dict[str, str]
    heard: tuple[Heard, ...] = ()  # readings the audio answered before


def metadata_json(metadata: dict[str, str] | None) -> str | None:
    return json.dumps(dict(metadata), sort_keys=True, ensure_ascii=False) if metadata else None


def options_json(options: TranscribeOptions | None) -> str | None:
    return None if options is None else json.dumps(asdict(options), sort_keys=True, ensure_ascii=False)


def timeline_to_json(tl: Timeline | None) -> str | None:
    if tl is None:
        return None
    return json.dumps({
        "duration_s": tl.duration_s,
        "speech": {role: [[iv.start_s, iv.end_s] for iv in ivs] for role, ivs in tl.speech.items()},
        "mutual_silence": [[iv.start_s, iv.end_s] for iv in tl.mutual_silence],
        "overlaps": [[o.start_s, o.end_s, o.interrupter, o.interrupted] for o in tl.overlaps],
        "rings": [[iv.start_s, iv.end_s] for iv in tl.rings],
        "ring_count": tl.ring_count,
        "answer_onset_s": tl.answer_onset_s,
        "ring_source": tl.ring_source,
        "stereo": tl.stereo,
        "cues": [[c.start_s, c.end_s, c.kind, c.label, c.channel] for c in tl.cues],
    }, ensure_ascii=False)


def timeline_from_json(text: str) -> Timeline:
    d = json.loads(text)
    ivs = lambda pairs: tuple(Interval(float(s), float(e)) for s, e in pairs)  # noqa: E731
    return Timeline(
        duration_s=float(d["duration_s"]),
        speech={role: ivs(pairs) for role, pairs in d["speech"].items()},
        mutual_silence=ivs(d.get("mutual_silence", [])),
        overlaps=tuple(Overlap(float(s), float(e), a, b) for s, e, a, b in d.get("overlaps", [])),
        rings=ivs(d.get("rings", [])),
        ring_count=int(d.get("ring_count", 0)),
        answer_onset_s=d.get("answer_onset_s"),
        ring_source=d.get("ring_source", "none"),
        stereo=bool(d.get("stereo", True)),
        cues=tuple(Cue(float(s), float(e), kind, label, int(ch)) for s, e, kind, label, ch in d.get("cues", [])),
    )


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    if not rows:
        return
    cols = [list(c) for c in zip(*rows)]
    select = ", ".join("unnest(?)" for _ in columns)
    con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select}", cols)


def _started_at(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("/", "-"))
    except ValueError:
        return None  # metadata.py reports bad dates; the raw text stays in metadata_json


def result_rows(call_id: str, results: Iterable[RuleResult], pii: CallPii | None = None,
                at_rest: bool = False) -> tuple[list[RuleRow], list[FindingRow]]:
    """Rows of the rule results; each finding's evidence also masked by `pii` (only masked when `at_rest`)."""
    rule_rows, finding_rows = [], []
    for r in results:
        rule_rows.append(RuleRow(call_id, r.rule_id, r.outcome, float(r.points), r.detail))
        for f in r.findings:
            masked = pii.mask(f.evidence) if pii is not None else f.evidence
            evidence, redacted = (masked, None) if at_rest else (f.evidence, masked if masked != f.evidence else None)
            args = json.dumps(dict(f.message_args), ensure_ascii=False, default=str)
            finding_rows.append(FindingRow(
                None, call_id, f.rule_id, f.start_s, f.end_s, f.role, evidence, f.matched_phrase, f.similarity,
                f.clause, f.severity, f.message, pii.mask(args) if at_rest and pii is not None else args,
                f.anchor_s, redacted))
    return rule_rows, finding_rows


def utterance_rows(call_id: str, utterances: Sequence[Utterance], pii: CallPii, at_rest: bool) -> list[tuple]:
    """Rows of `utterances`: raw text plus the masked one where it differs, or (`at_rest`) masked alone."""
    rows = []
    for i, u in enumerate(utterances):
        masked = pii.utterance(i, u)
        shown = masked if at_rest else u
        redacted = None if at_rest or masked is u else masked.text
        rows.append((call_id, i, u.role, u.channel, u.start_s, u.end_s, shown.text, pinyin_key(shown.text),
                     words_to_json(shown.words), redacted))
    return rows


def pii_rows(call_id: str, pii: CallPii) -> list[tuple]:
    return [(call_id, s.kind, s.role, s.channel, s.index, s.start_s, s.end_s) for s in pii.spans]


def _with_ids(rows: list[FindingRow], previous: dict[str, dict[str, FindingKey]],
              reserved: dict[str, set[str]]) -> list[FindingRow]:
    """`rows` with each finding's id: carried over from the finding it matches, else fresh."""
    by_call: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_call.setdefault(row.call_id, []).append(i)
    out = list(rows)
    for cid, positions in by_call.items():
        ids = assign_ids(cid, [rows[i].key() for i in positions], previous.get(cid, {}), reserved.get(cid, ()))
        for i, fid in zip(positions, ids):
            out[i] = rows[i]._replace(finding_id=fid)
    return out


RULE_COLS = RuleRow._fields
FINDING_COLS = FindingRow._fields
SCORE_COLS = ScoreRow._fields
UTTERANCE_COLS = ("call_id", "idx", "role", "channel", "start_s", "end_s", "text", "pinyin", "words_json",
                  "redacted_text")
PII_COLS = ("call_id", "kind", "role", "channel", "idx", "start_s", "end_s")
CALL_COLS = ("call_id", "path", "sha256", "duration_s", "channels", "sample_rate", "agent_id", "team",
             "started_at", "direction", "ring_count", "ring_source", "answer_onset_s", "status", "error",
             "rulebook_version", "options_json", "timeline_json", "metadata_json", "signal_options_json",
             "model_name", "model_sha256", "callqa_version", "channel_roles", "roles_source", "roles_confidence",
             "legs_json", "verify", "unheard", "redacted_at_rest")
HEARD_COLS = ("call_id", "channel", "start_s", "end_s", "reading", "wording", "score", "hypothesis", "model_sha256",
              "ratio", "cohort")
_IDS = "written_ids"  # the temp table of the calls a write replaces


def write_call(con: duckdb.DuckDBPyConnection, result: CallResult, options: TranscribeOptions | None = None,
               redact_at_rest: bool = False) -> Carried:
    """Replace every row of `result.call_id` (inside the caller's transaction); verdicts are carried over.

    `redact_at_rest`: no raw personal number is written, only the masked text (the rules already ran)."""
    cid = result.call_id
    con.execute(f"CREATE TEMP TABLE {_IDS} AS SELECT ?::VARCHAR AS call_id", [cid])
    previous, reserved = previous_findings(con, _IDS)
    for table in CALL_TABLES:
        con.execute(f"DELETE FROM {table} WHERE call_id = ?", [cid])
    t = result.transcript
    tl = t.timeline if t else None
    meta = result.metadata or {}
    opts = t.options if t is not None else options
    prov = t.provenance if t is not None else None
    roles = t.roles if t is not None else None
    _insert(con, "calls", CALL_COLS, [(
        cid, result.path, result.sha256 or None,
        t.duration_s if t else None, t.channels if t else None, t.sample_rate if t else None,
        meta.get("agent_id") or None, meta.get("team") or None, _started_at(meta.get("started_at")),
        meta.get("direction") or None,
        tl.ring_count if tl else None, tl.ring_source if tl else None, tl.answer_onset_s if tl else None,
        result.status, result.error, result.rulebook_version or None, options_json(opts),
        timeline_to_json(tl), metadata_json(meta),
        prov.signal_options_json if prov else None, prov.model_name if prov else None,
        prov.model_sha256 if prov else None, prov.callqa_version if prov else None,
        ",".join(roles.roles) if roles else None, roles.source if roles else None,
        roles.confidence if roles else None,
        json.dumps(list(t.legs), ensure_ascii=False) if t is not None and t.legs else None,
        result.verify, result.unheard, redact_at_rest,
    )])
    if result.status == "scored" and t is not None:
        pii = CallPii.of(t.utterances)
        _insert(con, "utterances", UTTERANCE_COLS, utterance_rows(cid, t.utterances, pii, redact_at_rest))
        _insert(con, "pii_spans", PII_COLS, pii_rows(cid, pii))
        rule_rows, finding_rows = result_rows(cid, result.rule_results, pii, redact_at_rest)
        _insert(con, "rule_results", RULE_COLS, rule_rows)
        _insert(con, "findings", FINDING_COLS, _with_ids(finding_rows, previous, reserved))
        _insert(con, "heard", HEARD_COLS, heard_rows(cid, result.heard, pii if redact_at_rest else None))
        if result.score is not None:
            _insert(con, "scores", SCORE_COLS,
                    [ScoreRow(cid, result.rulebook_version, float(result.score), bool(result.passed))])
    carried = Carried(kept_verdicts(con, _IDS), detached_verdicts(con, ids_table=_IDS))
    con.execute(f"DROP TABLE {_IDS}")
    return carried


def heard_rows(call_id: str, heard: Iterable[Heard], pii: CallPii | None = None) -> list[tuple]:
    """Rows of what the audio said; with `pii` (a store that redacts at rest) its texts masked."""
    mask = pii.mask if pii is not None else (lambda text: text)
    return [(call_id, h.reading.channel, h.reading.start_s, h.reading.end_s, mask(h.said), h.reading.wording,
             float(h.score), mask(h.hypothesis), h.model_sha256 or None, float(h.ratio), float(h.cohort))
            for h in heard]


def save_call(db_path: str | Path, result: CallResult, options: TranscribeOptions | None = None,
              redact_at_rest: bool = False) -> Carried:
    """Store one call durably in its own short transaction; the file is closed after."""
    with writing(db_path) as con:
        return write_call(con, result, options, redact_at_rest)


@dataclass
class RescoredRows:
    """Rows that replace the rule results of already stored calls, ready for one bulk write."""

    call_ids: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    scores: list[ScoreRow] = field(default_factory=list)
    rules: list[RuleRow] = field(default_factory=list)
    findings: list[FindingRow] = field(default_factory=list)  # ids assigned when written
    heard: list[tuple] = field(default_factory=list)
    unheard: list[int] = field(default_factory=list)
    verify: list[bool] = field(default_factory=list)

    def add(self, result: CallResult) -> None:
        pii = CallPii.of(result.transcript.utterances) if result.transcript is not None else None
        rr, fr = result_rows(result.call_id, result.rule_results, pii)
        self.heard += heard_rows(result.call_id, result.heard)
        self.unheard.append(result.unheard)
        self.verify.append(result.verify)
        self.call_ids.append(result.call_id)
        self.versions.append(result.rulebook_version)
        self.scores.append(ScoreRow(result.call_id, result.rulebook_version, float(result.score),
                                    bool(result.passed)))
        self.rules += rr
        self.findings += fr

    def extend(self, other: RescoredRows) -> None:
        for mine, theirs in ((self.call_ids, other.call_ids), (self.versions, other.versions),
                             (self.scores, other.scores), (self.rules, other.rules),
                             (self.findings, other.findings), (self.heard, other.heard),
                             (self.unheard, other.unheard), (self.verify, other.verify)):
            mine += theirs

    def __len__(self) -> int:
        return len(self.call_ids)


def save_rescored(db_path: str | Path, results: Sequence[CallResult]) -> Carried:
    """Replace rule results, findings and scores of already stored calls (one transaction).

    Utterances and the timeline are untouched: a rescore does not re-run ASR.
    """
    rows = RescoredRows()
    for r in results:
        rows.add(r)
    return write_rescored(db_path, rows)


def write_rescored(db_path: str | Path, rows: RescoredRows) -> Carried:
    """`save_rescored` for prepared rows: one transaction, a handful of bulk statements.

    The calls' rulebook_version changes in the same transaction as their
    results, so after a crash each call is wholly old-version or new-version.
    Verdicts are carried over to the new findings; those that match none are returned.
    """
    if not rows.call_ids:
        return Carried()
    with writing(db_path) as con:
        con.execute(f"CREATE TEMP TABLE {_IDS} AS SELECT unnest(?) AS call_id, unnest(?) AS version, "
                    "unnest(?) AS unheard, unnest(?) AS verify",
                    [rows.call_ids, rows.versions, rows.unheard, rows.verify])
        previous, reserved = previous_findings(con, _IDS)
        for table in ("rule_results", "findings", "scores", "heard"):
            con.execute(f"DELETE FROM {table} WHERE call_id IN (SELECT call_id FROM {_IDS})")
        _insert(con, "rule_results", RULE_COLS, rows.rules)
        _insert(con, "findings", FINDING_COLS, _with_ids(rows.findings, previous, reserved))
        _insert(con, "scores", SCORE_COLS, rows.scores)
        _insert(con, "heard", HEARD_COLS, _masked_at_rest(con, rows.heard))
        con.execute(
            f"UPDATE calls SET rulebook_version = v.version, scored_at = current_timestamp, unheard = v.unheard, "
            f"verify = v.verify FROM {_IDS} v WHERE calls.call_id = v.call_id"
        )
        carried = Carried(kept_verdicts(con, _IDS), detached_verdicts(con, ids_table=_IDS))
        con.execute(f"DROP TABLE {_IDS}")
    return carried


def _masked_at_rest(con: duckdb.DuckDBPyConnection, heard: list[tuple]) -> list[tuple]:
    """`heard` rows with their texts masked for the calls stored with masked text only (a fresh hearing of
    the audio can spell a number the stored text no longer holds)."""
    masked = {c for (c,) in con.execute(f"SELECT call_id FROM calls WHERE redacted_at_rest AND call_id IN "
                                        f"(SELECT call_id FROM {_IDS})").fetchall()}
    said, hypothesis = HEARD_COLS.index("reading"), HEARD_COLS.index("hypothesis")
    return [row if row[0] not in masked else
            tuple(mask_text(v) if i in (said, hypothesis) and isinstance(v, str) else v for i, v in enumerate(row))
            for row in heard]


def fingerprints(db_path: str | Path) -> dict[str, Fingerprint]:
    """Stored state of every call, read once at the start of a batch."""
    if str(db_path) != ":memory:" and not Path(db_path).exists():
        return {}
    with reading(db_path) as con:
        rows = con.execute(
            "SELECT call_id, sha256, rulebook_version, options_json, status, metadata_json, signal_options_json, "
            "model_name, model_sha256, callqa_version, verify FROM calls"
        ).fetchall()
    return {row[0]: Fingerprint(*row[1:]) for row in rows}


def redacts_at_rest(db_path: str | Path) -> bool:
    """The store already holds calls written with masked text only."""
    with reading(db_path) as con:
        return bool(con.execute("SELECT bool_or(redacted_at_rest) FROM calls").fetchone()[0])


def ensure_store(db_path: str | Path) -> None:
    """Create or upgrade the database now, so a bad path fails before any work."""
    with writing(db_path):
        pass


@lru_cache(maxsize=64)  # a batch stores the same options on every call
def _options_from_json(text: str | None) -> TranscribeOptions:
    if not text:
        return TranscribeOptions()
    data = json.loads(text)
    known = {k: v for k, v in data.items() if k in TranscribeOptions.__dataclass_fields__}
    if "channel_roles" in known:
        known["channel_roles"] = tuple(known["channel_roles"])
    return TranscribeOptions(**known)


_STORED_CALL_SQL = (
    "SELECT call_id, path, sha256, duration_s, sample_rate, channels, options_json, timeline_json, metadata_json, "
    "signal_options_json, model_name, model_sha256, callqa_version, channel_roles, roles_source, roles_confidence "
    "FROM calls WHERE status = 'scored' AND timeline_json IS NOT NULL"
)
_STORED_UTTERANCE_SQL = "SELECT call_id, role, channel, start_s, end_s, text, words_json FROM utterances"
_STORED_HEARD_SQL = "SELECT " + ", ".join(HEARD_COLS) + " FROM heard"


def heard_from_rows(rows: Iterable[Sequence[Any]]) -> tuple[Heard, ...]:
    return tuple(Heard(Reading(ch, start, end, wording), score, hyp, said, sha or "", ratio or 0.0, cohort or 0.0)
                 for _, ch, start, end, said, wording, score, hyp, sha, ratio, cohort in rows)


def stored_heard(db_path: str | Path, call_ids: Sequence[str]) -> dict[str, tuple[Heard, ...]]:
    """The readings the audio answered for these calls, by call."""
    with reading(db_path) as con:
        rows = con.execute(_STORED_HEARD_SQL + " WHERE list_contains(?::VARCHAR[], call_id)",
                           [list(call_ids)]).fetchall()
    by_call: dict[str, list] = {}
    for row in rows:
        by_call.setdefault(row[0], []).append(row)
    return {cid: heard_from_rows(r) for cid, r in by_call.items()}


def stored_call(call_row: Sequence[Any], utterance_rows: Iterable[Sequence[Any]]) -> StoredCall:
    """A StoredCall from one row of `_STORED_CALL_SQL` and its rows of `_STORED_UTTERANCE_SQL` (in idx order)."""
    (cid, path, sha, duration, rate, channels, opts, tl, meta, signal, model, model_sha, version,
     channel_roles, roles_source, roles_confidence) = call_row
    utterances = []
    for _, role, channel, start, end, text, words in utterance_rows:
        utterances.append(Utterance(role, channel, start, end, text, words_from_json(words)))
    provenance = Provenance(signal, model, model_sha, version) if signal is not None else None
    roles = RoleAssignment(tuple(channel_roles.split(",")), roles_source, roles_confidence) if channel_roles else None
    transcript = Transcript(path, duration or 0.0, rate or 0, channels or 0, tuple(utterances),
                            _options_from_json(opts), timeline_from_json(tl), provenance, roles)
    return StoredCall(cid, path, sha or "", transcript, json.loads(meta) if meta else {})


def _paired(calls: list[tuple], utts: list[tuple]) -> list[tuple[tuple, list[tuple]]]:
    """Each call row with its utterance rows (both read ordered by call_id)."""
    by_call: dict[str, list[tuple]] = {}
    for row in utts:
        by_call.setdefault(row[0], []).append(row)
    return [(row, by_call.get(row[0], [])) for row in calls]


def iter_stored_calls(db_path: str | Path) -> Iterator[StoredCall]:
    """Every scored call with its transcript and timeline, read in two queries."""
    with reading(db_path) as con:
        calls = con.execute(_STORED_CALL_SQL + " ORDER BY call_id").fetchall()
        utts = con.execute(_STORED_UTTERANCE_SQL + " ORDER BY call_id, idx").fetchall()
    for call_row, utt_rows in _paired(calls, utts):
        yield stored_call(call_row, utt_rows)


def stored_call_ids(db_path: str | Path) -> list[str]:
    """Ids of the calls a rescore covers, in the order `stored_call_rows` pages through them."""
    with reading(db_path) as con:
        return [r[0] for r in con.execute(
            "SELECT call_id FROM (" + _STORED_CALL_SQL + ") ORDER BY call_id").fetchall()]


def stored_call_rows(db_path: str | Path, first_id: str, last_id: str) -> list[tuple[tuple, list[tuple]]]:
    """Raw rows (call row, its utterance rows) of the calls with first_id <= call_id <= last_id.

    Two bulk queries; parsing is left to `stored_call`, so it can run in worker processes.
    """
    with reading(db_path) as con:
        calls = con.execute(_STORED_CALL_SQL + " AND call_id BETWEEN ? AND ? ORDER BY call_id",
                            [first_id, last_id]).fetchall()
        utts = con.execute(_STORED_UTTERANCE_SQL + " WHERE call_id BETWEEN ? AND ? ORDER BY call_id, idx",
                           [first_id, last_id]).fetchall()
    return _paired(calls, utts)


def stored_calls_by_id(db_path: str | Path, call_ids: Sequence[str]) -> list[tuple[tuple, list[tuple]]]:
    """Raw rows (call row, its utterance rows) of the named calls, as `stored_call_rows` gives them."""
    with reading(db_path) as con:
        calls = con.execute(_STORED_CALL_SQL + " AND list_contains(?::VARCHAR[], call_id) ORDER BY call_id",
                            [list(call_ids)]).fetchall()
        utts = con.execute(_STORED_UTTERANCE_SQL + " WHERE list_contains(?::VARCHAR[], call_id) "
                                                   "ORDER BY call_id, idx", [list(call_ids)]).fetchall()
    return _paired(calls, utts)


def add_review(
    db_path: str | Path, call_id: str, verdict: str, reviewer: Viewer, *, finding_id: str | None = None,
    rule_id: str | None = None, comment: str | None = None, start_s: float | None = None,
) -> int:
    """Append an inspector's verdict in its own transaction; returns its review_id. Earlier verdicts stay."""
    from qa.scoring.queries_reviews import record_review

    with writing(db_path) as con:
        return int(record_review(con, reviewer, call_id=call_id, verdict=verdict, finding_id=finding_id,
                                 rule_id=rule_id, comment=comment, start_s=start_s))
