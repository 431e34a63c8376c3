"""Load a call recording into float32 channels, with typed errors for bad files.

Containers and codecs the recorders write: wav (PCM, A-law, mu-law, GSM 06.10,
IMA/MS/Yamaha ADPCM, G.726), flac, mp3, Ogg Vorbis/Opus (.ogg, .opus), AMR-NB
and AMR-WB (.amr, .awb; AMR in .3gp), AAC or Opus in .m4a/.mp4, ADTS AAC
(.aac), Opus in .webm, raw GSM 06.10 (.gsm); 8-48 kHz, at the recorded rate,
mono or stereo (left = agent, right = customer). libsndfile (soundfile) reads
what it can, exactly and fast; FFmpeg's decoders (PyAV, in decode_av) read the
rest. A recording of pure silence is a valid call (a silent line); a file with
no samples is not, and a cut, empty or non-audio file is a typed error naming
it (errors; the structural checks for a cut file are in containers).

Either way the signal is decoded block by block into one preallocated buffer
(buffer), never by concatenation, so an hours-long call is held once (plus a block).
A source of 16 bits or fewer (PCM, A-law, mu-law, GSM, ADPCM) is held as its
int16 samples, half the size of float32, and read as float32 a piece at a time
(`channel_at`); an hour of stereo 8 kHz is then 115 MB. A call longer than
`hold_max_s` (10 minutes) in WAV or AIFF PCM, A-law or mu-law is not held at
all: its pieces are read from the file as they are sliced (filesamples).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from qa.transcribe.buffer import Buffer, capacity
from qa.transcribe.containers import check_complete, check_gsm_frames, sniff
from qa.transcribe.errors import (
    AudioError,
    ChannelError,
    EmptyAudioError,
    NotAudioError,
    SampleRateError,
    TooLongError,
    TruncatedAudioError,
    first_line,
)
from qa.transcribe.filesamples import FileSamples, file_backed

__all__ = [
    "MAX_RATE", "MIN_RATE", "Audio", "AudioError", "ChannelError", "EmptyAudioError", "NotAudioError",
    "SampleRateError", "TooLongError", "TruncatedAudioError", "check_layout", "load_audio", "resample", "Pcm",
]


MIN_RATE = 8000
MAX_RATE = 48000


# libsndfile subtypes that hold no more than 16 bits a sample: kept as int16, exactly.
_INT16_SUBTYPES = frozenset({
    "PCM_S8", "PCM_U8", "PCM_16", "ULAW", "ALAW", "GSM610", "IMA_ADPCM", "MS_ADPCM", "VOX_ADPCM",
    "G721_32", "G723_24", "G723_40", "DWVW_12", "DWVW_16", "NMS_ADPCM_16", "NMS_ADPCM_24", "NMS_ADPCM_32",
})
_INT16_SCALE = np.float32(1 / 32768)
# Seekable PCM calls longer than this are read from their file piece by piece instead of held;
# shorter ones are held (one read, and plain arrays for everything that looks at them).
HOLD_MAX_S = 600.0


@dataclass(frozen=True)
class Audio:
    path: str
    # shape (channels, frames): int16 as decoded (full scale 32768), or float32 in [-1, 1]; a long
    # PCM call's int16 samples stay in the file (FileSamples).
    # Read it through `channel` / `channel_at`, which give float32 either way.
    samples: np.ndarray | FileSamples
    sample_rate: int

    @property
    def channels(self) -> int:
        return self.samples.shape[0]

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.sample_rate

    def channel(self, idx: int, rate: int | None = None) -> np.ndarray:
        """One channel as a float32 array, resampled to `rate` when given."""
        x = np.asarray(self.channel_at(idx, self.sample_rate))
        return x if rate in (None, self.sample_rate) else resample(x, self.sample_rate, rate)

    def channel_at(self, idx: int, rate: int) -> np.ndarray | Pcm | Resampled:
        """One channel at `rate`, as float32, for reading piece by piece: the samples themselves, or a
        view that converts (`Pcm`) or resamples (`Resampled`) each piece when it is read (a whole long
        call in float32 at 16 kHz would be four times its int16 samples at 8 kHz)."""
        x = self.samples[idx]
        if x.dtype == np.int16:
            x = Pcm(x)
        return x if rate == self.sample_rate else Resampled(x, self.sample_rate, rate)


class Pcm:
    """int16 samples read as float32 in [-1, 1), by slices (each converted when it is read)."""

    def __init__(self, x: np.ndarray):
        self.x = x

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, key: slice) -> np.ndarray:
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("PCM samples are read by contiguous slices")
        return self.x[key].astype(np.float32) * _INT16_SCALE

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)


def resample(x: np.ndarray, rate_from: int, rate_to: int) -> np.ndarray:
    if rate_from == rate_to:
        return x.astype(np.float32, copy=False)
    g = gcd(rate_from, rate_to)
    return resample_poly(x, rate_to // g, rate_from // g).astype(np.float32)


class Resampled:
    """`x` at another rate, resampled only where it is sliced.

    Each slice is resampled from its own stretch of `x` plus a margin wider
    than the polyphase filter's reach, starting where input and output samples
    line up, so it equals the same slice of `resample(x, ...)` to float
    rounding."""

    def __init__(self, x: np.ndarray, rate_from: int, rate_to: int):
        g = gcd(rate_from, rate_to)
        self.x, self.up, self.down = x, rate_to // g, rate_from // g
        self.margin = 10 * max(self.up, self.down) // self.up + 2 * self.down + 16  # input samples
        self.length = -(-len(x) * self.up // self.down)  # resample_poly's output length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: slice) -> np.ndarray:
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("a resampled channel is read by contiguous slices")
        start, stop, _ = key.indices(self.length)
        if stop <= start:
            return np.zeros(0, np.float32)
        first = max(0, start * self.down // self.up - self.margin) // self.down * self.down  # aligned
        last = min(len(self.x), -(-stop * self.down // self.up) + self.margin)
        piece = resample_poly(self.x[first:last], self.up, self.down)
        offset = first * self.up // self.down
        return piece[start - offset:stop - offset].astype(np.float32)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)


def load_audio(
    path: str | Path,
    *,
    max_duration_s: float | None = None,
    channel_pick: tuple[int, ...] | None = None,
    hold_max_s: float = HOLD_MAX_S,
) -> Audio:
    """Read `path`; `channel_pick` keeps only those channel indexes; a seekable PCM call longer than
    `hold_max_s` is read from the file where it is sliced instead of held."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(path, "file not found")
    if path.stat().st_size == 0:
        raise EmptyAudioError(path, "file is 0 bytes")
    with path.open("rb") as f:
        container = sniff(f.read(16))
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        # libsndfile cannot read this container or codec (AMR, AAC, MP4, WebM,
        # raw GSM, G.726 WAV...): FFmpeg's decoders can. Imported here, not at
        # the top, because decode_av builds on this module's Audio and check_layout.
        from qa.transcribe.decode_av import load_with_av

        return load_with_av(path, container, first_line(exc), max_duration_s, channel_pick)
    return _load_with_soundfile(path, info, container, max_duration_s, channel_pick, hold_max_s)


