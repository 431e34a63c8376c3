"""The batch: discovery, incremental skipping, errors, process pool, kill -9 and rerun.

Most tests score with `fake_score` (no ASR) so that they stay fast; the store,
the bookkeeping and the processes are real. One slow test runs the real
pipeline over the sample recordings.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from built_calls import fake_score, small_rulebook
from qa.records import TranscribeOptions
from qa.scoring import store
from qa.scoring.batch import BatchError, LocalEngine, discover, run_batch
from qa.scoring.db import reading, writing
from qa.scoring.metadata import load_metadata

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "recordings_sample"


def make_folder(tmp_path: Path, n: int = 6, bad: int = 1) -> Path:
    calls = tmp_path / "calls"
    for i in range(n):
        sub = calls / ("day1" if i % 2 else "day2")
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"c{i}.{('wav', 'flac', 'mp3', 'ogg')[i % 4]}").write_bytes(b"RIFF" + bytes([i]) * (10 + i))
    for j in range(bad):
        (calls / f"broken{j}.wav").write_bytes(b"BAD" * 5)
    (calls / "notes.txt").write_text("not a call")
    (calls / ".hidden.wav").write_bytes(b"RIFF")
    return calls


def engine(workers=1, score_fn=fake_score):
    return LocalEngine(workers, score_fn=score_fn, initializer=None)


def _no_asr(path, *args, **kwargs):
    """A batch that must not transcribe: every recording it is handed is an error row saying so."""
    from qa.records import CallResult
    return CallResult(args[0], str(path), "", None, status="error", error=f"{path}: transcribed, but should not be",
                      rulebook_version=args[2].version)


def rows(db):
    with reading(db) as con:
        return {
            t: sorted(con.execute(f"SELECT * EXCLUDE (scored_at) FROM {t}" if t == "calls" else f"SELECT * FROM {t}").fetchall(),
                      key=repr)
            for t in ("calls", "utterances", "rule_results", "findings", "scores")
        }


def test_discover_is_recursive_sorted_and_audio_only(tmp_path):
    calls = make_folder(tmp_path, 4, bad=0)
    found = discover(calls)
    assert [cid for cid, _ in found] == ["day1/c1", "day1/c3", "day2/c0", "day2/c2"]
    assert all(p.is_absolute() for _, p in found)
    with pytest.raises(BatchError, match="no such folder"):
        discover(tmp_path / "absent")


def test_batch_scores_skips_and_retries_errors(tmp_path):
    calls, db, book = make_folder(tmp_path), tmp_path / "qa.duckdb", small_rulebook()
    first = run_batch(calls, db, rulebook=book, engine=engine())
    assert (first.found, first.scored, first.skipped) == (7, 6, 0)
    assert first.errors == [(str((calls / "broken0.wav").resolve()), f"{(calls / 'broken0.wav').resolve()}: not an audio file")]
    assert first.mean_score is not None and 0 <= first.pass_rate <= 1
    second = run_batch(calls, db, rulebook=book, engine=engine())
    assert (second.scored, second.skipped, len(second.errors)) == (0, 6, 1)  # the broken file is retried
    (calls / "day2" / "c0.wav").write_bytes(b"RIFF changed")
    third = run_batch(calls, db, rulebook=book, engine=engine())
    assert (third.scored, third.skipped) == (1, 5)
    before = rows(db)["utterances"]
    newer = run_batch(calls, db, rulebook=small_rulebook("v-2"), engine=engine(score_fn=_no_asr))
    # only the rulebook changed: the stored transcripts are run through the rules again, not transcribed
    assert (newer.scored, newer.rescored, newer.skipped) == (0, 6, 0) and rows(db)["utterances"] == before
    other_model = run_batch(calls, db, rulebook=small_rulebook("v-2"), engine=engine(),
                            options=TranscribeOptions(beam_size=1))
    assert (other_model.scored, other_model.rescored) == (6, 0)
    assert other_model.why == {"ASR options changed": 6, "retry after error": 1}
    with reading(db) as con:
        assert con.execute("SELECT count(*), count(DISTINCT call_id) FROM calls").fetchone() == (7, 7)
        assert con.execute("SELECT status, error FROM calls WHERE call_id = 'broken0'").fetchone()[0] == "error"


def test_what_made_a_transcript_decides_whether_it_is_made_again(tmp_path):
    """A changed signal threshold, model or callqa version transcribes again; the rulebook alone does not."""
    from dataclasses import replace as changed

    from qa.transcribe.activity import SignalOptions

    calls, db, book = make_folder(tmp_path, 3, bad=0), tmp_path / "qa.duckdb", small_rulebook()
    run_batch(calls, db, rulebook=book, engine=engine())
    assert run_batch(calls, db, rulebook=book, engine=engine(score_fn=_no_asr)).skipped == 3
    stricter = changed(SignalOptions(), margin_db=SignalOptions().margin_db + 1.0)
    again = run_batch(calls, db, rulebook=book, engine=engine(), signal_options=stricter)
    assert (again.scored, again.why) == (3, {"signal options changed": 3})
    with reading(db) as con:
        stored = {json.loads(r[0])["margin_db"] for r in con.execute("SELECT signal_options_json FROM calls").fetchall()}
        con_model = set(con.execute("SELECT model_name, model_sha256, callqa_version FROM calls").fetchall())
    from qa import __version__
    from qa.transcribe.model import EMBEDDED, MODEL_BIN_SHA256
    assert stored == {stricter.margin_db} and con_model == {(EMBEDDED, MODEL_BIN_SHA256, __version__)}
    assert run_batch(calls, db, rulebook=book, engine=engine(score_fn=_no_asr), signal_options=stricter).skipped == 3
    with writing(db) as con:  # as if an older callqa had made them
        con.execute("UPDATE calls SET callqa_version = '0.0.1'")
    older = run_batch(calls, db, rulebook=book, engine=engine(), signal_options=stricter)
    assert older.why == {"callqa version changed": 3}


def test_broken_links_and_unreadable_entries_are_named_and_other_files_counted(tmp_path):
    calls, db = make_folder(tmp_path, 2, bad=0), tmp_path / "qa.duckdb"
    (calls / "gone.wav").symlink_to(tmp_path / "nowhere.wav")
    os.mkfifo(calls / "pipe.wav")  # an entry no decoder can read (and reading it would block)
    summary = run_batch(calls, db, rulebook=small_rulebook(), engine=engine())
    assert summary.scored == 2 and summary.found == 4
    problems = dict(summary.errors)
    assert problems[str(calls / "gone.wav")] == f"{calls / 'gone.wav'}: broken link (to {tmp_path / 'nowhere.wav'})"
    assert problems[str(calls / "pipe.wav")] == f"{calls / 'pipe.wav'}: not a regular file"
    assert summary.not_audio == ["notes.txt"]
    with reading(db) as con:
        assert con.execute("SELECT status FROM calls WHERE call_id = 'gone'").fetchone() == ("error",)


def test_metadata_rows_are_stored_and_a_changed_row_rescores(tmp_path):
    calls, db, book = make_folder(tmp_path, 2, bad=0), tmp_path / "qa.duckdb", small_rulebook()
    csv = tmp_path / "meta.csv"
    csv.write_text("call_id,agent_id,team,ring_seconds,queue\nday2/c0.wav,A7,北区,4,售后\nday1/c1,A8,南区,x,\n")
    summary = run_batch(calls, db, rulebook=book, engine=engine(), metadata=load_metadata(csv))
    assert summary.scored == 2 and [p.line for p in summary.metadata_problems] == [3]
    with reading(db) as con:
        got = con.execute("SELECT call_id, agent_id, team, metadata_json FROM calls ORDER BY call_id").fetchall()
    assert got[0][:2] == ("day1/c1", None)  # its row was bad: scored without metadata
    assert got[1][:3] == ("day2/c0", "A7", "北区") and json.loads(got[1][3])["queue"] == "售后"
    csv.write_text("call_id,agent_id,team,ring_seconds,queue\nday2/c0,A9,北区,4,售后\n")
    again = run_batch(calls, db, rulebook=book, engine=engine(), metadata=load_metadata(csv))
    assert (again.scored, again.skipped) == (1, 1)


def test_process_pool_gives_the_same_rows(tmp_path):
    calls, book = make_folder(tmp_path, 8), small_rulebook()
    one = run_batch(calls, tmp_path / "one.duckdb", rulebook=book, engine=engine(1))
    two = run_batch(calls, tmp_path / "two.duckdb", rulebook=book, engine=engine(2))
    assert (one.scored, len(one.errors)) == (two.scored, len(two.errors)) == (8, 1)
    assert rows(tmp_path / "one.duckdb") == rows(tmp_path / "two.duckdb")


def test_bad_database_path_fails_the_run(tmp_path):
    calls = make_folder(tmp_path, 1, bad=0)
    with pytest.raises(BatchError, match="cannot use the database"):
        run_batch(calls, tmp_path / "no" / "such" / "dir" / "qa.duckdb", rulebook=small_rulebook(), engine=engine())


KILLABLE = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[3])
    from built_calls import fake_score, small_rulebook
    from qa.scoring.batch import LocalEngine, run_batch
    run_batch(sys.argv[1], sys.argv[2], rulebook=small_rulebook(),
              engine=LocalEngine(1, score_fn=fake_score, initializer=None),
              on_result=lambda r: print(r.call_id, flush=True))
""")


