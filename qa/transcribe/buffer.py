"""The one preallocated buffer both decoders fill, block by block.

Never by concatenation, so an hours-long call is held once (plus a block).
"""

from __future__ import annotations

import numpy as np


def capacity(frames: int | float | None, limit: int | None) -> int:
    """Frames to preallocate: the expected length with a little slack, at most the limit."""
    guess = int(frames * 1.01) + 4096 if frames and 0 < frames < 2**40 else 1 << 20
    return min(guess, limit + 1) if limit is not None else guess


class Buffer:
    """A (channels, frames) float32 (or int16) array filled block by block.

    Preallocated from the expected length and grown by half when a file runs
    longer, so a long call is not copied once per block. `finish` drops the
    unused tail in place (rows moved down, then one realloc), not by a copy.
    """

    def __init__(self, channels: int, capacity: int, dtype=np.float32):
        self._data = np.empty((channels, max(capacity, 1)), dtype=dtype)
        self.frames = 0

    def append(self, block: np.ndarray) -> None:
        n = block.shape[1]
        if self.frames + n > self._data.shape[1]:
            grown = np.empty((self._data.shape[0], max(self.frames + n, self._data.shape[1] * 3 // 2)),
                             self._data.dtype)
            grown[:, : self.frames] = self._data[:, : self.frames]
            self._data = grown
        out = self._data[:, self.frames : self.frames + n]
        out[...] = block
        if out.dtype == np.float32:
            np.nan_to_num(out, copy=False)
            np.clip(out, -1.0, 1.0, out=out)  # lossy decoders overshoot a clipped input
        self.frames += n

    def append_silence(self, n: int) -> None:
        if n > 0:
            self.append(np.zeros((self._data.shape[0], n), dtype=self._data.dtype))

    def finish(self) -> np.ndarray:
        data, n = self._data, self.frames
        channels, capacity = data.shape
        self._data = np.empty((channels, 0), data.dtype)
        if n == capacity:
            return data
        flat = data.reshape(-1)  # a view: rows move down to lie back to back
        for row in range(1, channels):
            dst, src = row * n, row * capacity
            # Pieces no longer than the gap do not overlap; numpy buffers a longer piece.
            step = max(src - dst, n // 64, 1)
            for at in range(0, n, step):
                k = min(step, n - at)
                flat[dst + at : dst + at + k] = flat[src + at : src + at + k]
        del flat
        data.resize((channels, n), refcheck=False)  # no views of `data` are left
        return data
