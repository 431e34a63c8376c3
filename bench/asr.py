"""ASR bench: character error rate and real-time factor, ours vs the plain pipeline.

Both run in the same process on the same files:
- plain: faster-whisper's sequential decoder over each whole channel, Silero
  VAD on, beam 5, word timestamps (what one writes first);
- callqa: the signal timeline, speech regions decoded in batches, crosstalk
  gate and hallucination guards;
- callqa packed (`--pack-regions`): the same, each channel's regions packed
  into few 30 s windows before decoding.
CER is per call and role, against the labels' scripts, after both sides are
normalized (Simplified, no punctuation). Real human clips from
../shared/real_speech are measured too when present.

    .venv/bin/python bench/asr.py [--calls recordings_sample] [--limit N] [--beam-size 5]

`--beam-size` sets callqa's beam (1: greedy); the plain baseline stays at beam 5.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from rapidfuzz.distance import Levenshtein

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.records import TranscribeOptions  # noqa: E402
from qa.transcribe.asr import ASR_RATE, Recognizer  # noqa: E402
from qa.transcribe.audio import load_audio  # noqa: E402
from qa.transcribe.normalize import normalize_text  # noqa: E402
from qa.transcribe.pipeline import Transcriber, channel_roles_for  # noqa: E402

REAL_SPEECH = ROOT.parent / "shared" / "real_speech"


def bare(text: str) -> str:
    """Characters that count for CER: Han, letters, digits."""
    return re.sub(r"[^\w]", "", normalize_text(text)).replace("_", "")


def cer(ref: str, hyp: str) -> float:
    ref, hyp = bare(ref), bare(hyp)
    return Levenshtein.distance(ref, hyp) / max(1, len(ref))


def plain_transcripts(rec: Recognizer, path: str, roles) -> dict[str, str]:
    audio = load_audio(path)
    out: dict[str, str] = {}
    for ch in range(audio.channels):
        role = roles[ch]
        segs = rec.transcribe_plain(audio.channel(ch, ASR_RATE), vad=True)
        out[role] = out.get(role, "") + "".join(s.text for s in segs)
    return out


def ours_transcripts(tr: Transcriber, path: str) -> dict[str, str]:
    t = tr.transcribe_file(path)
    out: dict[str, str] = {}
    mixed = t.channels == 1
    for u in t.utterances:
        key = "mixed" if mixed else u.role
        out[key] = out.get(key, "") + u.text
    return out


def reference(label: dict) -> dict[str, str]:
    mixed = label.get("channels", 2) == 1
    out: dict[str, str] = {}
    for line in label["script"]:
        key = "mixed" if mixed else line["role"]
        out[key] = out.get(key, "") + line["text"]
    return out


def score_call(ref: dict[str, str], hyp: dict[str, str]) -> tuple[int, int]:
    """(edit distance, reference length) over all roles of a call."""
    dist = length = 0
    for role, text in ref.items():
        r = bare(text)
        dist += Levenshtein.distance(r, bare(hyp.get(role, "")))
        length += len(r)
    # Text recognized for a role that said nothing is all insertion.
    for role, text in hyp.items():
        if role not in ref:
            dist += len(bare(text))
    return dist, length


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", default=str(ROOT / "recordings_sample"))
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--beam-size", type=int, default=TranscribeOptions().beam_size,
                    help="beam of callqa's decoding, both layouts (1: greedy)")
    args = ap.parse_args()

    labels = sorted(Path(args.calls).glob("*.json"))
    if args.limit:
        labels = labels[: args.limit]
    options = TranscribeOptions(beam_size=args.beam_size)
    ours = Transcriber(options)
    packed_options = TranscribeOptions(beam_size=args.beam_size, pack_regions=True)
    packed = Transcriber(packed_options, recognizer=Recognizer(packed_options, model=ours.recognizer.model))
    plain = Recognizer(TranscribeOptions(batched=False, beam_size=5), model=ours.recognizer.model)
    ours.transcribe_audio(load_audio(str(Path(args.calls) / json.loads(labels[0].read_text())["audio"])))  # warm-up

    totals = {"plain": [0, 0, 0.0], "callqa": [0, 0, 0.0], "packed": [0, 0, 0.0]}
    audio_s = 0.0
    print(f"{'call':28} {'dur_s':>6} {'CER plain':>9} {'CER ours':>9} {'CER packed':>10} "
          f"{'RTF plain':>9} {'RTF ours':>9} {'RTF packed':>10}")
    for lp in labels:
        label = json.loads(lp.read_text())
        path = str(Path(args.calls) / label["audio"])
        audio = load_audio(path)
        roles = ["mixed"] if audio.channels == 1 else list(channel_roles_for(audio, options))
        ref = reference(label)
        row = {}
        for name, fn in (("plain", lambda: plain_transcripts(plain, path, roles)),
                         ("callqa", lambda: ours_transcripts(ours, path)),
                         ("packed", lambda: ours_transcripts(packed, path))):
            t0 = time.perf_counter()
            hyp = fn()
            elapsed = time.perf_counter() - t0
            d, n = score_call(ref, hyp)
            totals[name][0] += d
            totals[name][1] += n
            totals[name][2] += elapsed
            row[name] = (d / max(1, n), elapsed / audio.duration_s)
        audio_s += audio.duration_s
        print(f"{label['call_id']:28} {audio.duration_s:6.1f} {row['plain'][0]:9.3f} {row['callqa'][0]:9.3f} "
              f"{row['packed'][0]:10.3f} {row['plain'][1]:9.3f} {row['callqa'][1]:9.3f} {row['packed'][1]:10.3f}")

    print()
    for name, (d, n, el) in totals.items():
        print(f"{name:7} CER {d / max(1, n):.3f}  RTF {el / audio_s:.3f}  ({audio_s:.0f} s of calls)")
    for name in ("callqa", "packed"):
        print(f"speed ratio plain/{name}: {totals['plain'][2] / max(1e-9, totals[name][2]):.2f}x")

    if REAL_SPEECH.is_dir():
        print("\nreal human speech (16 kHz, whole clip), CER plain vs callqa:")
        refs = {}
        for line in (REAL_SPEECH / "text").read_text("utf-8").splitlines():
            if line.strip():
                key, _, text = line.partition(" ")
                refs[key] = text.replace(" ", "")
        for key, text in sorted(refs.items()):
            wav = REAL_SPEECH / f"{key}.wav"
            if not wav.exists():
                continue
            p = plain_transcripts(plain, str(wav), ["agent"])
            o = ours_transcripts(ours, str(wav))
            print(f"  {key[:34]:34} plain {cer(text, ''.join(p.values())):.3f}  callqa {cer(text, ''.join(o.values())):.3f}")


if __name__ == "__main__":
    main()
