"""Mono attribution: today's MFCC+BIC method against speaker-embedding options, on calls mixed to mono.

Who speaks when, on a recording where both parties share one channel. Methods:
- `callqa`: `qa.transcribe.speakers.attribute_mono` (MFCC frames, BIC clustering, HMM);
- `alternating turns`: the first talker is the agent, the talker changes at every pause (a floor);
- `resemblyzer`: GE2E d-vectors of the PyPI package Resemblyzer, whose wheel ships its weights
  (`resemblyzer/pretrained.pt`, nothing is fetched); measured when it is installed;
- `whisper encoder`: the embedded Whisper model's encoder states, mean-pooled per chunk.
The two embedding options share one clustering (`embedding_attribution`): chunks of speech, two
cosine k-means clusters, the same two-state smoothing as callqa, and `unknown` below a confidence.

Sets: labelled call folders (`--sets`, e.g. two generated sets: the first calibrates, the others
report) mixed to mono, and real two-speaker dialogs spliced from the real clips in
`../shared/real_speech/` (pieces of two people's clips alternating, through the telephone path).
Score: of the speech where exactly one party talks, the share attributed (named), attributed to
the right party, and to the wrong one. Target (issue: mono attribution): named >= 0.80, wrong <= 0.02.

    python -m qa.samplegen --out /tmp/spk_dev --set generated --count 16 --seed 61
    python -m qa.samplegen --out /tmp/spk_held --set generated --count 16 --seed 62
    python -m bench.speakers --sets /tmp/spk_dev /tmp/spk_held recordings_sample
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.timeline import _mask
from qa.records import Interval
from qa.samplegen.telephone import set_speech_level, telephone_channel, to_line_rate, trim_silence, upsample
from qa.transcribe.audio import Audio, load_audio, resample
from qa.transcribe.speakers import _chunks, _join, _smooth, attribute_mono
from qa.transcribe.timeline import build_timeline

RATE = 8000
# pip takes the CPU build of torch 2.13.0 from the machine's disk; Resemblyzer still imports pkg_resources.
RESEMBLYZER_INSTALL = "python3 -m pip --python .venv/bin/python install torch==2.13.0 resemblyzer==0.1.4 'setuptools<81'"
HOP = 0.01


@dataclass
class Case:
    name: str
    x8: np.ndarray  # the mono call at 8 kHz
    duration_s: float
    truth: dict[str, list[Interval]]  # agent / customer speech
    found: list[Interval]  # the timeline's speech intervals (what every method attributes)


# --- methods -----------------------------------------------------------------------------------

@dataclass
class EmbeddingParams:
    chunk_s: float = 1.5
    kappa: float = 20.0  # log-likelihood per unit of cosine similarity (a von Mises-Fisher concentration)
    min_confidence: float = 0.9
    switch_inside_nats: float = 8.0
    one_voice_cos: float = 0.95  # centroids this close: one voice, name the first turn only
    centre: bool = True  # subtract the call's mean embedding before comparing


def embedding_attribution(embed, x8, intervals, p: EmbeddingParams):
    """Roles from chunk embeddings: two cosine k-means clusters, smoothed, `unknown` below confidence."""
    intervals = sorted(intervals, key=lambda v: v.start_s)
    chunks, turn_of = _chunks(intervals, p.chunk_s)
    if len(chunks) < 2:
        return _join(chunks, ["agent"] * len(chunks))
    e = embed(x8, chunks)
    if p.centre:
        e = e - e.mean(axis=0)
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-9)
    first = turn_of == turn_of[0]
    centroids = _kmeans2(e, first)
    if float(centroids[0] @ centroids[1]) > p.one_voice_cos:
        return _join(chunks, ["agent" if f else "unknown" for f in first])
    posterior = _smooth(p.kappa * (e @ centroids.T), turn_of, p.switch_inside_nats)
    agent = int(np.argmax(np.log(posterior[first] + 1e-12).sum(axis=0)))
    labels = []
    for post in posterior:
        k = int(np.argmax(post))
        labels.append(("agent" if k == agent else "customer") if post[k] >= p.min_confidence else "unknown")
    return _join(chunks, labels)


def _kmeans2(e: np.ndarray, first: np.ndarray, rounds: int = 20) -> np.ndarray:
    """Two unit centroids: one seeded by the first turn, the other by the chunk least like it."""
    c0 = _unit(e[first].mean(axis=0))
    c1 = e[int(np.argmin(e @ c0))]
    centroids = np.stack([c0, c1])
    for _ in range(rounds):
        assign = np.argmax(e @ centroids.T, axis=1)
        if len(set(assign)) < 2:
            break
        new = np.stack([_unit(e[assign == k].mean(axis=0)) for k in (0, 1)])
        if np.allclose(new, centroids):
            break
        centroids = new
    return centroids


def _unit(v):
    return v / max(float(np.linalg.norm(v)), 1e-9)


class ResemblyzerEmbedder:
    """GE2E d-vector per chunk (16 kHz); a chunk under 1.6 s is one padded window."""

    def __init__(self):
        from resemblyzer import VoiceEncoder

        self.encoder = VoiceEncoder("cpu", verbose=False)

    def __call__(self, x8, chunks):
        x16 = resample(x8, RATE, 16000)
        out = []
        for c in chunks:
            seg = x16[int(c.start_s * 16000):int(c.end_s * 16000)]
            seg = seg / max(float(np.abs(seg).max()), 1e-6) * 0.5
            out.append(self.encoder.embed_utterance(seg))
        return np.array(out)


class WhisperEncoderEmbedder:
    """Mean of the embedded Whisper encoder's states over each chunk (one encoder pass per 30 s)."""

    def __init__(self):
        from qa.transcribe.model import load_model

        self.model = load_model(cpu_threads=2)

    def states(self, x8: np.ndarray) -> np.ndarray:
        import ctranslate2

        x16 = resample(x8, RATE, 16000)
        fe = self.model.feature_extractor
        out = []
        for start in range(0, len(x16), 30 * 16000):
            piece = x16[start:start + 30 * 16000]
            feats = fe(np.pad(piece, (0, 30 * 16000 - len(piece))))[:, :3000]
            sv = ctranslate2.StorageView.from_array(np.ascontiguousarray(feats[None], dtype=np.float32))
            enc = np.array(self.model.model.encode(sv, to_cpu=True))[0]  # (1500, d): 20 ms each
            out.append(enc[: int(np.ceil(len(piece) / 320))])
        return np.concatenate(out)

    def __call__(self, x8, chunks):
        h = self.states(x8)
        return np.array([h[int(c.start_s / 0.02):max(int(c.start_s / 0.02) + 1, int(c.end_s / 0.02))].mean(axis=0)
                         for c in chunks])


