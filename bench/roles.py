"""`--roles auto` on channel-swapped copies: does it find the agent's channel?

Every stereo recording under FOLDER (default: the sample calls) is
transcribed with `--roles auto` as it is (agent left) and as a copy with its
channels swapped (agent right), through the whole pipeline. A call counts as
right when the agent's channel is picked, unsure when the default was kept
and marked, wrong otherwise. The baseline is the fixed default map
(agent,customer), which is right on every original and wrong on every copy.

    python -m bench.roles [FOLDER] [--limit N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import soundfile as sf

from qa.records import TranscribeOptions
from qa.scoring.batch import discover
from qa.transcribe.audio import load_audio
from qa.transcribe.pipeline import Transcriber

SAMPLES = Path(__file__).resolve().parents[1] / "recordings_sample"


def swapped_copy(path: Path, out_dir: Path) -> Path:
    """The recording with its two channels exchanged, as 16-bit WAV at its own rate."""
    audio = load_audio(path)
    out = out_dir / f"{path.stem}.swapped.wav"
    sf.write(out, audio.samples[::-1].T, audio.sample_rate, subtype="PCM_16")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", type=Path, default=SAMPLES)
    ap.add_argument("--limit", type=int, default=0, help="at most this many stereo calls")
    args = ap.parse_args()
    transcriber = Transcriber(TranscribeOptions(channel_roles=("auto",)))
    stereo = [p for _, p in discover(args.folder) if sf.info(str(p)).channels == 2]
    stereo = stereo[: args.limit] if args.limit else stereo
    counts = {"right": 0, "unsure": 0, "wrong": 0}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="callqa-roles-") as tmp:
        for path in stereo:
            for copy, agent in ((path, 0), (swapped_copy(path, Path(tmp)), 1)):
                t = transcriber.transcribe_file(copy)
                picked = t.roles.roles.index("agent")
                verdict = "unsure" if t.roles.source == "auto-unsure" else "right" if picked == agent else "wrong"
                counts[verdict] += 1
                print(f"{copy.name:<45} agent on {'left ' if agent == 0 else 'right'}: {verdict:<6} "
                      f"(confidence {t.roles.confidence:.2f})")
    n = 2 * len(stereo)
    print(f"\n{len(stereo)} stereo calls from {args.folder}, {n} recordings (originals and swapped copies), "
          f"{time.monotonic() - started:.0f} s")
    print(f"--roles auto: right {counts['right']}/{n} ({counts['right'] / max(n, 1):.1%}), "
          f"unsure (default kept, marked) {counts['unsure']}, wrong {counts['wrong']}  (target >= 98% right)")
    print(f"baseline fixed agent,customer: right {len(stereo)}/{n} ({len(stereo) / max(n, 1):.1%})")


if __name__ == "__main__":
    main()
