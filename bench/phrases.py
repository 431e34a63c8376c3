"""Phrase matching accuracy and speed: exact substrings vs the fuzzy matcher.

    .venv/bin/python -m bench.phrases [--seed 7] [--corruptions 3]

Builds the labelled corpus (bench/phrase_corpus.py), tunes min_similarity on
the dev split (highest recall at precision >= 0.98), and reports precision and
recall per phrase family on the held-out test split for exact matching and
for the fuzzy matcher at the tuned threshold and at the shipped ones (the
matcher's default, or a rule's own min_similarity), all in this run. Then
measures matches per second (with and without the bigram index).
If bench/out/asr_samples.json exists (real ASR of the sample calls), it is
scored too, against the labels in recordings_sample/<call_id>.json.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

from bench.phrase_corpus import FAMILIES, Sample, build
from qa.phrases import find, load_rulebook, matcher
from qa.phrases.textnorm import match_key
from qa.records import Utterance

ROOT = Path(__file__).resolve().parents[1]
ASR_SAMPLES = ROOT / "bench" / "out" / "asr_samples.json"


def exact_families(book, utterances: list[Utterance]) -> list[set[str]]:
    """Baseline: normalized exact substrings (slots as gaps), same roles and exclusions."""
    found: list[set[str]] = [set() for _ in utterances]
    for family, (rule_id, groups) in FAMILIES.items():
        rule = book.rules[rule_id]
        specs = [p for g in groups for p in rule.phrases[g]]
        for i, u in enumerate(utterances):
            if u.role not in rule.roles:
                continue
            key = match_key(u.text)
            for spec in specs:
                parts = [re.escape(match_key(p)) for p in re.split(r"\{\w+\}", spec.text)]
                hit = re.search(".{0,14}".join(p for p in parts if p), key)
                if hit and not any(
                        (c := match_key(x)) and any(m.start() <= hit.start() and hit.end() <= m.start() + len(c)
                                                  for m in re.finditer(re.escape(c), key))
                        for x in spec.exclusions):
                    found[i].add(family)
                    break
    return found


def fuzzy_families(book, utterances: list[Utterance], threshold: float | None) -> list[set[str]]:
    """Families found at `threshold`, or (None) at each rule's own floor, as shipped."""
    found: list[set[str]] = [set() for _ in utterances]
    for family, (rule_id, groups) in FAMILIES.items():
        rule = book.rules[rule_id]
        floor = threshold if threshold is not None else rule.params.get("min_similarity")
        for g in groups:
            for m in find(rule.phrases[g], utterances, roles=rule.roles, min_similarity=floor,
                          slots=book.slots):
                found[m.utterance_idx].add(family)
    return found


def scores(samples: list[Sample], predicted: list[set[str]]) -> dict[str, tuple[float, float, int]]:
    out = {}
    for family in list(FAMILIES) + ["ALL"]:
        tp = fp = fn = 0
        for s, p in zip(samples, predicted):
            fams = FAMILIES if family == "ALL" else [family]
            for f in fams:
                tp += f in s.families and f in p
                fp += f not in s.families and f in p
                fn += f in s.families and f not in p
        out[family] = (tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0, tp + fn)
    return out


def labelled(book, samples: list[Sample]) -> list[Sample]:
    """Positives also hold every family present in their clean text; prose with a phrase is dropped."""
    clean_found = exact_families(book, [Utterance(s.role, 0, 0, 1, s.clean or s.text) for s in samples])
    out = []
    for s, fams in zip(samples, clean_found):
        if s.kind in ("clean", "corrupt"):
            out.append(Sample(**{**s.__dict__, "families": s.families | fams}))
        elif s.kind != "prose" or not fams:
            out.append(s)
    return out


def as_utterances(samples: list[Sample]) -> list[Utterance]:
    return [Utterance(s.role, 0, 5.0 * i, 5.0 * i + 4, s.text) for i, s in enumerate(samples)]


def tune(book, dev: list[Sample]) -> float:
    utts = as_utterances(dev)
    best = (1.0, -1.0)
    for t in [x / 100 for x in range(65, 97)]:
        p, r, _ = scores(dev, fuzzy_families(book, utts, t))["ALL"]
        if p >= 0.98 and r > best[1]:
            best = (t, r)
    return best[0]


def table(title: str, rows: dict[str, dict[str, tuple[float, float, int]]]) -> None:
    print(f"\n{title}")
    names = list(rows)
    print(f"{'family':<12} {'n':>4}  " + "  ".join(f"{n:>22}" for n in names))
    print(f"{'':<12} {'':>4}  " + "  ".join(f"{'precision  recall':>22}" for _ in names))
    for family in list(FAMILIES) + ["ALL"]:
        n = rows[names[0]][family][2]
        cells = "  ".join(f"{rows[x][family][0]:>11.3f} {rows[x][family][1]:>9.3f}  " for x in names)
        print(f"{family:<12} {n:>4}  {cells}")


