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

The checks may ask the audio about lines the text leaves in doubt
(qa.transcribe.verify). The same stored calls are then rescored by text
alone (--no-verify) and compared in the same run, and the cost of the
verification is measured: every reading scored again from the recordings,
against the batch's own transcription time (calls transcribed in this run).

With --reference-text the rules also run over each call's script (what was
said, by whom, when) on its measured signal timeline: a rule that is right on
the script and wrong on the recognized words fails on recognition, not on its
logic. (Speech rate still counts the measured speech time, which on mono rests
on the voice attribution.)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

from qa.phrases.rulebook import load_rulebook
from qa.phrases.textnorm import match_key
from qa.records import Transcript, Utterance
from qa.samplegen.scenario import SCENARIO_RULE_IDS
from qa.scoring import store
from qa.scoring.batch import run_batch
from qa.scoring.messages import NEAR_MISS_MARK
from qa.scoring.db import reading
from qa.scoring.metadata import load_metadata
from qa.scoring.score import apply_rules

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
    """Each labelled phrase takes the nearest unused finding within the tolerance; a
    finding of a longer phrase that contains it (喂,说话呀!再不说话我就挂了啊 holds both
    喂,说话呀 and 再不说话我就挂了) may serve every labelled phrase it contains."""
    unused = list(found)
    used: list[tuple[float, float, str]] = []
    tp = 0
    for ev in sorted(labelled, key=lambda e: e["start_s"]):
        lo, hi = ev["start_s"] - EVENT_TOLERANCE_S, ev["end_s"] + EVENT_TOLERANCE_S
        wanted = match_key(ev["phrase"])
        if any(lo <= f[0] <= hi and wanted and wanted in match_key(f[2]) for f in used):
            tp += 1
            continue
        near = [f for f in unused if lo <= f[0] <= hi]
        if near:
            best = min(near, key=lambda f: (f[2] != ev["phrase"], abs(f[0] - ev["start_s"])))
            unused.remove(best)
            used.append(best)
            tp += 1
    return tp, len(unused), len(labelled) - tp


Outcomes = dict[tuple[str, str], str]  # (call_id, rule_id) -> pass/fail/na
Events = dict[str, list[tuple[float, float, str]]]  # call_id -> forbidden findings (start, end, phrase)


def stored_outcomes(db: Path) -> tuple[Outcomes, Events]:
    with reading(db) as con:
        outcomes = {(c, r): o for c, r, o in con.execute("SELECT call_id, rule_id, outcome FROM rule_results").fetchall()}
        rows = con.execute(
            "SELECT call_id, start_s, end_s, matched_phrase FROM findings WHERE rule_id = 'phrase.forbidden'"
        ).fetchall()
    events: Events = {}
    for call_id, start, end, phrase in rows:
        events.setdefault(call_id, []).append((start, end, phrase or ""))
    return outcomes, events


def reference_transcript(stored: store.StoredCall, label: dict) -> Transcript:
    """The stored call with its words replaced by the label's script: what was said, by whom,
    when. The signal timeline (rings, speech, silences) stays the measured one."""
    roles = label.get("channel_roles") or []
    utterances = tuple(
        Utterance(line["role"], roles.index(line["role"]) if line["role"] in roles else 0,
                  line["start_s"], line["end_s"], line["text"])
        for line in label["script"] if line["text"].strip())
    return replace(stored.transcript, utterances=utterances)


def reference_outcomes(db: Path, labels: dict[str, dict]) -> tuple[Outcomes, Events]:
    """The rules over the reference transcripts of the stored calls: their accuracy with
    recognition and speaker attribution taken out."""
    book = load_rulebook()
    outcomes: Outcomes = {}
    events: Events = {}
    for stored in store.iter_stored_calls(db):
        label = labels.get(stored.call_id)
        if label is None:
            continue
        result = apply_rules(stored.call_id, stored.path, stored.sha256, reference_transcript(stored, label),
                             stored.metadata, book)
        for r in result.rule_results:
            outcomes[(stored.call_id, r.rule_id)] = r.outcome
            events.setdefault(stored.call_id, []).extend(
                (f.start_s, f.end_s, f.matched_phrase or "") for f in r.findings if r.rule_id == "phrase.forbidden")
    return outcomes, events


def rule_counts(labels: dict[str, dict], outcomes: Outcomes, rule: str) -> Counter:
    """tp/fp/fn of fail and agreement over the calls labelled for `rule` (`labelled`)."""
    counts: Counter = Counter()
    for call_id, lab in labels.items():
        want, got = lab["expected"].get(rule), outcomes.get((call_id, rule), "missing")
        if want is None:
            continue  # a call not labelled for the rule says nothing of it
        counts["labelled"] += 1
        counts["agree"] += want == got
        counts["tp"] += want == "fail" and got == "fail"
        counts["fp"] += want != "fail" and got == "fail"
        counts["fn"] += want == "fail" and got != "fail"
    return counts


