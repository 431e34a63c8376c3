"""DTMF key presses (ITU-T Q.23/Q.24): the caller answering an IVR menu.

Each key is one row tone (697-941 Hz) plus one column tone (1209-1633 Hz).
A frame holds a key when those two tones carry nearly all of its power, each
clearly above the other tones of its group, with their levels close (twist).
The tone powers come from a projection onto the eight frequencies (what a
Goertzel filter bank computes), a chunk of frames at a time so a long call
never holds more than a minute of frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROWS = (697.0, 770.0, 852.0, 941.0)
COLUMNS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYS = ("123A", "456B", "789C", "*0#D")

_FRAME_S = 0.032
_HOP_S = 0.010
_CHUNK = 6000  # frames per pass


@dataclass(frozen=True)
class DtmfOptions:
    """Thresholds of the key detector; stored with the timeline's options."""

    min_share: float = 0.8  # of the frame's power in the row and column tone together
    group_margin_db: float = 8.0  # each tone above the next strongest of its group
    max_twist_db: float = 8.0  # row and column tone levels at most this far apart
    min_level_db: float = -45.0  # frame power, dB re full scale
    min_tone_s: float = 0.04  # a key is held at least this long (Q.24)
    max_gap_s: float = 0.02  # a dropped frame inside one press


@dataclass(frozen=True)
class KeyPress:
    start_s: float
    end_s: float
    key: str


def key_presses(x: np.ndarray, rate: int, options: DtmfOptions | None = None) -> list[KeyPress]:
    """The DTMF keys pressed in `x` (one channel at `rate`), in order."""
    options = options or DtmfOptions()
    n = int(round(_FRAME_S * rate))
    hop = int(round(_HOP_S * rate))
    count = 0 if len(x) < n else 1 + (len(x) - n) // hop
    window = np.hanning(n)
    t = np.arange(n) / rate
    basis = np.exp(-2j * np.pi * np.outer(t, ROWS + COLUMNS)) * window[:, None]
    # A windowed sine of amplitude a projects to a * sum(w) / 2; its mean power is a^2 / 2.
    to_power = 2.0 / window.sum() ** 2
    keys = np.full(count, -1, dtype=np.int8)
    for start in range(0, count, _CHUNK):
        stop = min(count, start + _CHUNK)
        frames = np.lib.stride_tricks.sliding_window_view(
            np.asarray(x[start * hop:(stop - 1) * hop + n], dtype=np.float64), n)[::hop]
        tones = np.abs(frames @ basis) ** 2 * to_power  # mean power of each tone
        power = (frames ** 2 * window ** 2).sum(axis=1) / (window ** 2).sum()
        keys[start:stop] = _frame_keys(tones, power, options)
    return _presses(keys, hop / rate, n / rate, options)


def _frame_keys(tones: np.ndarray, power: np.ndarray, options: DtmfOptions) -> np.ndarray:
    """Key index (row * 4 + column) per frame, -1 where no key sounds."""
    row, col = tones[:, :4], tones[:, 4:]
    r, c = row.argmax(axis=1), col.argmax(axis=1)
    idx = np.arange(len(tones))
    pr, pc = row[idx, r], col[idx, c]
    second_r = np.sort(row, axis=1)[:, -2]
    second_c = np.sort(col, axis=1)[:, -2]
    margin = 10 ** (options.group_margin_db / 10)
    twist = 10 ** (options.max_twist_db / 10)
    ok = ((pr + pc >= options.min_share * power)
          & (pr >= margin * second_r) & (pc >= margin * second_c)
          & (pr <= twist * pc) & (pc <= twist * pr)
          & (power >= 10 ** (options.min_level_db / 10)))
    return np.where(ok, r * 4 + c, -1).astype(np.int8)


def _presses(keys: np.ndarray, hop_s: float, frame_s: float, options: DtmfOptions) -> list[KeyPress]:
    """Runs of one key, bridged over short drop-outs, held long enough."""
    out: list[KeyPress] = []
    gap = int(round(options.max_gap_s / hop_s))
    i, n = 0, len(keys)
    while i < n:
        if keys[i] < 0:
            i += 1
            continue
        key, j, last = keys[i], i, i
        while j + 1 < n and (keys[j + 1] == key or (keys[j + 1] < 0 and j + 1 - last <= gap)):
            j += 1
            if keys[j] == key:
                last = j
        start_s, end_s = i * hop_s, last * hop_s + frame_s
        # A frame lights once the tone fills most of it: a 40 ms press lights two or three.
        if last - i + 1 >= max(2, round((options.min_tone_s - frame_s) / hop_s) + 1):
            out.append(KeyPress(round(start_s, 3), round(end_s, 3), KEYS[key // 4][key % 4]))
        i = last + 1
    return out
