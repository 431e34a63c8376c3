"""Is the generated speech understandable? Character error rate per call with Whisper.

    python -m qa.samplegen.asr_check recordings_sample [--model DIR]

Each labelled line is cut from its speaker's channel (the mix on mono files)
by its labelled times and transcribed alone (language zh, beam 1, no VAD),
so the figure measures the speech and the line, not segmentation.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click
import numpy as np
import soundfile as sf
from rapidfuzz.distance import Levenshtein
from scipy.signal import resample_poly

from qa.transcribe.normalize import normalize_text

_DIGITS = str.maketrans("零一二三四五六七八九", "0123456789")


def comparable(text: str) -> str:
    """Simplified Han and digits only: punctuation and spacing do not count as errors."""
    text = normalize_text(text).translate(_DIGITS)
    return re.sub(r"[^\u4e00-\u9fff0-9]", "", text)


def line_audio(audio: np.ndarray, rate: int, labels: dict, line: dict) -> np.ndarray:
    channel = 0 if labels["channels"] == 1 or line["role"] == "agent" else 1
    start = max(0, int((line["start_s"] - 0.2) * rate))
    end = int((line["end_s"] + 0.2) * rate)
    seg = audio[channel, start:end]
    return resample_poly(seg, 16000 // np.gcd(rate, 16000), rate // np.gcd(rate, 16000)).astype(np.float32)


def check_folder(folder: Path, model, show_lines: bool = False) -> list[tuple[str, float, int]]:
    results = []
    for label_path in sorted(folder.glob("*.json")):
        labels = json.loads(label_path.read_text(encoding="utf-8"))
        data, rate = sf.read(folder / labels["audio"], dtype="float32", always_2d=True)
        errors = chars = 0
        for line in labels["script"]:
            segments, _ = model.transcribe(line_audio(data.T, rate, labels, line), language="zh",
                                           beam_size=1, vad_filter=False,
                                           condition_on_previous_text=False)
            heard = "".join(s.text for s in segments)
            ref = comparable(line["text"])
            errors += Levenshtein.distance(ref, comparable(heard))
            chars += len(ref)
            if show_lines:
                click.echo(f"  {line['role']:8s} {line['text']}\n           heard: {normalize_text(heard)}")
        results.append((labels["call_id"], errors / max(1, chars), chars))
    return results


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--model", "model_dir", type=click.Path(path_type=Path), default=None,
              help="A faster-whisper model folder; default: the embedded Whisper base.")
@click.option("--lines", "show_lines", is_flag=True, help="Also print what was heard for every line.")
def main(folder: Path, model_dir: Path | None, show_lines: bool) -> None:
    """Print the character error rate of Whisper on every labelled line, per call."""
    from qa.transcribe.model import load_model

    model = load_model(str(model_dir) if model_dir else None, cpu_threads=1)
    results = check_folder(folder, model, show_lines)
    for call_id, rate, chars in results:
        click.echo(f"{call_id:40s} CER {rate:.3f}  ({chars} chars)")
    total = sum(r * c for _, r, c in results) / max(1, sum(c for *_, c in results))
    click.echo(f"{'all':40s} CER {total:.3f}")


if __name__ == "__main__":
    sys.exit(main())
