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


@pytest.mark.parametrize("command", ["score", "rescore", "report", "export-examples"])
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
    assert result.exit_code == 0 and "0 recordings, 0 scored" in result.output


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
    assert versions != {"v-test"} and len(versions) == 1 and rules == 9  # the default rulebook's nine rules


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
