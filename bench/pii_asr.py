"""Personal-number detection on what Whisper heard: generated speech read through a telephone line.

The held-out sentences of `bench.pii` (numbers read cleanly: the recognizer
adds its own errors) are spoken by Kokoro voices, put through the telephone
channel of the sample generator (band limit, line noise, G.711), transcribed
by the shipped Whisper model one utterance at a time, and searched with
`qa.privacy`. A sample counts as found for a kind when a span of that kind is
found in its transcript; a span of a kind the sample does not hold is a false
positive (the look-alike sentences hold none). Email is left out: Kokoro's
Mandarin voices do not spell Latin letters. The baseline is the regular
expression over ASCII digits of `bench.pii`, which Whisper's habit of
writing digits makes fairer here than on the typed corpus.

    python -m bench.pii_asr [--n 80] [--seed 9]
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np

from bench.pii import KINDS, baseline_spans, sample
from qa.privacy import find_in_utterances
from qa.records import Utterance

SPOKEN = tuple(k for k in KINDS if k != "email")
VOICES = ("zf_xiaoxiao", "zm_yunxia", "zm_yunyang", "zf_xiaobei+zf_xiaoxiao")


def hear(tts, model, text: str, voice: str, rng: np.random.Generator) -> str:
    from qa.samplegen.telephone import telephone_channel, to_line_rate, upsample

    audio = to_line_rate(tts.synthesize(text, voice), 24000)
    line = upsample(telephone_channel(audio, rng, noise_db=-50.0), 16000)
    segments, _ = model.transcribe(line.astype(np.float32), language="zh", beam_size=1, vad_filter=False,
                                   condition_on_previous_text=False)
    from qa.transcribe.normalize import normalize_text

    return normalize_text("".join(s.text for s in segments))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=80, help="samples (sentences, some split over two utterances)")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--show-misses", action="store_true", help="print each sample whose number stayed unmasked or was masked as another kind")
    args = parser.parse_args()
    from qa.samplegen.tts import Kokoro
    from qa.transcribe.model import load_model

    tts, model = Kokoro(), load_model()
    rng, noise = random.Random(args.seed), np.random.default_rng(args.seed)
    ours = {k: [0, 0, 0] for k in SPOKEN}  # tp, fp, fn per kind
    masked = [0, 0]  # samples with a number: some span found (of any kind), none found
    base = {k: [0, 0, 0] for k in SPOKEN}
    started, shown = time.monotonic(), 0
    for n in range(args.n):
        s = sample(rng, "held-out", misheard_share=0.0, kinds=SPOKEN)
        voice = VOICES[n % len(VOICES)]
        heard = [Utterance(u.role, u.channel, u.start_s, u.end_s, hear(tts, model, u.text, voice, noise))
                 for u in s.utterances]
        truth = {kind for _i, kind, _a, _b in s.labels}
        spans = find_in_utterances(heard)
        if truth:
            masked[0 if spans else 1] += 1
        if args.show_misses and {x.kind for x in spans} != truth:
            print(f"  {'missed' if truth and not spans else 'wrong kind'} {truth or '{}'} -> "
                  f"{sorted({x.kind for x in spans})}: {' / '.join(u.text for u in s.utterances)} "
                  f"heard {' / '.join(u.text for u in heard)}")
        for counts, found in ((ours, {x.kind for x in spans}),
                              (base, {k for _i, k, _a, _b in baseline_spans(type(s)(heard))})):
            for kind in SPOKEN:
                if kind in truth:
                    counts[kind][0 if kind in found else 2] += 1
                elif kind in found:
                    counts[kind][1] += 1
        if shown < 8 and truth:
            print(f"  said {' / '.join(u.text for u in s.utterances)}\n  heard {' / '.join(u.text for u in heard)}")
            shown += 1
    print(f"{args.n} samples in {time.monotonic() - started:.0f} s (held-out sentences, read cleanly, "
          f"Kokoro -> telephone line -> Whisper base)")
    print(f"  callqa  masked at all (any kind) {masked[0]} of {sum(masked)} samples with a number "
          f"({masked[0] / max(1, sum(masked)):.3f})")
    for name, counts in (("callqa", ours), ("regex", base)):
        for kind, (tp, fp, fn) in counts.items():
            precision = tp / (tp + fp) if tp + fp else float("nan")
            recall = tp / (tp + fn) if tp + fn else float("nan")
            print(f"  {name:<7} {kind:<10} P {precision:5.3f}  R {recall:5.3f}  (tp {tp}, fp {fp}, fn {fn})")


if __name__ == "__main__":
    main()
