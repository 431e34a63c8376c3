"""The samples of a long PCM recording, read from its file where they are sliced.

An hour of 8 kHz stereo held as int16 is 115 MB, a 4-hour call 460 MB per
worker. WAV and AIFF with 8- or 16-bit PCM, A-law or mu-law seek to the exact
frame, so such a call need not be held at all: every stage reads its calls'
pieces by slices (`Audio.channel_at`), and each slice is read from the file
when it is taken. The page cache keeps the re-reads of later stages cheap.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import soundfile as sf

from qa.transcribe.errors import TruncatedAudioError

__all__ = ["FILE_BACKED_SUBTYPES", "FileChannel", "FileSamples", "file_backed"]

FILE_BACKED_FORMATS = frozenset({"WAV", "WAVEX", "AIFF"})
FILE_BACKED_SUBTYPES = frozenset({"PCM_S8", "PCM_U8", "PCM_16", "ULAW", "ALAW"})


def file_backed(info) -> bool:
    """Whether libsndfile reads this file's frames back exactly from any offset."""
    return info.format in FILE_BACKED_FORMATS and info.subtype in FILE_BACKED_SUBTYPES


class FileSamples:
    """A (channels, frames) int16 array that stays in its file: `[i]` is channel i (a `FileChannel`),
    anything else reads the whole array."""

    dtype = np.dtype(np.int16)
    ndim = 2

    def __init__(self, path: str | Path, keep: list[int], frames: int):
        self.path, self.keep, self.frames = Path(path), list(keep), int(frames)
        self.shape = (len(self.keep), self.frames)
        self._lock = threading.Lock()
        self._file: sf.SoundFile | None = None

    def read(self, start: int, stop: int) -> np.ndarray:
        """Frames [start, stop) of the kept channels, shape (channels, n)."""
        start, stop = max(0, start), min(self.frames, stop)
        if stop <= start:
            return np.zeros((len(self.keep), 0), np.int16)
        with self._lock:
            if self._file is None or self._file.closed:
                self._file = sf.SoundFile(str(self.path))
            try:
                self._file.seek(start)
                got = self._file.read(stop - start, dtype="int16", always_2d=True)
            except (sf.LibsndfileError, RuntimeError, OSError) as exc:
                raise TruncatedAudioError(self.path, f"cannot be read at frame {start}: {exc}") from exc
        if len(got) < stop - start:
            raise TruncatedAudioError(self.path, f"read {start + len(got)} of {self.frames} frames: the file "
                                                 "got shorter while it was being scored")
        return got.T[self.keep]

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return FileChannel(self, range(self.shape[0])[key])
        return np.asarray(self)[key]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self.read(0, self.frames)
        return whole if dtype is None else whole.astype(dtype)

    @property
    def T(self) -> np.ndarray:  # noqa: N802 (numpy's name)
        return np.asarray(self).T

    def __getstate__(self) -> dict:
        return {"path": self.path, "keep": self.keep, "frames": self.frames}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], state["keep"], state["frames"])


class FileChannel:
    """One channel of `FileSamples`, sliced like a 1-D int16 array (contiguous slices only)."""

    dtype = np.dtype(np.int16)

    def __init__(self, samples: FileSamples, index: int):
        self.samples, self.index = samples, index

    def __len__(self) -> int:
        return self.samples.frames

    def __getitem__(self, key: slice) -> np.ndarray:
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("a channel read from its file is sliced by contiguous slices")
        start, stop, _ = key.indices(len(self))
        return self.samples.read(start, stop)[self.index]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)