def event_prf(labels: dict[str, dict], events: Events) -> tuple[float, float, float, int, int, int]:
    tp = fp = fn = 0
    for call_id, lab in labels.items():
        a, b, c = event_match([e for e in lab.get("forbidden", []) if e.get("role", "agent") == "agent"],
                              events.get(call_id, []))
        tp, fp, fn = tp + a, fp + b, fn + c
    return (*prf(tp, fp, fn), tp, fp, fn)


def evaluate(folder: Path, db: Path, reference: bool = False) -> int:
    labels = load_labels(folder)
    outcomes, events = stored_outcomes(db)
    ref = reference_outcomes(db, labels) if reference else None
    rules = sorted({r for lab in labels.values() for r in lab["expected"]})
    print(f"{len(labels)} labelled calls in {folder}")
    ref_head = "   F1 on the script text" if ref else ""
    print(f"{'rule':24} {'P':>5} {'R':>5} {'F1':>5}   {'tp':>3} {'fp':>3} {'fn':>3}  agree   "
          f"baseline F1 (always fail){ref_head}")
    worst = 1.0
    for rule in rules:
        counts = rule_counts(labels, outcomes, rule)
        p, r, f = prf(counts["tp"], counts["fp"], counts["fn"])
        positives = sum(lab["expected"].get(rule) == "fail" for lab in labels.values())
        _, _, base = prf(positives, counts["labelled"] - positives, 0)
        if positives:
            worst = min(worst, f)
        ref_col = ""
        if ref:
            rc = rule_counts(labels, ref[0], rule)
            ref_col = f"   {prf(rc['tp'], rc['fp'], rc['fn'])[2]:5.2f} (fp {rc['fp']}, fn {rc['fn']})"
        print(f"{rule:24} {p:5.2f} {r:5.2f} {f:5.2f}   {counts['tp']:3d} {counts['fp']:3d} {counts['fn']:3d}"
              f"  {counts['agree']:2d}/{counts['labelled']:<2d}  {base:5.2f}{' ' * 20}{ref_col}")
    p, r, f, tp, fp, fn = event_prf(labels, events)
    print(f"forbidden-phrase events (within {EVENT_TOLERANCE_S:g} s): precision {p:.2f}, recall {r:.2f}, "
          f"F1 {f:.2f} (tp {tp}, fp {fp}, fn {fn})")
    if ref:
        p, r, f, tp, fp, fn = event_prf(labels, ref[1])
        print(f"  on the script text: precision {p:.2f}, recall {r:.2f}, F1 {f:.2f} (tp {tp}, fp {fp}, fn {fn})")
    scenario_table(labels, outcomes)
    said, unsaid = near_miss_hints(db, labels)
    print(f"misheard-line hints on greeting/closing/hold findings: {said[0]} of {said[1]} where the script has the "
          f"line (a recognition miss), {unsaid[0]} of {unsaid[1]} where it does not")
    print(f"lowest per-rule F1 of fail: {worst:.2f}")
    return 0


def situation_counts(labels: dict[str, dict], outcomes: Outcomes, rule: str) -> Counter:
    """One situation rule's counts: the trigger heard (tp/fp/fn of "not na"), the calls labelled na,
    the answers judged where the trigger was heard (judged/right), and the calls where the trigger's
    words were said by the other party (other) with those where the rule fired anyway (other_fired)."""
    c: Counter = Counter()
    for call_id, lab in labels.items():
        want = lab["expected"].get(rule)
        if want is None:
            continue
        got = outcomes.get((call_id, rule), "missing")
        heard = got not in ("na", "missing")
        c["tp"] += want != "na" and heard
        c["fp"] += want == "na" and heard
        c["fn"] += want != "na" and not heard
        c["na"] += want == "na"
        if want != "na" and heard:
            c["judged"] += 1
            c["right"] += want == got
        # the trigger's words said by the other party (situations.py names the form in the notes)
        if f"{rule.split('.', 1)[1]} other" in lab.get("notes", ""):
            c["other"] += 1
            c["other_fired"] += heard
    return c


def scenario_table(labels: dict[str, dict], outcomes: Outcomes) -> None:
    """For the situation rules: the trigger heard (outcome not na) apart from the answer judged
    (pass/fail once the trigger was heard), so a missed trigger is told from a misheard answer."""
    rules = sorted({r for lab in labels.values() for r in lab["expected"] if r in SCENARIO_RULE_IDS})
    if not rules:
        return
    print(f"\nsituation rules: trigger detection (the situation arose: outcome not na) and, where the trigger "
          f"was heard, the answer judged\n{'rule':28} {'trig P':>6} {'trig R':>6}  {'na agree':>11}   "
          f"{'answer ok':>9}  F1 fail  fired on the other side's words")
    for rule in rules:
        c = situation_counts(labels, outcomes, rule)
        trig_p, trig_r = prf(c["tp"], c["fp"], c["fn"])[:2]
        counts = rule_counts(labels, outcomes, rule)
        f1 = prf(counts["tp"], counts["fp"], counts["fn"])[2]
        na_agree = (c["na"] - c["fp"]) / c["na"] if c["na"] else 1.0
        print(f"{rule:28} {trig_p:6.2f} {trig_r:6.2f}  {na_agree:5.2f} ({c['na'] - c['fp']}/{c['na']})"
              f"   {c['right']:3d}/{c['judged']:<3d}   {f1:5.2f}    {c['other_fired']}/{c['other']}")


