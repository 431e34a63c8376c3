"""Signal timeline bench: ring counts, answer onset, speech activity, crosstalk, speed.

    .venv/bin/python -m bench.timeline [--cases 240] [--seed 2024] [--samples recordings_sample]

1. A generated sweep (0-8 rings, China and North American ringback, SNR
   10-40 dB, +-10 Hz drift, cadence jitter): ring-count accuracy and answer
   onset error, against the onset without the weak-syllable search; then the
   same sweep with trunk-side openings (an IVR prompt, the caller's key press,
   a transfer prompt and queue music before the rings): ring counts, onsets
   and key presses, against the onset without the opening's chain.
2. The labelled sample calls: ring count, onset error, frame F1 of speech
   activity per role against the script times, the share of the other
   party's speech found in each channel's activity (crosstalk), and the same
   F1 for plain Silero VAD (faster-whisper defaults) as the baseline.
3. Throughput in audio seconds per CPU second, for the timeline and for the
   Silero baseline, measured in this run.
Mono speaker attribution has its own bench: `bench/speakers.py`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from qa.records import Interval
from qa.transcribe.activity import SignalOptions, silero_probs
from qa.transcribe.audio import Audio, load_audio
from qa.transcribe.crosstalk import overlap_s
from qa.transcribe.timeline import build_timeline
from tests.signals import RATE, make_call

STANDARDS = {"cn": ((450.0,), 1.0, 4.0), "na": ((440.0, 480.0), 2.0, 4.0)}


def sweep(cases: int, seed: int = 2024, trunk: bool = False) -> dict:
    """Ring counts and answer onsets over generated calls.

    The onset is measured twice in the same run: as the timeline reports it and,
    as the baseline, without the weak-syllable search (`onset_lookback_s=0`: the
    first agent speech as band-energy activity finds it). With `trunk`, every call
    opens with an IVR prompt, a key press and queue music (`trunk_opening`), and the
    baseline is the timeline without the opening's chain (`opening_gap_s=0`: the
    first agent-side speech is the answer); key presses found are counted too.
    """
    rng = np.random.default_rng(seed)
    exact, errors, base_errors, cpu, audio_s = 0, [], [], 0.0, 0.0
    misses, keys_right = [], 0
    baseline = SignalOptions(opening_gap_s=0.0) if trunk else SignalOptions(onset_lookback_s=0.0)
    for k in range(cases):
        std = ("cn", "na")[k % 2]
        rings = k // 2 % 9
        snr = float(rng.uniform(10, 40))
        drift = float(rng.uniform(-10, 10))
        jitter = float(rng.uniform(0, 0.15))
        samples, truth = make_call(rng, *STANDARDS[std], rings=rings, snr_db=snr, drift_hz=drift, jitter=jitter,
                                   turns=2, trunk=trunk)
        audio = Audio("sweep.wav", samples, RATE)
        t0 = time.process_time()
        tl = build_timeline(audio)
        cpu += time.process_time() - t0
        audio_s += samples.shape[1] / RATE
        ok = tl.ring_count == len(truth["rings"])
        exact += ok
        if trunk:
            keys_right += _keys_match(tl, truth["opening"]["keys"])
        err = tl.answer_onset_s - truth["answer_s"] if tl.answer_onset_s is not None else float("inf")
        errors.append(err)
        base = build_timeline(audio, options=baseline).answer_onset_s
        base_errors.append(base - truth["answer_s"] if base is not None else float("inf"))
        if not ok or abs(err) > 0.3:
            misses.append(f"{std} rings={rings} got={tl.ring_count} snr={snr:.0f} drift={drift:+.0f} "
                          f"jitter={jitter:.2f} onset_err={err:+.2f}")
    signed, base_signed = np.array(errors), np.array(base_errors)
    errors, base_errors = np.abs(signed), np.abs(base_signed)
    return {"cases": cases, "seed": seed, "ring_exact": exact / cases,
            "onset_mean_s": float(np.mean(errors)), "onset_max_s": float(np.max(errors)),
            "onset_within_0.3": float(np.mean(errors <= 0.3)), "onset_early_0.1": int(np.sum(signed < -0.1)),
            "base_mean_s": float(np.mean(base_errors)), "base_max_s": float(np.max(base_errors)),
            "base_within_0.3": float(np.mean(base_errors <= 0.3)), "base_early_0.1": int(np.sum(base_signed < -0.1)),
            "rtf_inv": audio_s / cpu, "misses": misses, "keys_right": keys_right}


def _keys_match(tl, keys) -> bool:
    """The timeline's key presses are the call's, each within 0.1 s."""
    found = [c for c in tl.cues if c.kind == "dtmf"]
    return len(found) == len(keys) and all(abs(c.start_s - k[0]) <= 0.1 for c, k in zip(found, keys))


def frame_f1(found, truth, duration_s: float, hop: float = 0.01):
    f, t = _mask(found, duration_s, hop), _mask(truth, duration_s, hop)
    tp = (f & t).sum()
    p, r = tp / max(1, f.sum()), tp / max(1, t.sum())
    return p, r, 2 * p * r / max(1e-9, p + r)


def _mask(intervals, duration_s, hop):
    m = np.zeros(int(duration_s / hop) + 1, bool)
    for iv in intervals:
        m[int(iv.start_s / hop):int(iv.end_s / hop)] = True
    return m


def silero_intervals(x: np.ndarray, rate: int, threshold: float = 0.5) -> list[Interval]:
    probs = silero_probs(x, rate)
    win = 512 / 16000
    out: list[Interval] = []
    for i in np.flatnonzero(probs >= threshold):
        s, e = i * win, (i + 1) * win
        if out and s - out[-1].end_s < 0.3:
            out[-1] = Interval(out[-1].start_s, e)
        else:
            out.append(Interval(s, e))
    return out


def samples(folder: Path) -> tuple[list[str], dict]:
    rows, totals = [], {"calls": 0, "ring_exact": 0, "onset_err": [], "f1": [], "f1_silero": [], "leak": [],
                        "cpu": 0.0, "cpu_silero": 0.0, "audio_s": 0.0}
    for label_path in sorted(folder.glob("*.json")):
        label = json.loads(label_path.read_text(encoding="utf-8"))
        audio = load_audio(folder / label["audio"])
        roles = tuple(label["channel_roles"])
        meta_rings = label.get("ring_seconds")
        t0 = time.process_time()
        tl = build_timeline(audio, roles, ring_seconds=meta_rings)
        totals["cpu"] += time.process_time() - t0
        totals["audio_s"] += audio.duration_s
        truth = {r: [Interval(s["start_s"], s["end_s"]) for s in label["script"] if s["role"] == r]
                 for r in ("agent", "customer")}
        t0 = time.process_time()
        base = [silero_intervals(audio.channel(i), audio.sample_rate) for i in range(audio.channels)]
        totals["cpu_silero"] += time.process_time() - t0
        ring_ok = tl.ring_count == label["ring_count"]
        err = abs(tl.answer_onset_s - label["answer_onset_s"]) if tl.answer_onset_s is not None else float("inf")
        totals["calls"] += 1
        totals["ring_exact"] += ring_ok
        totals["onset_err"].append(err)
        parts = []
        if tl.stereo:
            for i, role in enumerate(roles):
                other = "customer" if role == "agent" else "agent"
                p, r, f1 = frame_f1(tl.speech[role], truth[role], audio.duration_s)
                _, _, f1b = frame_f1(base[i], truth[role], audio.duration_s)
                other_total = sum(iv.duration_s for iv in truth[other])
                leak = overlap_s(list(tl.speech[role]), _minus(truth[other], truth[role])) / max(1e-9, other_total)
                leak_b = overlap_s(base[i], _minus(truth[other], truth[role])) / max(1e-9, other_total)
                totals["f1"].append(f1)
                totals["f1_silero"].append(f1b)
                totals["leak"].append((leak, leak_b))
                parts.append(f"{role} P={p:.2f} R={r:.2f} F1={f1:.2f} (silero {f1b:.2f}) leak={leak:.2f} "
                             f"(silero {leak_b:.2f})")
        else:
            both = sorted(truth["agent"] + truth["customer"], key=lambda v: v.start_s)
            found = sorted((iv for ivs in tl.speech.values() for iv in ivs), key=lambda v: v.start_s)
            p, r, f1 = frame_f1(found, both, audio.duration_s)
            _, _, f1b = frame_f1(base[0], both, audio.duration_s)
            totals["f1"].append(f1)
            totals["f1_silero"].append(f1b)
            named = sum(iv.duration_s for role in ("agent", "customer") for iv in tl.speech[role])
            right = sum(overlap_s(list(tl.speech[role]), truth[role]) for role in ("agent", "customer"))
            parts.append(f"mixed P={p:.2f} R={r:.2f} F1={f1:.2f} (silero {f1b:.2f}) "
                         f"roles named {named:.1f}s, right {right:.1f}s")
        rows.append(f"{label['call_id'][:30]:30s} rings {tl.ring_count}/{label['ring_count']} "
                    f"({tl.ring_source}) onset err {err:.2f}s | " + " | ".join(parts))
    return rows, totals


def _minus(a, b):
    """Intervals of `a` not covered by `b` (both sorted)."""
    out = []
    for iv in a:
        pieces = [iv]
        for cut in b:
            nxt = []
            for p in pieces:
                if cut.end_s <= p.start_s or cut.start_s >= p.end_s:
                    nxt.append(p)
                    continue
                if cut.start_s > p.start_s:
                    nxt.append(Interval(p.start_s, cut.start_s))
                if cut.end_s < p.end_s:
                    nxt.append(Interval(cut.end_s, p.end_s))
            pieces = nxt
        out += pieces
    return sorted(out, key=lambda v: v.start_s)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=240)
    ap.add_argument("--seed", type=int, default=2024, help="generated sweep seed (another seed: held-out calls)")
    ap.add_argument("--samples", default="recordings_sample")
    args = ap.parse_args()

    folder = Path(args.samples)
    if folder.is_dir():
        rows, t = samples(folder)
        print(f"== sample calls ({folder})")
        for row in rows:
            print(row)
        errs = np.array(t["onset_err"])
        leak = np.array(t["leak"]) if t["leak"] else np.zeros((1, 2))
        print(f"ring count exact {t['ring_exact']}/{t['calls']}; onset error mean {errs.mean():.3f}s "
              f"max {errs.max():.3f}s")
        print(f"activity frame F1 mean {np.mean(t['f1']):.3f} vs plain Silero {np.mean(t['f1_silero']):.3f}")
        print(f"other party's speech inside a channel's activity: {leak[:, 0].mean():.3f} "
              f"(plain Silero {leak[:, 1].mean():.3f})")
        rtf, rtf_b = t["audio_s"] / t["cpu"], t["audio_s"] / t["cpu_silero"]
        print(f"throughput {rtf:.0f} audio s per CPU s (timeline, all channels) vs {rtf_b:.0f} (plain Silero, "
              f"all channels): {rtf / rtf_b:.1f}x; a 2-minute call takes {120 / rtf:.2f} CPU s")

    for trunk in (False, True):
        print_sweep(sweep(args.cases, args.seed, trunk=trunk), trunk)


def print_sweep(s: dict, trunk: bool) -> None:
    opening = "IVR prompt, key press and queue music before the rings; " if trunk else ""
    print(f"== generated sweep{' (trunk-side openings)' if trunk else ''} ({s['cases']} cases, seed {s['seed']}: "
          f"{opening}0-8 rings, cn/na, SNR 10-40 dB, drift +-10 Hz, jitter <=15%)")
    print(f"ring count exact {s['ring_exact']:.3f}; throughput {s['rtf_inv']:.0f} audio s per CPU s")
    if trunk:
        print(f"key presses found exactly: {s['keys_right'] / s['cases']:.3f}")
    base = "without the opening's chain (baseline)" if trunk else "without weak-syllable search (baseline)"
    for name, key in (("timeline", "onset"), (base, "base")):
        print(f"answer onset, {name}: within 0.3 s {s[key + '_within_0.3']:.3f}; error mean "
              f"{s[key + '_mean_s']:.3f}s max {s[key + '_max_s']:.3f}s; early by > 0.1 s: {s[key + '_early_0.1']}")
    print(f"onset misses (> 0.3 s): {1 - s['onset_within_0.3']:.3f} vs {1 - s['base_within_0.3']:.3f} baseline")
    for miss in s["misses"][:10]:
        print("  miss:", miss)


if __name__ == "__main__":
    main()