def test_kill_9_mid_batch_then_rerun_gives_the_same_rows(tmp_path):
    calls, book = make_folder(tmp_path, 12), small_rulebook()
    clean, killed = tmp_path / "clean.duckdb", tmp_path / "killed.duckdb"
    run_batch(calls, clean, rulebook=book, engine=engine())
    env = dict(os.environ, FAKE_SCORE_DELAY_S="0.05")
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, str(calls), str(killed), str(Path(__file__).parent)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    for _ in range(4):
        assert proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done = set(store.fingerprints(killed))
    assert 4 <= len(done) < 13  # some calls are durable, the rest are not there yet
    rerun = run_batch(calls, killed, rulebook=book, engine=engine())
    assert rerun.skipped >= 4 - 1 and rerun.scored + rerun.skipped + len(rerun.errors) == 13
    assert rows(killed) == rows(clean)
    with reading(killed) as con:
        assert con.execute("SELECT count(*) = count(DISTINCT call_id) FROM calls").fetchone()[0]
        assert con.execute("SELECT count(*) = count(DISTINCT finding_id) FROM findings").fetchone()[0]


@pytest.mark.slow
def test_real_batch_on_the_sample_recordings(tmp_path):
    """The whole pipeline (real Whisper) over recordings_sample into a real DuckDB file."""
    labels = sorted(SAMPLES.glob("*.json"))
    if not labels:
        pytest.skip("recordings_sample/ has no labelled calls")
    from qa.phrases.rulebook import load_rulebook

    db = tmp_path / "qa.duckdb"
    meta = SAMPLES / "metadata.csv"
    book = load_rulebook()
    summary = run_batch(SAMPLES, db, rulebook=book, workers=1,
                        metadata=load_metadata(meta) if meta.exists() else None)
    assert summary.scored == len(labels) and not summary.errors
    agree = total = 0
    wrong = []
    with reading(db) as con:
        outcomes = dict(((c, r), o) for c, r, o in con.execute("SELECT call_id, rule_id, outcome FROM rule_results").fetchall())
        assert con.execute("SELECT count(DISTINCT rulebook_version) FROM scores").fetchone()[0] == 1
    for label in labels:
        expected = json.loads(label.read_text("utf-8"))["expected"]
        for rule_id, want in expected.items():
            total += 1
            got = outcomes.get((label.stem, rule_id))
            agree += got == want
            if got != want:
                wrong.append(f"{label.stem} {rule_id}: {got} (label {want})")
    assert agree / total >= 0.9, f"{agree}/{total} rule outcomes agree with the labels:\n" + "\n".join(wrong)
    # every stored score comes out the same from what the database holds (stored rulebook, transcript)
    from qa.scoring.explain import reproduce_call
    for label in labels:
        again = reproduce_call(db, label.stem)
        assert again.same, (label.stem, again.differences)
    again = run_batch(SAMPLES, db, rulebook=book, workers=1,
                      metadata=load_metadata(meta) if meta.exists() else None)
    assert (again.scored, again.skipped) == (0, len(labels))
