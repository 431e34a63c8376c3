"""The DuckDB store: one transaction per call, stable finding ids, readers during writes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from built_calls import sample_call
from qa.access.roles import Viewer
from qa.records import CallResult
from qa.scoring import store
from qa.scoring.db import reading, writing

TABLES = ("calls", "utterances", "rule_results", "findings", "scores")


def counts(db, call_id=None):
    where = " WHERE call_id = ?" if call_id else ""
    args = [call_id] if call_id else []
    with reading(db) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}{where}", args).fetchone()[0] for t in TABLES}


def test_save_and_read_back(tmp_path):
    db = tmp_path / "qa.duckdb"
    result = sample_call("day1/c1")
    store.save_call(db, result)
    assert counts(db) == {"calls": 1, "utterances": 4, "rule_results": 3,
                          "findings": sum(len(r.findings) for r in result.rule_results), "scores": 1}
    with reading(db) as con:
        row = con.execute("SELECT status, agent_id, team, started_at, ring_count, rulebook_version FROM calls").fetchone()
        score = con.execute("SELECT rulebook_version, score, passed FROM scores").fetchone()
        pinyin, words = con.execute("SELECT pinyin, words_json FROM utterances WHERE idx = 0").fetchone()
    assert row[:3] == ("scored", "A0", "north") and str(row[3]) == "2024-05-01 09:30:00"
    assert row[4] == 3 and row[5] == "v-test"
    assert score == ("v-test", result.score, result.passed)
    assert pinyin == "nin hao ke fu zhong xin" and '"客服中心"' in words

    [stored] = list(store.iter_stored_calls(db))
    assert stored.transcript.utterances == result.transcript.utterances
    assert stored.transcript.timeline == result.transcript.timeline
    assert stored.metadata == result.metadata and stored.sha256 == result.sha256


def test_rewrite_replaces_rows_and_keeps_finding_ids(tmp_path):
    db = tmp_path / "qa.duckdb"
    store.save_call(db, sample_call("c1"))
    with reading(db) as con:
        before = sorted(r[0] for r in con.execute("SELECT finding_id FROM findings").fetchall())
    store.save_call(db, sample_call("c1"))
    store.save_call(db, sample_call("c2", variant=1))
    with reading(db) as con:
        after = sorted(r[0] for r in con.execute("SELECT finding_id FROM findings WHERE call_id = 'c1'").fetchall())
    assert before == after and len(set(after)) == len(after) > 0
    assert counts(db, "c1")["utterances"] == 4 and counts(db)["calls"] == 2


def test_fresh_finding_id_rests_on_the_anchor_not_the_window():
    from qa.scoring.verdicts import FindingKey, finding_id

    def key(start, end, anchor, phrase="不清楚", message="forbidden.said", rule="phrase.forbidden"):
        return FindingKey(rule, message, phrase, start, end, anchor)

    a = finding_id("c1", key(7.04, 8.0, 7.04))
    assert a == finding_id("c1", key(7.01, 8.2, 7.01))
    # a missing closing line: the window's start moves with window_s, the anchor (last speech) does not
    closing = key(30.0, 60.0, 60.0, None, "closing.no_farewell", "closing.farewell")
    assert finding_id("c1", closing) == finding_id("c1", key(40.0, 60.0, 60.0, None, "closing.no_farewell",
                                                             "closing.farewell"))
    assert a != finding_id("c2", key(7.0, 8.0, 7.0))
    assert a != finding_id("c1", key(7.0, 8.0, 7.0, "喂"))
    assert a != finding_id("c1", key(9.0, 10.0, 9.0))
    assert a != finding_id("c1", key(7.04, 8.0, 7.04), 1)


def test_reviews_are_append_only_and_survive_rescore(tmp_path):
    db = tmp_path / "qa.duckdb"
    result = sample_call("c1")
    store.save_call(db, result)
    with reading(db) as con:
        fid = con.execute("SELECT finding_id FROM findings WHERE matched_phrase = '不清楚'").fetchone()[0]
    first = store.add_review(db, "c1", "confirmed", Viewer("王质检", "supervisor"), finding_id=fid, rule_id="phrase.forbidden")
    second = store.add_review(db, "c1", "false_positive", Viewer("李质检", "supervisor"), finding_id=fid, comment="上下文无恶意")
    assert second > first
    with pytest.raises(ValueError, match="verdict"):
        store.add_review(db, "c1", "maybe", Viewer("王质检", "supervisor"))
    store.save_rescored(db, [replace(result, rulebook_version="v-2")])
    with reading(db) as con:
        joined = con.execute("SELECT count(*) FROM reviews r JOIN findings f USING (finding_id)").fetchone()[0]
        versions = con.execute("SELECT DISTINCT rulebook_version FROM scores").fetchall()
        call_version = con.execute("SELECT rulebook_version FROM calls").fetchone()[0]
    assert joined == 2 and versions == [("v-2",)] and call_version == "v-2"
    assert counts(db)["utterances"] == 4  # a rescore leaves transcripts alone


def test_error_result_and_fingerprints(tmp_path):
    db = tmp_path / "qa.duckdb"
    assert store.fingerprints(db) == {}
    store.save_call(db, sample_call("c1"))
    store.save_call(db, sample_call("c1"))
    bad = CallResult("broken", "/calls/broken.wav", "abc", None, status="error",
                     error="/calls/broken.wav: truncated audio file", rulebook_version="v-test")
    store.save_call(db, bad)
    prints = store.fingerprints(db)
    assert prints["broken"].status == "error" and prints["c1"].status == "scored"
    assert prints["c1"].sha256 == "sha-c1-0" and prints["c1"].rulebook_version == "v-test"
    assert counts(db, "broken") == {"calls": 1, "utterances": 0, "rule_results": 0, "findings": 0, "scores": 0}
    assert [c.call_id for c in store.iter_stored_calls(db)] == ["c1"]
    # a scored call that later fails to load loses its old rows (no stale score)
    store.save_call(db, replace(bad, call_id="c1"))
    assert counts(db, "c1")["scores"] == 0


def test_failed_write_leaves_the_previous_rows(tmp_path):
    db = tmp_path / "qa.duckdb"
    store.save_call(db, sample_call("c1"))
    before = counts(db)
    with pytest.raises(RuntimeError):
        with writing(db) as con:
            store.write_call(con, sample_call("c1", variant=1))
            raise RuntimeError("crash between delete/insert and commit")
    assert counts(db) == before


READER = textwrap.dedent("""
    import sys, time
    from qa.scoring.db import reading
    db, seconds = sys.argv[1], float(sys.argv[2])
    seen, bad, end = [], 0, time.monotonic() + seconds
    # Read until the writer's last call is visible (or time runs out).
    while time.monotonic() < end and (not seen or seen[-1] < 30):
        with reading(db, timeout_s=30) as con:
            calls = con.execute("SELECT count(*) FROM calls").fetchone()[0]
            # every visible call is complete: its score and its three rule results
            partial = con.execute(
                "SELECT count(*) FROM calls c WHERE NOT EXISTS (SELECT 1 FROM scores s WHERE s.call_id = c.call_id) "
                "OR (SELECT count(*) FROM rule_results r WHERE r.call_id = c.call_id) <> 3").fetchone()[0]
        seen.append(calls)
        bad += partial
        if len(seen) == 1:
            print("ready", flush=True)
    print(len(seen), min(seen), max(seen), int(seen == sorted(seen)), bad)
