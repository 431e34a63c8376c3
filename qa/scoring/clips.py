"""Audio clips of phrases, for training: cut, pad, and pack with a CSV index.

Only the clip's frames are read (soundfile seeks), so cutting a few seconds
out of an hour-long recording stays cheap.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import soundfile as sf

__all__ = ["Clip", "ClipError", "clip_row", "cut_clip", "clips_zip", "clips_csv"]

CSV_FIELDS = ("clip", "phrase", "similarity", "call_id", "agent_id", "started_at", "start_s", "end_s", "role", "text",
              "error")


class ClipError(Exception):
    """A clip cannot be cut; the message names the file and the reason."""


@dataclass(frozen=True)
class Clip:
    call_id: str
    path: str
    start_s: float
    end_s: float
    text: str = ""
    agent_id: str = ""
    started_at: str = ""
    role: str = ""
    phrase: str = ""  # what the trainer searched for
    similarity: float | None = None  # how close the hit came to it


def cut_clip(path: str | Path, start_s: float, end_s: float, pad_s: float = 0.5) -> bytes:
    """The span [start_s - pad_s, end_s + pad_s] of `path` as 16-bit WAV bytes."""
    path = Path(path)
    if not path.is_file():
        raise ClipError(f"{path}: audio file not found")
    if end_s < start_s:
        raise ClipError(f"{path}: clip ends at {end_s:.2f} s before it starts at {start_s:.2f} s")
    try:
        with sf.SoundFile(str(path)) as audio:
            rate = audio.samplerate
            first = max(0, int((start_s - pad_s) * rate))
            last = min(audio.frames, int((end_s + pad_s) * rate)) if audio.frames > 0 else int((end_s + pad_s) * rate)
            if first >= last:
                raise ClipError(f"{path}: clip {start_s:.2f}-{end_s:.2f} s lies past the end of the audio")
            audio.seek(first)
            data = audio.read(last - first, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise ClipError(f"{path}: cannot read audio ({exc})") from exc
    out = io.BytesIO()
    sf.write(out, data, rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


def _clip_name(n: int, clip: Clip) -> str:
    stem = clip.call_id.replace("/", "_").replace("\\", "_")
    return f"{n:03d}_{stem}_{clip.start_s:.1f}s.wav"


def clip_row(clip: Clip, name: str = "", error: str = "") -> dict[str, str]:
    """The clip's line in clips.csv (`name` is its file in the zip, empty when left out)."""
    return {
        "clip": name, "phrase": clip.phrase,
        "similarity": "" if clip.similarity is None else f"{clip.similarity:.3f}",
        "call_id": clip.call_id, "agent_id": clip.agent_id, "started_at": clip.started_at,
        "start_s": f"{clip.start_s:.2f}", "end_s": f"{clip.end_s:.2f}", "role": clip.role, "text": clip.text,
        "error": error,
    }


def clips_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def clips_zip(clips: Iterable[Clip], pad_s: float = 0.5) -> tuple[bytes, list[str]]:
    """A zip of padded WAV clips plus `clips.csv`; returns (zip bytes, problems).

    A clip whose audio is missing or unreadable is listed in the CSV with
    its error and left out of the zip; the others are still exported.
    """
    rows, problems = [], []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for n, clip in enumerate(clips, start=1):
            name, error = _clip_name(n, clip), ""
            try:
                archive.writestr(name, cut_clip(clip.path, clip.start_s, clip.end_s, pad_s))
            except ClipError as exc:
                name, error = "", str(exc)
                problems.append(error)
            rows.append(clip_row(clip, name, error))
        archive.writestr("clips.csv", "\ufeff" + clips_csv(rows))  # BOM so spreadsheet apps read UTF-8
    return buffer.getvalue(), problems