# Script tags of the lines a missing-line finding is about (the generator tags them).
LINE_TAGS = {"greeting.opening": {"greeting"}, "closing.farewell": {"closing"},
             "hold.procedure": {"hold_request", "hold_thanks"}}


def near_miss_hints(db: Path, labels: dict[str, dict]) -> tuple[tuple[int, int], tuple[int, int]]:
    """(hinted, findings) of greeting, closing and hold findings whose window holds the
    labelled line (said, so the finding is a recognition miss) and of those whose window
    does not (the line was not said)."""
    with reading(db) as con:
        rows = con.execute("SELECT call_id, rule_id, start_s, end_s, evidence FROM findings WHERE rule_id IN ("
                           + ", ".join(f"'{r}'" for r in LINE_TAGS) + ")").fetchall()
    counts = {"said": [0, 0], "unsaid": [0, 0]}
    for call_id, rule_id, start, end, evidence in rows:
        label = labels.get(call_id)
        if label is None:
            continue
        said = any(line["role"] == "agent" and LINE_TAGS[rule_id] & set(line.get("tags", ()))
                   and line["start_s"] <= end + 1.0 and line["end_s"] >= start - 1.0 for line in label["script"])
        c = counts["said" if said else "unsaid"]
        c[0] += NEAR_MISS_MARK in (evidence or "")
        c[1] += 1
    return tuple(counts["said"]), tuple(counts["unsaid"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--db", type=Path, help="DuckDB file to score into (kept; reruns are incremental)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-score", action="store_true", help="only compare what --db already holds")
    ap.add_argument("--reference-text", action="store_true",
                    help="also score each call's script text (the label) over its measured timeline, "
                         "to tell rule errors from recognition errors")
    args = ap.parse_args(argv)
    db = args.db or Path(tempfile.mkdtemp(prefix="callqa-acc-")) / "accuracy.duckdb"
    if not args.no_score:
        meta = args.folder / "metadata.csv"
        summary = run_batch(args.folder, db, rulebook=load_rulebook(), workers=args.workers,
                            metadata=load_metadata(meta) if meta.exists() else None)
        print(f"scored {summary.scored}, rescored {summary.rescored}, up to date {summary.skipped}, "
              f"errors {len(summary.errors)} "
              f"in {summary.elapsed_s:.0f} s (database {db})")
        for path, problem in summary.errors:
            print(f"  error {problem}")
        transcribe_s = summary.elapsed_s if summary.scored else None
    else:
        transcribe_s = None
    print("\n== with verification by sound")
    evaluate(args.folder, db, reference=args.reference_text)
    print("\n== text alone (--no-verify)")
    text_s = _rescored_copy(db, verify=False, evaluate_in=args.folder)
    hear_s = _rescored_copy(db, verify=True, fresh=True)
    cost = hear_s - text_s
    print(f"\nverification cost: {cost:.1f} s to hear every reading again from the recordings"
          + (f": +{100 * cost / (transcribe_s - cost):.1f}% on the {transcribe_s - cost:.0f} s the batch took "
             "without it" if transcribe_s else " (run on a fresh --db to compare with the batch's time)"))
    return 0


def _rescored_copy(db: Path, *, verify: bool, fresh: bool = False, evaluate_in: Path | None = None) -> float:
    """Rescore a copy of `db` (`fresh`: its stored readings forgotten, so all are heard again); seconds taken."""
    import shutil
    import time

    from qa.records import TranscribeOptions
    from qa.scoring.db import writing
    from qa.scoring.rescore import run_rescore
    from qa.scoring.score import preload

    copy = Path(tempfile.mkdtemp(prefix="callqa-acc-")) / "copy.duckdb"
    shutil.copy(db, copy)
    if fresh:
        with writing(copy) as con:
            con.execute("DELETE FROM heard")
        preload(TranscribeOptions())  # the model's load is not verification
    started = time.monotonic()
    summary = run_rescore(copy, load_rulebook(), workers=1, verify=verify)
    elapsed = time.monotonic() - started
    if evaluate_in is not None:
        evaluate(evaluate_in, copy)
    if fresh:
        print(f"(heard {summary.heard} readings)")
    return elapsed


if __name__ == "__main__":
    sys.exit(main())
