"""Crosstalk on stereo calls: one party's voice bleeding into the other channel.

Bleed is typically 20-30 dB below the original, so the rule is a level
comparison over the same time span. The coupling (how far below the other
channel its voice shows up on this one) is measured on the call itself: a
word belongs to this channel when it is louder by `gate_db` than the bleed
alone would be. Both parties talking at once keeps both (each voice is loud on
its own channel); a faint copy of the other party is dropped. Without a
measurable coupling the rule falls back to "own channel louder than the
other by gate_db". Levels are measured in the telephone band so hum and DC
do not count.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt

from qa.records import Interval, Word


# Level resolution: word and step edges round to 5 ms, far finer than Whisper's
# word times (WORD_TOLERANCE_S), and a 2-hour call's running sum is 12 MB per channel.
FRAME_S = 0.005
BLOCK_FRAMES = 6_000  # filtered 30 s at a time: no whole-call float64 copy of a long call


class ChannelLevel:
    """Band-limited energy of one channel with O(1) RMS over any time span.

    Kept as the running sum of per-frame energies (8 bytes per 5 ms frame,
    12 MB for a 2-hour call) rather than per sample, and filtered in blocks
    that carry the filter's state across, so the result is the whole-call
    filter's."""

    def __init__(self, x: np.ndarray, sample_rate: int, band_hz: tuple[float, float] = (300.0, 3400.0)):
        self.rate = sample_rate
        self.hop = max(1, round(FRAME_S * sample_rate))  # samples per frame
        self.n = len(x)
        hi = min(band_hz[1], 0.45 * sample_rate)
        sos = butter(4, [band_hz[0], hi], btype="bandpass", fs=sample_rate, output="sos")
        state = np.zeros((sos.shape[0], 2))
        # Frame energies are written after a leading 0 and summed in place: one array, no copies.
        cum = np.zeros(1 + -(-self.n // self.hop))
        energy = cum[1:]
        block = self.hop * BLOCK_FRAMES
        for start in range(0, self.n, block):
            y, state = sosfilt(sos, np.asarray(x[start:start + block], dtype=np.float64), zi=state)
            squared = np.square(y, out=y)
            tail = (-len(squared)) % self.hop  # the call's last, partial frame
            if tail:
                squared = np.concatenate((squared, np.zeros(tail)))
            first = start // self.hop
            energy[first:first + len(squared) // self.hop] = squared.reshape(-1, self.hop).sum(axis=1)
        np.cumsum(energy, out=energy)
        self._cum = cum

    def _samples(self, a: int, b: int) -> int:
        """Samples in frames a..b (the last frame may be partial)."""
        return min(b * self.hop, self.n) - a * self.hop

    def db(self, start_s: float, end_s: float) -> float:
        """RMS level in dB over [start_s, end_s] (at least one frame)."""
        frames = len(self._cum) - 1
        frame_s = self.hop / self.rate
        a = min(frames - 1, max(0, int(start_s / frame_s)))
        b = min(frames, max(a + 1, int(np.ceil(end_s / frame_s))))
        mean = (self._cum[b] - self._cum[a]) / max(1, self._samples(a, b))
        return float(10 * np.log10(max(mean, 0.0) + 1e-20))

    def steps_db(self, step_s: float = 0.05) -> np.ndarray:
        """Level in dB of consecutive `step_s` steps (whole steps only)."""
        k = max(1, round(step_s * self.rate / self.hop))  # frames per step
        whole = (self.n // self.hop) // k * k  # frames that are full and make whole steps
        edges = self._cum[:whole + 1:k]
        return 10 * np.log10(np.maximum(np.diff(edges) / (k * self.hop), 0.0) + 1e-20)


def coupling_db(own: ChannelLevel, other: ChannelLevel, step_s: float = 0.05) -> float:
    """How far below the other channel its voice appears on `own` (dB, -40..0).

    Measured where the other channel is loud (its top 30 %) and louder than
    this one: there this channel carries only the bleed (and its noise).
    """
    a, b = own.steps_db(step_s), other.steps_db(step_s)
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    if n < 10:
        return 0.0
    sel = (b >= np.percentile(b, 70)) & (b > a) & (b > -190)
    if sel.sum() < 5:
        return 0.0
    return float(np.clip(np.median(a[sel] - b[sel]), -40.0, 0.0))


def gate_words(
    words,
    own: np.ndarray | ChannelLevel,
    other: np.ndarray | ChannelLevel,
    sample_rate: int,
    gate_db: float = 6.0,
    coupling: float | None = None,
) -> list[Word]:
    """Words whose own channel, over the word's span, is louder by `gate_db` than
    the other channel's bleed (other level + `coupling`, measured when None).

    A word recognized from bleed (the other party heard faintly on this channel)
    fails the gate; words spoken over the other party pass.
    """
    own_level = own if isinstance(own, ChannelLevel) else ChannelLevel(own, sample_rate)
    other_level = other if isinstance(other, ChannelLevel) else ChannelLevel(other, sample_rate)
    if coupling is None:
        coupling = coupling_db(own_level, other_level)
    return [w for w in words
            if own_level.db(w.start_s, w.end_s) - other_level.db(w.start_s, w.end_s) - coupling >= gate_db]


def bleed_share(intervals, own: ChannelLevel, other: ChannelLevel, gate_db: float) -> float:
    """Share of the time in `intervals` where the other channel is louder by `gate_db`,
    measured on 50 ms steps: 0 for a clean channel, near 1 for pure bleed."""
    step = 0.05
    total = bleed = 0
    for iv in intervals:
        t = iv.start_s
        while t < iv.end_s:
            total += 1
            if other.db(t, t + step) - own.db(t, t + step) > gate_db:
                bleed += 1
            t += step
    return bleed / total if total else 0.0


def overlap_s(a: list[Interval] | tuple[Interval, ...], b: list[Interval] | tuple[Interval, ...]) -> float:
    """Total time covered by both interval lists (each sorted and disjoint)."""
    i = j = 0
    total = 0.0
    while i < len(a) and j < len(b):
        lo = max(a[i].start_s, b[j].start_s)
        hi = min(a[i].end_s, b[j].end_s)
        if hi > lo:
            total += hi - lo
        if a[i].end_s < b[j].end_s:
            i += 1
        else:
            j += 1
    return total