def alternate_turns(x, intervals, rate=RATE, min_pause_s=0.5):
    """Naive baseline: the first talker is the agent, the talker changes at every pause."""
    roles: dict[str, list[Interval]] = {"agent": [], "customer": [], "unknown": []}
    who, last_end = "agent", None
    for iv in sorted(intervals, key=lambda v: v.start_s):
        if last_end is not None and iv.start_s - last_end >= min_pause_s:
            who = "customer" if who == "agent" else "agent"
        roles[who].append(iv)
        last_end = iv.end_s
    return {k: tuple(v) for k, v in roles.items()}


# --- sets ----------------------------------------------------------------------------------------

def labelled_cases(folder: Path) -> list[Case]:
    cases = []
    for label_path in sorted(folder.glob("*.json")):
        label = json.loads(label_path.read_text(encoding="utf-8"))
        if "script" not in label:
            continue
        audio = load_audio(folder / label["audio"])
        mixed = np.mean([audio.channel(i) for i in range(audio.channels)], axis=0, keepdims=True, dtype=np.float32)
        truth = {r: [Interval(s["start_s"], s["end_s"]) for s in label["script"] if s["role"] == r]
                 for r in ("agent", "customer")}
        cases.append(_case(f"{folder.name}/{label['call_id']}", Audio(audio.path, mixed, audio.sample_rate),
                           truth, label.get("ring_seconds")))
    return cases