""")


def test_reader_process_during_writes(tmp_path):
    db = tmp_path / "qa.duckdb"
    store.save_call(db, sample_call("c0"))
    root = Path(__file__).resolve().parents[1]
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db), "60"], cwd=root,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert reader.stdout.readline().strip() == "ready"  # the reader is in its loop before writes start
    for i in range(1, 30):
        store.save_call(db, sample_call(f"c{i}", variant=i))
    out, err = reader.communicate(timeout=90)
    assert reader.returncode == 0, err
    reads, low, high, monotonic, partial = map(int, out.split())
    # It read while the writes went on (saw the first call only, then all 30),
    # never met a lock error, never saw a call half written.
    assert reads >= 2 and low == 1 and high == 30 and monotonic == 1 and partial == 0
    assert counts(db)["calls"] == 30


def test_a_version_1_store_is_upgraded_and_its_verdicts_carried_over(tmp_path):
    """A database written by callqa 0.1 (no provenance, no rulebooks, findings without messages)
    opens, upgrades in place, and its verdicts stay on their findings through the first rescore."""
    from importlib import resources

    import duckdb

    from qa.scoring.db import SCHEMA_VERSION

    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute(resources.files("qa.scoring").joinpath("schema.sql").read_text("utf-8"))
    con.execute("INSERT INTO schema_info (version) VALUES (1)")
    con.execute("INSERT INTO calls (call_id, path, status, rulebook_version, timeline_json) "
                "VALUES ('c1', '/calls/c1.wav', 'scored', 'v-old', ?)", [store.timeline_to_json(
                    sample_call("c1").transcript.timeline)])
    old = [f for r in sample_call("c1").rule_results for f in r.findings]
    for i, f in enumerate(old):  # the old layout: no message, no anchor
        con.execute("INSERT INTO findings (finding_id, call_id, rule_id, start_s, end_s, role, evidence, "
                    "matched_phrase) VALUES (?, 'c1', ?, ?, ?, ?, ?, ?)",
                    [f"old-{i}", f.rule_id, f.start_s, f.end_s, f.role, f.evidence, f.matched_phrase])
    con.execute("INSERT INTO reviews (call_id, finding_id, rule_id, verdict, reviewer, start_s) "
                "VALUES ('c1', 'old-0', ?, 'confirmed', '王质检', ?)", [old[0].rule_id, old[0].start_s])
    con.close()
    carried = store.save_call(db, sample_call("c1"))  # the upgrade happens on this first write
    with reading(db) as con:
        assert con.execute("SELECT max(version) FROM schema_info").fetchone()[0] == SCHEMA_VERSION
        ids = {r[0] for r in con.execute("SELECT finding_id FROM findings").fetchall()}
        provenance = con.execute("SELECT model_name, signal_options_json FROM calls").fetchone()
    assert "old-0" in ids and carried.kept == 1 and not carried.detached
    assert provenance == (None, None)  # sample_call has no provenance: nothing is made up