# Block of frames read from libsndfile at a time (about 1.4 s at 48 kHz).
_BLOCK = 1 << 16


def _load_with_soundfile(
    path: Path, info, container: str | None, max_duration_s: float | None, channel_pick: tuple[int, ...] | None,
    hold_max_s: float = HOLD_MAX_S,
) -> Audio:
    rate = int(info.samplerate)
    keep = check_layout(path, rate, info.channels, channel_pick)
    if max_duration_s is not None and info.frames / rate > max_duration_s:
        raise TooLongError(path, f"{info.frames / rate:.0f} s > limit {max_duration_s:.0f} s")
    check_complete(path, container)
    if info.format == "RAW" and info.subtype == "GSM610":
        check_gsm_frames(path)
    if file_backed(info) and info.frames / rate > hold_max_s:
        _check_last_frame(path, info.frames)
        return Audio(path=str(path), samples=FileSamples(path, keep, info.frames), sample_rate=rate)

    limit = None if max_duration_s is None else int(max_duration_s * rate) + 1
    dtype = np.int16 if info.subtype in _INT16_SUBTYPES else np.float32
    buf = Buffer(len(keep), capacity(info.frames, limit), dtype)
    try:
        with sf.SoundFile(str(path)) as f:
            if f.seekable():
                # As sf.read does: libsndfile skips the Opus pre-roll only after a seek.
                f.seek(0)
            block = np.empty((_BLOCK, f.channels), dtype=dtype)
            while True:
                got = f.read(dtype=np.dtype(dtype).name, always_2d=True, out=block)
                if got.shape[0] == 0:
                    break
                buf.append(got.T[keep] if keep != list(range(f.channels)) else got.T)
                if limit is not None and buf.frames > limit:
                    raise TooLongError(path, f"{buf.frames / rate:.0f}+ s > limit {max_duration_s:.0f} s")
                if got.shape[0] < _BLOCK:
                    break
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise TruncatedAudioError(path, first_line(exc)) from exc
    if buf.frames == 0:
        raise EmptyAudioError(path, "no audio frames")
    # libsndfile reports the header's frame count; a short read means a cut file.
    if info.frames > 0 and buf.frames < info.frames * 0.99:
        raise TruncatedAudioError(path, f"read {buf.frames} of {info.frames} frames")
    return Audio(path=str(path), samples=buf.finish(), sample_rate=rate)


def _check_last_frame(path: Path, frames: int) -> None:
    """A file read from later must hold every frame its header promises: its last one is read now."""
    try:
        with sf.SoundFile(str(path)) as f:
            f.seek(frames - 1)
            whole = len(f.read(1, dtype="int16")) == 1
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise TruncatedAudioError(path, first_line(exc)) from exc
    if not whole:
        raise TruncatedAudioError(path, f"the header promises {frames} frames, the file ends before")


def check_layout(path: Path, rate: int, channels: int, channel_pick: tuple[int, ...] | None) -> list[int]:
    """The channel indexes to keep, or the typed error for this rate or layout."""
    if not MIN_RATE <= rate <= MAX_RATE:
        raise SampleRateError(path, f"{rate} Hz, expected {MIN_RATE}-{MAX_RATE} Hz")
    if channels < 1:
        raise ChannelError(path, "no channels")
    if channel_pick is None and channels > 2:
        raise ChannelError(path, f"{channels} channels; pick agent/customer channels in the options")
    if channel_pick is not None and max(channel_pick) >= channels:
        raise ChannelError(path, f"channel pick {channel_pick} but the file has {channels} channels")
    return list(range(channels)) if channel_pick is None else list(channel_pick)
