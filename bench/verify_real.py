"""False acceptance by sound on real speech that says none of the rulebook's lines.

    python -m bench.verify_real [--real-speech ../shared/real_speech]

Every clip of real recorded Mandarin (real_speech/*.wav and more/*.wav) goes
through the telephone path (8 kHz, 300-3400 Hz, line noise, G.711 mu-law,
speech at -20 dBFS). Over each clip, every mandated wording of the default
rulebook (greeting parts, closing, hold, late apology, silent-line closing)
and every forbidden phrase is put into the decoder's own reading of the clip
(as the checks do) and scored by qa.transcribe.verify. A wording whose score
reaches its rule's acceptance threshold is a false acceptance: the clips say
none of them, except the casual clip's 不清楚 (…说不清楚你们知道吗), counted apart.
The four clips of real_speech/ and the eleven of more/ (a development set,
per its README) are reported apart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from qa.phrases.rulebook import load_rulebook
from qa.records import TranscribeOptions
from qa.samplegen.telephone import set_speech_level, telephone_channel, to_line_rate, upsample
from qa.scoring.checks.sound import spoken_forms
from qa.transcribe.model import load_model
from qa.transcribe.verify import AcousticVerifier

ROOT = Path(__file__).resolve().parents[1]
KNOWN = {"不清楚", "我不清楚", "你知不知道"}  # said (or nearly) in the casual clip
LINE_GROUPS = {"greeting.opening": ("salutation", "introduction", "offer"),
               "closing.farewell": ("offer_help", "farewell"), "hold.procedure": ("wait_request", "after_hold"),
               "answer.late_apology": ("apology",), "silent_line.procedure": ("silent_closing",)}


def telephone(path: Path, rng: np.random.Generator) -> np.ndarray:
    """A clip as the recorder stores a narrowband call: 16 kHz after the 8 kHz line."""
    x, rate = sf.read(path, dtype="float32", always_2d=True)
    line = set_speech_level(to_line_rate(x.mean(axis=1), rate), -20.0)
    return upsample(telephone_channel(line, rng, -55.0), 16000)


def wordings(rulebook) -> list[tuple[str, str, float]]:
    """(rule, wording, acceptance threshold) for every line and forbidden phrase."""
    out = []
    for rule_id, groups in LINE_GROUPS.items():
        rule = rulebook.rules[rule_id]
        for group in groups:
            for phrase in rule.phrases.get(group, ()):
                out += [(rule_id, w, float(rule.params["sound_accept"])) for w in spoken_forms(phrase.text, rulebook.slots)]
    forbidden = rulebook.rules["phrase.forbidden"]
    out += [("phrase.forbidden", p.text, float(forbidden.params["sound_accept"]))
            for p in forbidden.phrases["forbidden"]]
    return list(dict.fromkeys(out))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--real-speech", type=Path, default=ROOT.parent / "shared" / "real_speech")
    args = ap.parse_args(argv)
    clips = sorted(args.real_speech.glob("*.wav")) + sorted((args.real_speech / "more").glob("*.wav"))
    if not clips:
        print(f"no clips in {args.real_speech}")
        return 1
    rulebook = load_rulebook()
    asked = wordings(rulebook)
    verifier = AcousticVerifier(load_model(TranscribeOptions().model, device="cpu", compute_type="int8"))
    rng = np.random.default_rng(7)
    totals: dict[tuple[str, str], list[int]] = {}
    known_hits = []
    print(f"{len(clips)} real clips, {len(asked)} wordings each")
    for clip in clips:
        signal = telephone(clip, rng)
        end = len(signal) / 16000
        scored = verifier.score_span(signal, 0.0, end, [w for _, w, _ in asked])
        hyp = scored.hypothesis
        accepted = []
        for (rule_id, wording, limit), score in zip(asked, scored.scores):
            hit = score >= limit
            if wording in KNOWN and "TEST_NET" in clip.name:
                known_hits.append((wording, score, hit))
                continue
            t = totals.setdefault((clip.parent.name, rule_id), [0, 0])
            t[0] += hit
            t[1] += 1
            if hit:
                accepted.append(f"{wording} {score:+.2f}")
        print(f"  {clip.name:44} heard {hyp!r:40.40} accepted: {', '.join(accepted) or '-'}")
    print(f"{'clips':14} {'rule':24} accepted / asked")
    for (folder, rule_id), (hits, n) in sorted(totals.items()):
        print(f"{folder:14} {rule_id:24} {hits:4d} / {n:<5d} {100 * hits / n:5.2f}%")
    for folder in sorted({f for f, _ in totals}):
        hits = sum(t[0] for (f, _), t in totals.items() if f == folder)
        n = sum(t[1] for (f, _), t in totals.items() if f == folder)
        print(f"false acceptance on real speech, {folder}/: {hits} of {n} ({100 * hits / n:.2f}%)")
    for wording, score, hit in known_hits:
        print(f"  casual clip, said: {wording} {score:+.2f} {'accepted' if hit else 'rejected'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
