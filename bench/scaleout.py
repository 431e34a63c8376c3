"""Scale-out bench: audio seconds scored per wall second, local engine vs Ray workers.

All runs score the same calls, in one process, one after the other, each into
its own fresh DuckDB through the real batch (`run_batch`): the local engine
(one process), then Ray with 1 and with 2 workers on a private Ray instance
on this machine. Every worker, local or Ray, decodes with one thread
(CTranslate2 `OMP_NUM_THREADS=1`), so the second Ray worker has a core of its
own to add. Wall time includes loading the model in each worker; Ray's own
start is timed apart, once. The scores of every run are checked against the
local run's.

    .venv/bin/python bench/scaleout.py                      # recordings_sample
    .venv/bin/python bench/scaleout.py --generate 12 --seed 5  # python -m qa.samplegen ... first
    .venv/bin/python bench/scaleout.py --calls DIR --limit 6 --local-pool

On a GPU node a worker would decode with CUDA float16 (`--gpus-per-worker 1`):
ASR, most of the time here, drops by one to two orders of magnitude, so the
signal timeline (numpy/scipy, Silero on CPU) and decoding the audio file
become the bottleneck; give each GPU worker several CPUs and more calls in
flight. Not measured here: this machine has no GPU.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Import from the repository root, not from bench/ (its signal.py would shadow the stdlib's).
sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import duckdb  # noqa: E402

from qa.phrases.rulebook import load_rulebook  # noqa: E402
from qa.records import TranscribeOptions  # noqa: E402
from qa.scoring.batch import LocalEngine, discover, run_batch  # noqa: E402
from qa.scoring.metadata import load_metadata  # noqa: E402
from qa.transcribe.audio import AudioError, load_audio  # noqa: E402


def pick_calls(src: Path, limit: int | None, out: Path) -> Path:
    """Copy the `limit` shortest readable recordings (by size) of `src` into `out`.

    Unreadable files (a generated set holds a few on purpose) are left out, so
    every engine times `limit` real calls.
    """
    found = sorted(discover(src), key=lambda c: c[1].stat().st_size)
    if limit:
        readable = []
        for call_id, path in found:
            try:
                load_audio(path)
            except AudioError:
                continue
            readable.append((call_id, path))
            if len(readable) == limit:
                break
        found = readable
    out.mkdir(parents=True, exist_ok=True)
    for call_id, path in found:
        target = out / f"{call_id}{path.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    return out


def scores(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT call_id, score, passed FROM scores ORDER BY call_id").fetchall()
    finally:
        con.close()


def run(label: str, engine, calls: Path, work: Path, **inputs) -> dict:
    db = work / f"{label.replace(' ', '_')}.duckdb"
    t0 = time.perf_counter()
    summary = run_batch(calls, db, engine=engine, **inputs)
    wall = time.perf_counter() - t0
    row = dict(label=label, calls=summary.scored, errors=len(summary.errors), audio_s=summary.audio_s,
               wall_s=wall, rate=summary.audio_s / wall if wall else 0.0, scores=scores(db))
    print(f"  {label:<22} {row['calls']:>3} calls {row['audio_s']:7.1f} s audio in {wall:6.1f} s "
          f"-> {row['rate']:.2f} audio s per wall s", flush=True)
    return row


def start_ray(cpus: int):
    """A private Ray on this machine, with its own auth token (nothing written to ~/.ray)."""
    token = Path(tempfile.mkdtemp(prefix="callqa-ray-")) / "token"
    token.write_text(secrets.token_hex(32))
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token), RAY_USAGE_STATS_ENABLED="0")
    import ray
    import qa

    t0 = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False,
             runtime_env={"py_modules": [str(Path(qa.__file__).parent)]})
    return ray, time.perf_counter() - t0, token.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=Path, default=ROOT / "recordings_sample", help="folder of recordings")
    ap.add_argument("--generate", type=int, metavar="N", help="generate N calls with qa.samplegen first")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--limit", type=int, default=6, help="score the N shortest calls (0: all)")
    ap.add_argument("--local-pool", action="store_true", help="also time the local engine with 2 processes")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="callqa-scaleout-"))
    src = args.calls
    if args.generate:
        src = work / "generated"
        subprocess.run([sys.executable, "-m", "qa.samplegen", "--out", str(src), "--set", "generated",
                        "--count", str(args.generate), "--seed", str(args.seed), "--quiet"], check=True, cwd=ROOT)
    calls = pick_calls(src, args.limit or None, work / "calls")
    meta = src / "metadata.csv"
    inputs = dict(rulebook=load_rulebook(), options=TranscribeOptions(),
                  metadata=load_metadata(meta) if meta.exists() else None)
    print(f"scale-out bench: {len(discover(calls))} calls from {src}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at start", flush=True)

    rows = []
    if args.local_pool:  # first: the pool forks, and a fork after this process ran the model can hang
        rows.append(run("local 2 processes", LocalEngine(2, threads=1), calls, work, **inputs))
    rows.insert(0, run("local 1 process", LocalEngine(1, threads=1), calls, work, **inputs))
    ray, startup, token_dir = start_ray(cpus=2)
    print(f"  ray.init (private instance, 2 CPUs): {startup:.1f} s, not counted below", flush=True)
    from qa.scoring.engine_ray import RayEngine

    try:
        for n in (1, 2):
            rows.append(run(f"ray {n} worker{'s' if n > 1 else ''}", RayEngine(workers=n, cpu_threads=1),
                            calls, work, **inputs))
    finally:
        ray.shutdown()
        shutil.rmtree(token_dir, ignore_errors=True)

    base = rows[0]
    print(f"\n{'engine':<22} {'audio s/wall s':>15} {'vs local':>9} {'same scores':>12}")
    for r in rows:
        same = "yes" if r["scores"] == base["scores"] else "NO"
        print(f"{r['label']:<22} {r['rate']:>15.2f} {r['rate'] / base['rate']:>8.2f}x {same:>12}")
    r1, r2 = (next(r for r in rows if r["label"].startswith(f"ray {n} ")) for n in (1, 2))
    print(f"second Ray worker: {r2['rate'] / r1['rate']:.2f}x the throughput of one "
          f"(load average {os.getloadavg()[0]:.1f} at end; other work on the machine lowers both)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