def speed(book, utts: list[Utterance], repeat: int) -> float:
    groups = [(r, g) for r in book.rules.values() for g in r.phrases.values()]
    for r, g in groups:  # compile once, as a scorer does per rulebook
        find(g, utts[:1], roles=r.roles, slots=book.slots)
    start = time.perf_counter()
    for _ in range(repeat):
        for r, g in groups:
            find(g, utts, roles=r.roles, slots=book.slots)
    return repeat * len(utts) / (time.perf_counter() - start)


def real_asr(book, threshold: float | None, name: str) -> None:
    if not ASR_SAMPLES.exists():
        print(f"\n(no {ASR_SAMPLES.relative_to(ROOT)}: real ASR of the sample calls not scored)")
        return
    calls = json.loads(ASR_SAMPLES.read_text("utf-8"))
    samples, utts = [], []
    for call in calls:
        label_path = ROOT / "recordings_sample" / f"{call['call_id']}.json"
        labels = json.loads(label_path.read_text("utf-8")) if label_path.exists() else {}
        said = set(labels.get("phrase_families", labels.get("families", [])))
        us = [Utterance(u["role"], 0, u["start_s"], u["end_s"], u["text"]) for u in call["utterances"]]
        utts += us
        samples += [Sample("agent", " ".join(u.text for u in us), frozenset(said), "", "asr", "test")]
    # a family counts per call: present in any of its utterances
    def per_call(found):
        out, i = [], 0
        for call in calls:
            n = len(call["utterances"])
            out.append(set().union(*found[i:i + n]) if n else set())
            i += n
        return out
    table(f"Real ASR of {len(calls)} sample calls (per call)",
          {"exact": scores(samples, per_call(exact_families(book, utts))),
           name: scores(samples, per_call(fuzzy_families(book, utts, threshold)))})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--corruptions", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    book = load_rulebook()
    samples = labelled(book, build(seed=args.seed, corruptions=args.corruptions))
    dev = [s for s in samples if s.split == "dev"]
    test = [s for s in samples if s.split == "test"]
    kinds = {k: sum(s.kind == k for s in samples) for k in ("clean", "corrupt", "innocent", "customer", "prose")}
    print(f"corpus: {len(samples)} sentences (dev {len(dev)}, test {len(test)}); {kinds}")
    tuned = tune(book, dev)
    floors = {r.rule_id: r.params["min_similarity"] for r in book.rules.values() if "min_similarity" in r.params}
    print(f"min_similarity tuned on dev: {tuned:.2f} (shipped: {matcher.DEFAULT_MIN_SIMILARITY:.2f}"
          + "".join(f", {rule_id} {v:.2f}" for rule_id, v in floors.items()) + ")")
    shipped, name = None, "fuzzy (shipped)"
    utts = as_utterances(test)
    rows = {"exact": scores(test, exact_families(book, utts)),
            f"fuzzy@{tuned:.2f} (tuned)": scores(test, fuzzy_families(book, utts, tuned)),
            name: scores(test, fuzzy_families(book, utts, shipped))}
    table("Held-out test split", rows)
    corrupt = [s for s in test if s.kind == "corrupt"]
    cu = as_utterances(corrupt)
    table("Held-out corrupted positives only (recall is what matters)",
          {"exact": scores(corrupt, exact_families(book, cu)),
           name: scores(corrupt, fuzzy_families(book, cu, shipped))})
    misses = [(s.text, sorted(s.families - p)) for s, p in zip(test, fuzzy_families(book, utts, shipped))
              if s.families - p]
    wrong = [(s.role, s.text, sorted(p - s.families)) for s, p in zip(test, fuzzy_families(book, utts, shipped))
             if p - s.families]
    print(f"\nfalse positives ({name}): {wrong[:12]}")
    print(f"misses ({name}, first 12): {misses[:12]}")
    all_utts = as_utterances(samples)
    with_index = speed(book, all_utts, args.repeat)
    matcher.PREFILTER = False
    no_index_found = fuzzy_families(book, all_utts, shipped)
    without = speed(book, all_utts, 1)
    matcher.PREFILTER = True
    same = no_index_found == fuzzy_families(book, all_utts, shipped)
    print(f"\nspeed: {with_index:,.0f} utterances/s through all {sum(len(r.phrases) for r in book.rules.values())} "
          f"phrase groups with the bigram index, {without:,.0f}/s without ({with_index / without:.1f}x); "
          f"same matches without the index: {same}")
    print(f"  = about {with_index / 30:,.0f} calls/s at 30 utterances per call (one core)")
    real_asr(book, shipped, name)


if __name__ == "__main__":
    main()
