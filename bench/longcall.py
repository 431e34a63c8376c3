"""Cost of a long call against a short one: real-time factor and peak memory.

A sample call is tiled to each length (stereo, its own rate, 16-bit PCM) by
this process, block by block, and transcribed by the whole pipeline (timeline,
ASR, word checks) in a fresh process that does nothing else, so each length's
peak RSS is the pipeline's own. Printed: seconds per audio second, peak RSS,
and both as ratios to the shortest length, measured in the same run. The
issue's targets: a 60-minute call's RTF within 1.15x of a 1-minute one, and
its peak within the 1-minute peak + 300 MB.

    python -m bench.longcall [--minutes 1 10 60] [--source recordings_sample/call01_compliant_billing.wav]
                             [--baseline-runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import soundfile as sf

SAMPLES = Path(__file__).resolve().parents[1] / "recordings_sample"

CHILD = """
import json, resource, sys, time
from qa.records import TranscribeOptions
from qa.transcribe.pipeline import Transcriber

path = sys.argv[1]
transcriber = Transcriber(TranscribeOptions())
transcriber.recognizer.model  # loaded before the clock starts, as in a batch worker
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
t = transcriber.transcribe_file(path)
wall = time.perf_counter() - t0
print(json.dumps({"audio_s": t.duration_s, "wall_s": wall, "utterances": len(t.utterances),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rss_after_load_mb": before / 1024}))
"""


def tile(source: Path, minutes: float, out: Path) -> Path:
    """`source` repeated to `minutes`, written a copy of it at a time (never the whole call in memory)."""
    base, rate = sf.read(str(source), dtype="int16", always_2d=True)
    left = int(minutes * 60 * rate)
    with sf.SoundFile(str(out), "w", rate, base.shape[1], subtype="PCM_16") as f:
        while left > 0:
            f.write(base[:left])
            left -= min(left, len(base))
    return out


def measure(source: Path, minutes: float, tmp: Path) -> dict:
    path = tile(source, minutes, tmp / f"{minutes}.wav")
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
    path.unlink()
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0, 60.0])
    ap.add_argument("--source", type=Path, default=SAMPLES / "call01_compliant_billing.wav")
    ap.add_argument("--baseline-runs", type=int, default=3,
                    help="runs of the shortest length, whose median is the baseline (a short call's RTF is noisy)")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="callqa-long-") as tmp:
        lengths = sorted(args.minutes)
        for minutes in lengths:
            runs = [measure(args.source, minutes, Path(tmp))
                    for _ in range(args.baseline_runs if minutes == lengths[0] else 1)]
            for r in runs:
                r["rtf"] = r["wall_s"] / r["audio_s"]
                print(f"{minutes:6.1f} min: RTF {r['rtf']:.3f}, peak RSS {r['peak_rss_mb']:7.0f} MB "
                      f"(after model load {r['rss_after_load_mb']:.0f} MB), {r['utterances']} utterances", flush=True)
            rows.append((minutes, {k: statistics.median(r[k] for r in runs) for k in ("rtf", "peak_rss_mb")}))
    base = rows[0][1]
    print(f"\nagainst {rows[0][0]:g} min (median of {args.baseline_runs} runs), measured in this run "
          "(targets at 60 min: RTF <= 1.15x, peak <= +300 MB):")
    for minutes, r in rows[1:]:
        print(f"{minutes:6.1f} min: RTF x{r['rtf'] / base['rtf']:.2f}, peak RSS "
              f"{r['peak_rss_mb'] - base['peak_rss_mb']:+.0f} MB")


if __name__ == "__main__":
    main()