def _case(name, audio: Audio, truth, ring_seconds=None) -> Case:
    tl = build_timeline(audio, ("mixed",), ring_seconds=ring_seconds)
    found = sorted((iv for ivs in tl.speech.values() for iv in ivs), key=lambda v: v.start_s)
    return Case(name, audio.channel(0, rate=RATE), audio.duration_s, truth, found)


# Distinct people among the real clips (the five THCHS-30 D4 sentences are one reader).
REAL_SPEAKERS = {
    "thchs30-D4": [f"more/THCHS30_D4_{i}.wav" for i in range(750, 755)],
    "meeting": ["TEST_MEETING_T0000000001_S00000.wav"],
    "ppasr": ["more/PPASR_dataset_test.wav"],
    "aishell-S0764": ["BAC009S0764W0121.wav"],
    "aishell-S0724": ["more/aishell-BAC009S0724W0121.wav"],
}


def real_dialogs(folder: Path, max_turns: int = 4, seed: int = 7) -> list[Case]:
    """Every ordered pair of real speakers as a mono telephone dialog: up to `max_turns` pieces each,
    alternating, the first speaker in the agent's place."""
    pieces = {name: _pieces(folder, files) for name, files in REAL_SPEAKERS.items()
              if all((folder / f).exists() for f in files)}
    rng = np.random.default_rng(seed)
    cases = []
    for a, b in itertools.permutations(pieces, 2):
        x = [np.zeros(int(0.5 * RATE), np.float32)]
        truth: dict[str, list[Interval]] = {"agent": [], "customer": []}
        t = 0.5
        for pa, pb in itertools.zip_longest(pieces[a][:max_turns], pieces[b][:max_turns]):
            for role, piece in (("agent", pa), ("customer", pb)):
                if piece is None:
                    continue
                piece = set_speech_level(piece, -20.0 + rng.uniform(-3, 3))
                truth[role].append(Interval(round(t, 3), round(t + len(piece) / RATE, 3)))
                gap = rng.uniform(0.4, 1.2)
                x += [piece, np.zeros(int(gap * RATE), np.float32)]
                t += len(piece) / RATE + int(gap * RATE) / RATE
        line = telephone_channel(np.concatenate(x), rng, -55.0)
        audio = Audio(f"real:{a}+{b}", upsample(line, 16000)[None], 16000)
        cases.append(_case(f"real/{a}+{b}", audio, truth))
    return cases


def _pieces(folder: Path, files: list[str], piece_s: float = 3.0) -> list[np.ndarray]:
    """Each clip at 8 kHz, trimmed, cut at its quietest 100 ms near every `piece_s`."""
    out = []
    for f in files:
        a = load_audio(folder / f)
        x = trim_silence(to_line_rate(a.channel(0), a.sample_rate), RATE)
        while len(x) > 1.6 * piece_s * RATE:
            cut = _quietest(x, int(0.7 * piece_s * RATE), int(1.3 * piece_s * RATE))
            out.append(trim_silence(x[:cut], RATE))
            x = trim_silence(x[cut:], RATE)
        out.append(x)
    return [p for p in out if len(p) > 0.3 * RATE]


def _quietest(x, lo, hi, frame=800):
    energy = [np.mean(x[i:i + frame] ** 2) for i in range(lo, hi - frame, 160)]
    return lo + 160 * int(np.argmin(energy)) + frame // 2


# --- scoring -------------------------------------------------------------------------------------

