"""Audio clips of phrases, for training: cut, pad, mask, and pack with a CSV index.

Only the clip's frames are read (soundfile seeks), so cutting a few seconds
out of an hour-long recording stays cheap. Where a personal number was said
(`hidden` spans, from `pii_spans`) the clip carries a quiet 1 kHz tone instead
of the voice, on every channel. A clip's file name comes from its call id
through `safe_stem`, which cannot leave the folder it is written to.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import soundfile as sf

__all__ = ["Clip", "ClipError", "TONE_HZ", "clip_name", "clip_row", "cut_clip", "clips_zip", "clips_csv", "safe_stem"]

TONE_HZ = 1000.0
TONE_LEVEL = 0.1  # -20 dBFS: clearly a mask, not loud
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')

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
    hidden: tuple[tuple[float, float], ...] = ()  # call times of personal numbers: toned over


def safe_stem(call_id: str) -> tuple[str, bool]:
    """A file name part from `call_id` that stays in its folder, and whether anything had to change.

    Path separators, drive colons and control characters become `_`; leading
    dots go (no `..`, no hidden file); an id that leaves nothing is `call`."""
    stem = _UNSAFE.sub("_", call_id).lstrip(". ")
    stem = stem.replace("..", "_")[:120] or "call"
    # a call id is a relative path of folders: only its slashes are expected to change
    parts = call_id.split("/")
    plain = bool(call_id) and not _UNSAFE.search(call_id.replace("/", "")) and all(p and p[0] != "." for p in parts)
    return stem, not (plain and stem == call_id.replace("/", "_"))


def clip_name(n: int, call_id: str, start_s: float, width: int = 3) -> tuple[str, bool]:
    """`<n>_<safe call id>_<start>s.wav`, and whether the call id had to be neutralised."""
    stem, changed = safe_stem(call_id)
    return f"{n:0{width}d}_{stem}_{start_s:.1f}s.wav", changed


def _tone_over(data: np.ndarray, rate: int, first_frame: int, hidden: Sequence[tuple[float, float]]) -> None:
    """Replace the frames of each hidden span (call times) by the tone, in place."""
    for start, end in hidden:
        lo = max(0, int(start * rate) - first_frame)
        hi = min(len(data), int(np.ceil(end * rate)) - first_frame)
        if lo < hi:
            t = (np.arange(lo, hi) + first_frame) / rate
            data[lo:hi, :] = (TONE_LEVEL * np.sin(2 * np.pi * TONE_HZ * t))[:, None]


def cut_clip(path: str | Path, start_s: float, end_s: float, pad_s: float = 0.5,
             hidden: Sequence[tuple[float, float]] = ()) -> bytes:
    """The span [start_s - pad_s, end_s + pad_s] of `path` as 16-bit WAV bytes, with the `hidden` spans
    (call times) toned over."""
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
    _tone_over(data, rate, first, hidden)
    out = io.BytesIO()
    sf.write(out, data, rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


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
    its error and left out of the zip; the others are still exported. A call
    id that would name a file outside the zip's top folder is neutralised and
    reported.
    """
    rows, problems = [], []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for n, clip in enumerate(clips, start=1):
            (name, changed), error = clip_name(n, clip.call_id, clip.start_s), ""
            if changed:
                problems.append(f"call id {clip.call_id!r} is not a safe file name; its clip is named {name}")
            try:
                archive.writestr(name, cut_clip(clip.path, clip.start_s, clip.end_s, pad_s, clip.hidden))
            except ClipError as exc:
                name, error = "", str(exc)
                problems.append(error)
            rows.append(clip_row(clip, name, error))
        archive.writestr("clips.csv", "\ufeff" + clips_csv(rows))  # BOM so spreadsheet apps read UTF-8
    return buffer.getvalue(), problems
