"""Rule accuracy against labelled calls: per-rule precision, recall and F1 of `fail`.

    python -m bench.accuracy recordings_sample
    python -m qa.samplegen --out /tmp/gen --set generated --count 60 --seed 7
    python -m bench.accuracy /tmp/gen --db /tmp/gen.duckdb --workers 1

Scores the folder with the real pipeline (incrementally into --db, so a
second run only re-reads), then compares each call's stored outcome with its
label `<call_id>.json` (`expected`: rule id -> pass/fail/na). Forbidden
phrases are also scored as events: a finding of phrase.forbidden counts when
it starts within 2 s of a labelled phrase (one finding per labelled phrase).
The baseline printed beside each rule is "always fail" (recall 1, precision
= the share of calls that fail it), measured on the same labels.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

from qa.phrases.rulebook import load_rulebook
from qa.scoring.batch import run_batch
from qa.scoring.db import reading
from qa.scoring.metadata import load_metadata

EVENT_TOLERANCE_S = 2.0


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def load_labels(folder: Path) -> dict[str, dict]:
    labels = {}
    for path in sorted(folder.rglob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        if isinstance(data, dict) and "expected" in data:
            labels[path.relative_to(folder).with_suffix("").as_posix()] = data
    return labels


def event_match(labelled: list[dict], found: list[tuple[float, float, str]]) -> tuple[int, int, int]:
    """One-to-one: each labelled phrase takes the nearest unused finding within the tolerance."""
    unused = list(found)
    tp = 0
    for ev in sorted(labelled, key=lambda e: e["start_s"]):
        near = [f for f in unused if ev["start_s"] - EVENT_TOLERANCE_S <= f[0] <= ev["end_s"] + EVENT_TOLERANCE_S]
        if near:
            best = min(near, key=lambda f: (f[2] != ev["phrase"], abs(f[0] - ev["start_s"])))
            unused.remove(best)
            tp += 1
    return tp, len(unused), len(labelled) - tp


def evaluate(folder: Path, db: Path) -> int:
    labels = load_labels(folder)
    with reading(db) as con:
        outcomes = {(c, r): o for c, r, o in con.execute("SELECT call_id, rule_id, outcome FROM rule_results").fetchall()}
        findings = con.execute(
            "SELECT call_id, start_s, end_s, matched_phrase FROM findings WHERE rule_id = 'phrase.forbidden'"
        ).fetchall()
    rules = sorted({r for lab in labels.values() for r in lab["expected"]})
    print(f"{len(labels)} labelled calls in {folder}")
    print(f"{'rule':24} {'P':>5} {'R':>5} {'F1':>5}   {'tp':>3} {'fp':>3} {'fn':>3}  agree   baseline F1 (always fail)")
    worst = 1.0
    for rule in rules:
        counts: Counter = Counter()
        agree = 0
        for call_id, lab in labels.items():
            want, got = lab["expected"].get(rule), outcomes.get((call_id, rule), "missing")
            agree += want == got
            counts["tp"] += want == "fail" and got == "fail"
            counts["fp"] += want != "fail" and got == "fail"
            counts["fn"] += want == "fail" and got != "fail"
        p, r, f = prf(counts["tp"], counts["fp"], counts["fn"])
        positives = sum(lab["expected"].get(rule) == "fail" for lab in labels.values())
        _, _, base = prf(positives, len(labels) - positives, 0)
        if positives:
            worst = min(worst, f)
        print(f"{rule:24} {p:5.2f} {r:5.2f} {f:5.2f}   {counts['tp']:3d} {counts['fp']:3d} {counts['fn']:3d}"
              f"  {agree:2d}/{len(labels):<2d}  {base:5.2f}")
    per_call: dict[str, list] = {}
    for call_id, start, end, phrase in findings:
        per_call.setdefault(call_id, []).append((start, end, phrase or ""))
    tp = fp = fn = 0
    for call_id, lab in labels.items():
        a, b, c = event_match([e for e in lab.get("forbidden", []) if e.get("role", "agent") == "agent"],
                              per_call.get(call_id, []))
        tp, fp, fn = tp + a, fp + b, fn + c
    p, r, f = prf(tp, fp, fn)
    print(f"forbidden-phrase events (within {EVENT_TOLERANCE_S:g} s): precision {p:.2f}, recall {r:.2f}, "
          f"F1 {f:.2f} (tp {tp}, fp {fp}, fn {fn})")
    print(f"lowest per-rule F1 of fail: {worst:.2f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--db", type=Path, help="DuckDB file to score into (kept; reruns are incremental)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-score", action="store_true", help="only compare what --db already holds")
    args = ap.parse_args(argv)
    db = args.db or Path(tempfile.mkdtemp(prefix="callqa-acc-")) / "accuracy.duckdb"
    if not args.no_score:
        meta = args.folder / "metadata.csv"
        summary = run_batch(args.folder, db, rulebook=load_rulebook(), workers=args.workers,
                            metadata=load_metadata(meta) if meta.exists() else None)
        print(f"scored {summary.scored}, up to date {summary.skipped}, errors {len(summary.errors)} "
              f"in {summary.elapsed_s:.0f} s (database {db})")
        for path, problem in summary.errors:
            print(f"  error {problem}")
    return evaluate(args.folder, db)


if __name__ == "__main__":
    sys.exit(main())