def score(case: Case, roles) -> np.ndarray:
    """(right, wrong, one-speaker frames)."""
    truth = {r: _mask(case.truth[r], case.duration_s, HOP) for r in ("agent", "customer")}
    one = truth["agent"] ^ truth["customer"]
    got = {r: _mask(roles[r], case.duration_s, HOP) for r in ("agent", "customer")}
    right = sum((got[r] & truth[r] & one).sum() for r in got)
    wrong = ((got["agent"] & truth["customer"]) | (got["customer"] & truth["agent"]))[one].sum()
    return np.array([right, wrong, one.sum()], float)


def run(method, cases: list[Case]) -> tuple[np.ndarray, float]:
    total, t0 = np.zeros(3), time.process_time()
    for c in cases:
        total += score(c, method(c.x8, c.found))
    return total, time.process_time() - t0


def describe(total: np.ndarray) -> str:
    right, wrong, n = total
    return f"named {(right + wrong) / n:.3f}, right {right / n:.3f}, wrong {wrong / n:.3f}"


def calibrate(embed, cases: list[Case]) -> tuple[EmbeddingParams, list[str]]:
    """The most speech named with wrong <= 2% on the calibration set (else the fewest wrong)."""
    cache: dict = {}

    def cached(x8, chunks):
        key = (id(x8), tuple(chunks))
        if key not in cache:
            cache[key] = embed(x8, chunks)
        return cache[key]

    best, log = None, []
    for chunk_s, centre, kappa, conf in itertools.product((1.0, 1.5, 2.0), (True, False), (10.0, 20.0, 40.0),
                                                          (0.8, 0.9, 0.99)):
        p = EmbeddingParams(chunk_s=chunk_s, kappa=kappa, min_confidence=conf, centre=centre)
        total, _ = run(lambda x, iv: embedding_attribution(cached, x, iv, p), cases)
        right, wrong, n = total
        key = (wrong / n <= 0.02, (right + wrong) / n if wrong / n <= 0.02 else -wrong / n)
        log.append(f"  chunk {chunk_s} centre {centre} kappa {kappa} conf {conf}: {describe(total)}")
        if best is None or key > best[0]:
            best = (key, p)
    return best[1], log


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", required=True, help="labelled folders: the first calibrates, the rest report")
    ap.add_argument("--real", default="../shared/real_speech", help="real clips for spliced dialogs (skipped if absent)")
    ap.add_argument("--verbose", action="store_true", help="print the calibration grid")
    args = ap.parse_args()

    dev = labelled_cases(Path(args.sets[0]))
    report = {Path(s).name: labelled_cases(Path(s)) for s in args.sets[1:]}
    if Path(args.real).is_dir():
        report["real two-speaker dialogs"] = real_dialogs(Path(args.real))
    embedders = {"whisper encoder": WhisperEncoderEmbedder}
    if importlib.util.find_spec("resemblyzer"):
        embedders["resemblyzer"] = ResemblyzerEmbedder
    else:
        print(f"resemblyzer not installed: its rows are left out ({RESEMBLYZER_INSTALL})")

    methods = {"callqa (MFCC+BIC)": lambda x, iv: attribute_mono(x, iv, rate=RATE), "alternating turns": alternate_turns}
    for name, make in embedders.items():
        embed = make()
        params, log = calibrate(embed, dev)
        print(f"{name}: calibrated on {Path(args.sets[0]).name} ({len(dev)} calls): {params}")
        if args.verbose:
            print("\n".join(log))
        methods[name] = lambda x, iv, e=embed, p=params: embedding_attribution(e, x, iv, p)

    for set_name, cases in {Path(args.sets[0]).name + " (calibration)": dev, **report}.items():
        seconds = sum(c.duration_s for c in cases)
        print(f"== {set_name}: {len(cases)} calls, {seconds:.0f} s")
        for name, method in methods.items():
            total, cpu = run(method, cases)
            print(f"{name:20s} {describe(total)}  ({cpu / seconds * 60:.2f} CPU s per audio minute)")


if __name__ == "__main__":
    main()
