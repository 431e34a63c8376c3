"""Load a call recording into float32 channels, with typed errors for bad files.

Any of wav/flac/mp3/ogg, 8-48 kHz, mono or stereo. A recording of pure
silence is a valid call (a silent line); a file with no samples is not.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

MIN_RATE = 8000
MAX_RATE = 48000


class AudioError(Exception):
    """A recording that cannot be scored; names the file and the problem."""

    problem = "unreadable audio"

    def __init__(self, path: str | Path, detail: str = ""):
        self.path = str(path)
        self.detail = detail
        msg = f"{self.path}: {self.problem}"
        super().__init__(f"{msg} ({detail})" if detail else msg)


class NotAudioError(AudioError):
    problem = "not an audio file"


class TruncatedAudioError(AudioError):
    problem = "truncated audio file"


class EmptyAudioError(AudioError):
    problem = "recording has no samples"


class ChannelError(AudioError):
    problem = "unsupported channel layout"


class SampleRateError(AudioError):
    problem = "unsupported sample rate"


class TooLongError(AudioError):
    problem = "recording longer than the configured limit"


@dataclass(frozen=True)
class Audio:
    path: str
    samples: np.ndarray  # float32, shape (channels, frames), in [-1, 1]
    sample_rate: int

    @property
    def channels(self) -> int:
        return self.samples.shape[0]

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.sample_rate

    def channel(self, idx: int, rate: int | None = None) -> np.ndarray:
        """One channel as float32, resampled to `rate` when given."""
        x = self.samples[idx]
        return x if rate in (None, self.sample_rate) else resample(x, self.sample_rate, rate)


def resample(x: np.ndarray, rate_from: int, rate_to: int) -> np.ndarray:
    if rate_from == rate_to:
        return x.astype(np.float32, copy=False)
    g = gcd(rate_from, rate_to)
    return resample_poly(x, rate_to // g, rate_from // g).astype(np.float32)


def load_audio(
    path: str | Path,
    *,
    max_duration_s: float | None = None,
    channel_pick: tuple[int, ...] | None = None,
) -> Audio:
    """Read `path`; `channel_pick` keeps only those channel indexes."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(path, "file not found")
    if path.stat().st_size == 0:
        raise EmptyAudioError(path, "file is 0 bytes")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise NotAudioError(path, _first_line(exc)) from exc

    if not MIN_RATE <= info.samplerate <= MAX_RATE:
        raise SampleRateError(path, f"{info.samplerate} Hz, expected {MIN_RATE}-{MAX_RATE} Hz")
    if channel_pick is None and info.channels > 2:
        raise ChannelError(path, f"{info.channels} channels; pick agent/customer channels in the options")
    if channel_pick is not None and max(channel_pick) >= info.channels:
        raise ChannelError(path, f"channel pick {channel_pick} but the file has {info.channels} channels")
    if max_duration_s is not None and info.frames / info.samplerate > max_duration_s:
        raise TooLongError(path, f"{info.frames / info.samplerate:.0f} s > limit {max_duration_s:.0f} s")
    if path.suffix.lower() == ".wav":
        _check_wav_complete(path)

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise TruncatedAudioError(path, _first_line(exc)) from exc
    if data.shape[0] == 0:
        raise EmptyAudioError(path, "no audio frames")
    # libsndfile reports the header's frame count; a short read means a cut file.
    if info.frames > 0 and data.shape[0] < info.frames * 0.99:
        raise TruncatedAudioError(path, f"read {data.shape[0]} of {info.frames} frames")

    samples = np.ascontiguousarray(data.T)
    if channel_pick is not None:
        samples = samples[list(channel_pick)]
    samples = np.nan_to_num(samples, copy=False)
    return Audio(path=str(path), samples=samples, sample_rate=int(rate))


def _check_wav_complete(path: Path) -> None:
    """A WAV whose data chunk claims more bytes than the file holds was cut off."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            return  # let libsndfile judge other containers
        if head[:4] == b"RF64":
            return
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"data":
                available = size - (pos + 8)
                # 0 and 0xFFFFFFFF are written by streaming recorders that never patch the size.
                if chunk_size not in (0, 0xFFFFFFFF) and available < chunk_size:
                    raise TruncatedAudioError(
                        path, f"data chunk declares {chunk_size} bytes, file holds {available}"
                    )
                return
            pos += 8 + chunk_size + (chunk_size & 1)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
