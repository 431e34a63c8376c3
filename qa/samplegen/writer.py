"""Write calls to disk: audio in several formats, labels, metadata, broken files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import soundfile as sf

# name -> (extension, libsndfile format, subtype)
FORMATS = {
    "wav-pcm16": ("wav", "WAV", "PCM_16"),
    "wav-ulaw": ("wav", "WAV", "ULAW"),
    "flac": ("flac", "FLAC", "PCM_16"),
    "mp3": ("mp3", "MP3", "MPEG_LAYER_III"),
    "ogg": ("ogg", "OGG", "VORBIS"),
}
METADATA_COLUMNS = ("call_id", "agent_id", "team", "started_at", "direction", "ring_seconds")
_OGG_SERIAL = 0x63616C6C  # fixed stream serial so that ogg output is reproducible


def audio_name(call_id: str, audio_format: str) -> str:
    return f"{call_id}.{FORMATS[audio_format][0]}"


def write_audio(path: Path, samples: np.ndarray, rate: int, audio_format: str) -> None:
    """samples: (channels, frames) float32."""
    _, fmt, subtype = FORMATS[audio_format]
    buf = io.BytesIO()
    sf.write(buf, samples.T, rate, format=fmt, subtype=subtype)
    data = buf.getvalue()
    if fmt == "OGG":
        data = _ogg_with_serial(data, _OGG_SERIAL)
    path.write_bytes(data)


def write_labels(path: Path, labels: dict) -> None:
    path.write_text(json.dumps(labels, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def write_metadata(path: Path, rows: list[dict]) -> None:
    """metadata.csv; the hangup_by column only when some call has it (older sets stay as they were)."""
    columns = METADATA_COLUMNS + (("hangup_by",) if any(r.get("hangup_by") for r in rows) else ())
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in columns})


def write_corrupt(out: Path, count: int, rng: np.random.Generator) -> list[dict]:
    """Broken recordings a batch must survive; returns manifest rows (file, kind)."""
    kinds = ("truncated_wav", "text_as_wav", "empty_file", "garbage_flac")
    rows = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        name = f"corrupt_{i + 1:02d}_{kind}"
        if kind == "truncated_wav":
            tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(8000 * 4) / 8000)
            buf = io.BytesIO()
            sf.write(buf, tone.astype(np.float32), 8000, format="WAV", subtype="PCM_16")
            data = buf.getvalue()
            (out / f"{name}.wav").write_bytes(data[: len(data) // 3])  # header claims 4 s
            rows.append({"file": f"{name}.wav", "kind": kind})
        elif kind == "text_as_wav":
            (out / f"{name}.wav").write_text("call log exported as text, not audio\n")
            rows.append({"file": f"{name}.wav", "kind": kind})
        elif kind == "empty_file":
            (out / f"{name}.wav").write_bytes(b"")
            rows.append({"file": f"{name}.wav", "kind": kind})
        else:
            (out / f"{name}.flac").write_bytes(b"fLaC" + rng.bytes(2048))
            rows.append({"file": f"{name}.flac", "kind": kind})
    with open(out / "corrupt.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=("file", "kind"), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return rows


def _ogg_crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_CRC = _ogg_crc_table()


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC[(crc >> 24) ^ byte]
    return crc


def _ogg_with_serial(data: bytes, serial: int) -> bytes:
    """libsndfile picks a random Ogg stream serial; set a fixed one and re-checksum pages."""
    buf = bytearray(data)
    pos = 0
    while pos < len(buf):
        if buf[pos : pos + 4] != b"OggS":
            raise ValueError("unexpected bytes in Ogg stream")
        n_segments = buf[pos + 26]
        size = 27 + n_segments + sum(buf[pos + 27 : pos + 27 + n_segments])
        buf[pos + 14 : pos + 18] = serial.to_bytes(4, "little")
        buf[pos + 22 : pos + 26] = b"\0\0\0\0"
        buf[pos + 22 : pos + 26] = _ogg_crc(bytes(buf[pos : pos + size])).to_bytes(4, "little")
        pos += size
    return bytes(buf)
