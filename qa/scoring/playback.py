"""A recording as a reviewer's browser needs it: something it can play, and its loudness.

Browsers play PCM WAV, FLAC, MP3 and Ogg; telephone recorders also write AMR,
GSM or G.726 WAV, which no browser decodes. Those are decoded with the same
loaders the batch uses and handed over as 16-bit WAV. The envelope is each
channel's peak level per time bucket in dB, for drawing the call's waveform.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from qa.transcribe.audio import Audio, load_audio

__all__ = ["Envelope", "envelope", "for_browser", "playable"]

# libsndfile subtypes a browser's <audio> decodes as they are
_BROWSER_SUBTYPES = {"PCM_16", "PCM_24", "PCM_U8", "FLOAT", "VORBIS", "OPUS", "MPEG_LAYER_III"}
_BROWSER_FORMATS = {"WAV", "FLAC", "OGG", "MP3"}
FLOOR_DB = -60.0  # quieter than this draws as silence


@dataclass(frozen=True)
class Envelope:
    bucket_s: float
    duration_s: float
    levels: tuple[tuple[float, ...], ...]  # per channel: 0..1 per bucket (0 = FLOOR_DB or quieter)


def _browser_kind(path: Path) -> str | None:
    """The MIME type a browser plays `path` as, or None when it cannot decode it."""
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError):
        return "audio/mpeg" if path.suffix.lower() == ".mp3" else None  # older libsndfile builds without MP3
    if info.format in _BROWSER_FORMATS and info.subtype in _BROWSER_SUBTYPES:
        return {"WAV": "audio/wav", "FLAC": "audio/flac", "OGG": "audio/ogg", "MP3": "audio/mpeg"}[info.format]
    return None


def _wav(audio: Audio) -> bytes:
    out = io.BytesIO()
    sf.write(out, audio.samples.T, audio.sample_rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


def playable(path: str | Path) -> tuple[str | bytes, str]:
    """(the file's path, or WAV bytes when a browser cannot decode it) and its MIME type."""
    path = Path(path)
    kind = _browser_kind(path)
    return (str(path), kind) if kind else (_wav(load_audio(path)), "audio/wav")


def for_browser(path: str | Path, buckets: int = 1200) -> tuple[str | bytes, str, Envelope]:
    """`playable` and `envelope` of one recording, decoding it once."""
    path = Path(path)
    audio = load_audio(path)
    kind = _browser_kind(path)
    data, mime = (str(path), kind) if kind else (_wav(audio), "audio/wav")
    return data, mime, _levels(audio, buckets)


def envelope(path: str | Path, buckets: int = 1200) -> Envelope:
    """Each channel's peak level in `buckets` equal slices of the call, scaled 0..1 over FLOOR_DB..0 dB."""
    return _levels(load_audio(path), buckets)


def _levels(audio: Audio, buckets: int) -> Envelope:
    frames = audio.samples.shape[1]
    per = max(1, int(np.ceil(frames / max(1, buckets))))
    padded = np.zeros((audio.channels, per * int(np.ceil(frames / per))), dtype=np.float32)
    for ch in range(audio.channels):
        padded[ch, :frames] = np.abs(audio.channel(ch))
    peaks = padded.reshape(audio.channels, -1, per).max(axis=2)
    db = 20 * np.log10(np.maximum(peaks, 1e-6))
    scaled = np.clip((db - FLOOR_DB) / -FLOOR_DB, 0.0, 1.0)
    return Envelope(bucket_s=per / audio.sample_rate, duration_s=audio.duration_s,
                    levels=tuple(tuple(round(float(v), 3) for v in ch) for ch in scaled))
