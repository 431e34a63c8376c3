"""`callqa score | rescore | report | export-examples` through click's CliRunner on real DuckDB files."""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from built_calls import sample_call
from qa.phrases.rulebook import load_rulebook
from viewers import as_viewer  # noqa: E402
from qa.cli import cli
from qa.scoring import store
from qa.scoring.db import reading


@pytest.fixture
def scored_db(tmp_path):
    """Three stored calls; two have real audio files, the third's file is gone."""
    db = tmp_path / "qa.duckdb"
    audio = tmp_path / "audio"
    audio.mkdir()
    for i in range(3):
        path = audio / f"c{i}.wav"
        if i < 2:
            t = np.arange(8000 * 14) / 8000
            sf.write(path, np.stack([0.1 * np.sin(2 * np.pi * 300 * t), 0.1 * np.sin(2 * np.pi * 500 * t)], 1), 8000)
        store.save_call(db, replace(sample_call(f"c{i}", variant=i), path=str(path)))
    return db


def invoke(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


@pytest.mark.parametrize("command", ["score", "rescore", "report", "export-examples", "explain"])
def test_every_command_has_help(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0 and "--db" in result.output


def test_score_run_failures_exit_non_zero(tmp_path):
    calls = tmp_path / "calls"
    calls.mkdir()
    broken = tmp_path / "rules.toml"
    broken.write_text('[rules."greeting.opening"]\nkind = "telepathy"\n')
    result = invoke("score", calls, "--db", tmp_path / "qa.duckdb", "--rulebook", broken)
    assert result.exit_code == 1 and "telepathy" in result.output
    result = invoke("score", tmp_path / "absent", "--db", tmp_path / "qa.duckdb")
    assert result.exit_code == 1 and "absent: no such folder" in result.output
    result = invoke("score", calls, "--db", tmp_path / "no" / "dir" / "qa.duckdb", "--quiet")
    assert result.exit_code == 1 and "cannot use the database" in result.output
    bad_meta = tmp_path / "meta.csv"
    bad_meta.write_text("id,agent\n1,2\n")
    result = invoke("score", calls, "--db", tmp_path / "qa.duckdb", "--metadata", bad_meta)
    assert result.exit_code == 1 and "no call_id column" in result.output


def test_score_empty_folder_succeeds(tmp_path):
    (tmp_path / "calls").mkdir()
    result = invoke("score", tmp_path / "calls", "--db", tmp_path / "qa.duckdb", "--quiet")
    assert result.exit_code == 0 and "0 recordings, 0 transcribed and scored" in result.output


def test_report_formats(scored_db):
    table = invoke("report", "--db", scored_db)
    assert table.exit_code == 0 and "c1" in table.output and "3 calls, 3 scored" in table.output
    rows = json.loads(invoke("report", "--db", scored_db, "--format", "json").output)
    assert [r["call_id"] for r in rows] == ["c0", "c1", "c2"]
    assert "phrase.forbidden" in rows[0]["failed_rules"] and rows[0]["rulebook_version"] == "v-test"
    parsed = list(csv.DictReader(invoke("report", "--db", scored_db, "--format", "csv").output.splitlines()))
    assert [r["call_id"] for r in parsed] == ["c0", "c1", "c2"] and parsed[0]["status"] == "scored"
    missing = invoke("report", "--db", scored_db.with_name("absent.duckdb"))
    assert missing.exit_code == 1 and "no such database" in missing.output


def test_rescore_applies_the_rulebook_again(scored_db):
    result = invoke("rescore", "--db", scored_db)
    assert result.exit_code == 0 and "3 calls under rulebook" in result.output
    with reading(scored_db) as con:
        versions = {v for (v,) in con.execute("SELECT rulebook_version FROM scores").fetchall()}
        rules = con.execute("SELECT count(DISTINCT rule_id) FROM rule_results").fetchone()[0]
    assert versions != {"v-test"} and len(versions) == 1 and rules == len(load_rulebook().rules)


def test_export_examples_writes_clips_and_reports_missing_audio(scored_db, tmp_path):
    out = tmp_path / "examples"
    result = invoke("export-examples", "--db", scored_db, "--rule", "phrase.forbidden", "--out", out, "--pad-s", "0.5")
    assert result.exit_code == 0
    rows = list(csv.DictReader(open(out / "examples.csv", encoding="utf-8-sig")))
    with reading(scored_db) as con:
        expected = con.execute("SELECT count(*) FROM findings WHERE rule_id = 'phrase.forbidden'").fetchone()[0]
    assert len(rows) == expected
    made = [r for r in rows if r["clip"]]
    assert made and all(r["call_id"] in ("c0", "c1") for r in made)
    assert all(r["problem"] and not r["clip"] for r in rows if r["call_id"] == "c2")
    first = made[0]
    data, rate = sf.read(out / first["clip"])
    span = float(first["end_s"]) - float(first["start_s"]) + 2 * 0.5
    assert rate == 8000 and data.shape == (int(round(span * rate)), 2)
    assert "c2.wav" in result.output and "audio file not found" in result.output


def test_explain_prints_the_provenance_and_reproduces_the_stored_score(scored_db):
    assert invoke("rescore", "--db", scored_db).exit_code == 0  # scored under a stored (the default) rulebook
    result = invoke("explain", "c0", "--db", scored_db, "--reproduce")
    assert result.exit_code == 0, result.output
    assert "reproduced: the stored rulebook over the stored transcript gives the same score" in result.output
    assert "ASR options:" in result.output and "signal options:" in result.output and "rulebook " in result.output
    doc = json.loads(invoke("explain", "c0", "--db", scored_db, "--json", "--reproduce").output)
    assert doc["reproduced"] == {"same": True, "differences": []}
    assert doc["rule_results"] and doc["call"]["call_id"] == "c0"
    # a stored result changed behind callqa's back no longer reproduces, and says where
    from qa.scoring.db import writing
    with writing(scored_db) as con:
        con.execute("UPDATE rule_results SET outcome = 'pass', points = 0 WHERE call_id = 'c0' "
                    "AND rule_id = 'phrase.forbidden'")
    tampered = invoke("explain", "c0", "--db", scored_db, "--reproduce")
    assert tampered.exit_code == 1 and "differs" in tampered.output and "phrase.forbidden" in tampered.output
    assert invoke("explain", "nope", "--db", scored_db).exit_code == 1


def test_explain_says_when_the_rulebook_was_never_stored(scored_db):
    result = invoke("explain", "c0", "--db", scored_db, "--reproduce")
    assert result.exit_code == 1 and "rulebook v-test is not stored" in result.output


def test_rescore_lists_verdicts_that_no_longer_match_a_finding(scored_db, tmp_path):
    from qa.scoring.db import writing
    from qa.scoring.queries_reviews import record_review

    assert invoke("rescore", "--db", scored_db).exit_code == 0
    with reading(scored_db) as con:
        fid, call_id, phrase = con.execute("SELECT finding_id, call_id, matched_phrase FROM findings "
                                           "WHERE rule_id = 'phrase.forbidden' ORDER BY finding_id").fetchone()
    with writing(scored_db) as con:
        record_review(con, as_viewer("王质检"), call_id=call_id, finding_id=fid, verdict="confirmed")
    same = invoke("rescore", "--db", scored_db)
    assert "verdicts: 1 still on their findings, 0 match no finding now" in same.output
    rules = tmp_path / "rules.toml"  # the phrase is no longer forbidden: its finding goes, the verdict stays
    rules.write_text('[rules."phrase.forbidden".phrases.forbidden]\nextend = false\nitems = ["你真罗嗦"]\n',
                     encoding="utf-8")
    gone = invoke("rescore", "--db", scored_db, "--rulebook", rules)
    assert "0 still on their findings, 1 match no finding now" in gone.output
    assert f"detached verdict {call_id} phrase.forbidden" in gone.output and "王质检" in gone.output
    back = invoke("rescore", "--db", scored_db)  # the default rulebook again: the finding and its verdict are back
    assert "verdicts: 1 still on their findings, 0 match no finding now" in back.output
    with reading(scored_db) as con:
        assert con.execute("SELECT count(*) FROM findings WHERE finding_id = ?", [fid]).fetchone()[0] == 1


@pytest.mark.parametrize("text, line, problem", [
    ('[rules."closing.farewell".params]\nwindow_s = "abc"\n', 2, "param window_s must be a number"),
    ('\n[rules."phrase.forbidden"]\npoints = 30\n', 3, "points add up to 115"),
])
def test_a_broken_rulebook_touches_no_call(scored_db, tmp_path, text, line, problem):
    with reading(scored_db) as con:
        before = con.execute("SELECT * FROM scores ORDER BY call_id").fetchall()
    rules = tmp_path / "rules.toml"
    rules.write_text(text, encoding="utf-8")
    for command in (("rescore", "--db", scored_db), ("score", tmp_path / "audio", "--db", scored_db, "--quiet")):
        result = invoke(*command, "--rulebook", rules)
        assert result.exit_code == 1 and f"{rules}:{line}: " in result.output and problem in result.output
    with reading(scored_db) as con:
        assert con.execute("SELECT * FROM scores ORDER BY call_id").fetchall() == before
        assert con.execute("SELECT count(*) FROM rulebooks").fetchone()[0] == 0
