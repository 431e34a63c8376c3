"""Throughput of `rescore` (calls/s) and `score` (audio hours per wall hour), with baselines.

    python -m bench.throughput rescore --from-db /tmp/samples.duckdb --calls 2000
    python -m bench.throughput score recordings_sample --limit 6

rescore: the stored calls of --from-db are replicated to --calls calls in a
fresh file, then rescored by `run_rescore` (bulk reads, worker processes,
matcher work reused across repeated utterance texts, chunked transactions).
Baselines in the same run, each on its own copy of the file: the plain
per-call path (`run_rescore_per_call`, one process, no reuse), the rules
alone in memory (no store), and one write transaction per call. The rows the
fast path wrote are compared with the per-call path's. Replicas repeat every
utterance text, which favours the reuse: `--distinct-texts` gives each
replica its own texts (a digit appended) to measure the case with no repeats.
score: the batch with 1 and 2 worker processes against a baseline of the
bare transcriber in one process (no rules, no store), all over the same files.
Peak memory is the resident high-water mark of this process and its children.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from qa.phrases.rulebook import load_rulebook
from qa.scoring import store
from qa.scoring.db import reading, writing
from qa.scoring.rescore import run_rescore, run_rescore_per_call
from qa.scoring.score import rescore_transcript

TABLES = ("calls", "utterances", "rule_results", "findings", "scores")


def peak_mib() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, kids


def replicate(source: Path, target: Path, copies: int, distinct_texts: bool = False) -> int:
    with writing(target):
        pass
    con = duckdb.connect(str(target))
    con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
    n_src = con.execute("SELECT count(*) FROM src.calls WHERE status = 'scored'").fetchone()[0]
    reps = max(1, -(-copies // max(n_src, 1)))
    con.execute("CREATE TEMP TABLE reps AS SELECT range AS k FROM range(?)", [reps])
    for table in TABLES:
        cols = [r[0] for r in con.execute(f"DESCRIBE src.{table}").fetchall()]
        renamed = {"call_id": "call_id || '#' || k", "finding_id": "finding_id || '-' || k"}
        if distinct_texts and table == "utterances":
            renamed["text"] = "text || k"  # a digit more: another matching key, nothing to reuse
        select = ", ".join(renamed.get(c, c) for c in cols)
        con.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select} FROM src.{table}, reps")
    total = con.execute("SELECT count(*) FROM calls").fetchone()[0]
    con.close()
    return total


ROWS_SQL = {
    "rule_results": "SELECT * FROM rule_results ORDER BY call_id, rule_id",
    "findings": "SELECT * FROM findings ORDER BY finding_id",
    "scores": "SELECT * FROM scores ORDER BY call_id",
    "calls": "SELECT call_id, rulebook_version FROM calls ORDER BY call_id",
}


def result_rows(db: Path) -> dict[str, list[tuple]]:
    with reading(db) as con:
        return {table: con.execute(sql).fetchall() for table, sql in ROWS_SQL.items()}


def bench_rescore(args) -> None:
    book = load_rulebook()
    work = Path(tempfile.mkdtemp(prefix="callqa-tp-"))
    db = work / "rescore.duckdb"
    n = replicate(args.from_db, db, args.calls, args.distinct_texts)
    plain_db, naive_db = work / "plain.duckdb", work / "naive.duckdb"
    shutil.copy(db, plain_db)
    shutil.copy(db, naive_db)
    calls = list(store.iter_stored_calls(db))
    rescore_transcript(calls[0], book)  # compile phrases, load jieba: not part of any rate
    t = time.perf_counter()
    results = [rescore_transcript(c, book) for c in calls]
    rules_only = len(calls) / (time.perf_counter() - t)
    n_naive = min(len(results), 100)
    t = time.perf_counter()
    for r in results[:n_naive]:
        store.save_rescored(naive_db, [r])
    naive = n_naive / (time.perf_counter() - t)
    plain = run_rescore_per_call(plain_db, book).calls_per_second
    summary = run_rescore(db, book, workers=args.workers)
    rate = summary.calls_per_second
    same = result_rows(db) == result_rows(plain_db)
    print(f"rescore of {n} calls ({summary.rescored} with transcripts, "
          f"{'distinct' if args.distinct_texts else 'replicated'} texts): {rate:.0f} calls/s (target >= 500), "
          f"peak RSS {peak_mib()[0]:.0f} MiB, workers {peak_mib()[1]:.0f} MiB")
    print(f"  baseline plain per-call rescore: {plain:.0f} calls/s  -> {rate / plain:.1f}x; "
          f"same rows as it: {same}")
    print(f"  baseline rules alone in memory, one process: {rules_only:.0f} calls/s  -> {rate / rules_only:.2f}x")
    print(f"  baseline one transaction per call: {naive:.0f} calls/s  -> {rate / naive:.1f}x")
    shutil.rmtree(work, ignore_errors=True)


def bench_score(args) -> None:
    from qa.records import TranscribeOptions
    from qa.scoring.batch import discover, run_batch
    from qa.transcribe.pipeline import Transcriber

    book = load_rulebook()
    files = discover(args.folder)[: args.limit] if args.limit else discover(args.folder)
    work = Path(tempfile.mkdtemp(prefix="callqa-tp-"))
    subset = work / "calls"
    for call_id, path in files:
        dst = subset / (call_id + path.suffix)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dst)
    transcriber = Transcriber(TranscribeOptions())
    transcriber.recognizer.model  # noqa: B018 - load outside the timing, as the batch's initializer does
    t = time.perf_counter()
    audio_s = 0.0
    for _, path in discover(subset):
        try:
            audio_s += transcriber.transcribe_file(path).duration_s
        except Exception:  # noqa: BLE001 - corrupt files cost what they cost
            pass
    base = audio_s / (time.perf_counter() - t)
    print(f"{len(files)} files, {audio_s / 60:.1f} min of audio")
    print(f"  baseline bare transcriber, 1 process: {base:.1f} audio h per wall h")
    for workers in args.workers:
        s = run_batch(subset, work / f"w{workers}.duckdb", rulebook=book, workers=workers)
        rate = s.audio_hours_per_wall_hour or 0.0
        print(f"  score --workers {workers}: {rate:.1f} audio h per wall h ({rate / base:.2f}x baseline; "
              f"{s.scored} scored, {len(s.errors)} errors, {s.elapsed_s:.0f} s incl. model load)")
    own, kids = peak_mib()
    print(f"  peak RSS: this process {own:.0f} MiB, largest worker {kids:.0f} MiB")
    shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    r = sub.add_parser("rescore")
    r.add_argument("--from-db", type=Path, required=True, help="a database scored by `callqa score`")
    r.add_argument("--calls", type=int, default=2000)
    r.add_argument("--distinct-texts", action="store_true", help="no utterance text repeats across replicas")
    r.add_argument("--workers", type=int, default=1, help="rescore worker processes (1: in this process)")
    s = sub.add_parser("score")
    s.add_argument("folder", type=Path)
    s.add_argument("--limit", type=int, default=0)
    s.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args(argv)
    (bench_rescore if args.what == "rescore" else bench_score)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
