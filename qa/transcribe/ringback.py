"""Ringback tones: find the ring bursts the caller heard and count them.

A burst is a stretch where every tone of the standard stands clearly above
its neighbouring frequencies (STFT band energy, tolerant of frequency drift)
and dominates the telephone band. Bursts only count as rings when their
cadence fits the standard: on-time within the jitter tolerance, starts one
period apart. Only rings before the answer count.

Counting rule (for detected bursts and for CDR ring seconds alike): a ring
counts once its tone has been heard for at least `min_ring_s`. With ring
seconds T from metadata and period P = on + off, the k-th ring (k = 0, 1, ...)
starts at k*P, so rings = floor((T - min_ring_s) / P) + 1 for T >= min_ring_s,
else 0. China (P = 5 s): 12 s -> 3 rings, 10.2 s -> 2, 10.3 s -> 3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy.ndimage import binary_closing, binary_opening

from qa.records import Interval
from qa.transcribe.audio import resample
from qa.transcribe.masks import mask_runs

ANALYSIS_RATE = 8000
_N_FFT = 1024  # 7.8 Hz bins at 8 kHz: resolves 440 from 480 Hz
_HOP = 200  # 25 ms
_N_BINS = int(3500 / ANALYSIS_RATE * _N_FFT)


class RingbackError(ValueError):
    """A ringback spec that cannot describe a tone (bad frequencies or cadence)."""


@dataclass(frozen=True)
class RingbackSpec:
    """One country's ringback: tone frequencies and on/off cadence."""

    name: str
    freqs_hz: tuple[float, ...]
    on_s: float
    off_s: float
    drift_hz: float = 12.0  # accepted frequency error of the generator
    jitter: float = 0.3  # accepted relative error of on-time and period
    min_ring_s: float = 0.3  # a ring counts once heard this long
    tone_snr_db: float = 10.0  # tone above its neighbouring frequencies
    min_dominance: float = 0.3  # share of the telephone band's energy in the tones

    def __post_init__(self):
        if not self.freqs_hz or any(not 200 <= f <= 3400 for f in self.freqs_hz):
            raise RingbackError(f"ringback {self.name!r}: frequencies {self.freqs_hz} outside 200-3400 Hz")
        if self.on_s <= 0 or self.off_s <= 0:
            raise RingbackError(f"ringback {self.name!r}: cadence {self.on_s}/{self.off_s} s must be positive")

    @property
    def period_s(self) -> float:
        return self.on_s + self.off_s


CHINA = RingbackSpec("cn", (450.0,), on_s=1.0, off_s=4.0)
NORTH_AMERICA = RingbackSpec("na", (440.0, 480.0), on_s=2.0, off_s=4.0)
PRESETS: dict[str, RingbackSpec] = {"cn": CHINA, "na": NORTH_AMERICA}


def resolve_specs(ringback: str | RingbackSpec | None) -> tuple[RingbackSpec, ...]:
    """`"auto"` tries every preset; a preset name or a spec picks one; None disables."""
    if ringback is None:
        return ()
    if isinstance(ringback, RingbackSpec):
        return (ringback,)
    if ringback == "auto":
        return tuple(PRESETS.values())
    if ringback in PRESETS:
        return (PRESETS[ringback],)
    raise RingbackError(f"unknown ringback preset {ringback!r}; use 'auto', {', '.join(PRESETS)} or a RingbackSpec")


def rings_from_seconds(ring_seconds: float, spec: RingbackSpec) -> int:
    """Rings heard during `ring_seconds` of ringing (CDR), by the module's counting rule."""
    if not math.isfinite(ring_seconds) or ring_seconds < spec.min_ring_s:
        return 0
    return int((ring_seconds - spec.min_ring_s) // spec.period_s) + 1


def tone_bursts(x: np.ndarray, rate: int, spec: RingbackSpec, present: np.ndarray | None = None) -> list[Interval]:
    """Stretches where the spec's tones are present, cadence not yet checked.

    `present` (from `tone_presence`) lets several specs share one pass over the signal.
    """
    if present is None:
        [present] = tone_presence(x, rate, (spec,))
    hop_s = _HOP / ANALYSIS_RATE
    present = binary_closing(present, structure=np.ones(max(1, round(0.2 / hop_s)), bool))
    present = binary_opening(present, structure=np.ones(max(1, round(0.2 / hop_s)), bool))
    bursts = []
    for start, end in mask_runs(present):
        # Frame i covers [i*hop, i*hop + n_fft]; its centre marks the tone.
        bursts.append(Interval(round(start * hop_s + 0.5 * _N_FFT / ANALYSIS_RATE - hop_s / 2, 3),
                               round(end * hop_s + 0.5 * _N_FFT / ANALYSIS_RATE - hop_s / 2, 3)))
    return bursts


def count_rings(
    bursts: list[Interval], spec: RingbackSpec, answer_s: float | None = None
) -> tuple[Interval, ...]:
    """The longest run of bursts with the spec's cadence, ending before the answer.

    A burst cut short by the answer still counts when heard for `min_ring_s`.
    """
    before = [b for b in bursts if answer_s is None or b.start_s < answer_s - 0.05]
    lo_on, hi_on = spec.on_s * (1 - spec.jitter), spec.on_s * (1 + spec.jitter)
    lo_p, hi_p = spec.period_s * (1 - spec.jitter), spec.period_s * (1 + spec.jitter)

    def full(b: Interval) -> bool:
        return lo_on <= b.duration_s <= hi_on

    def cut(b: Interval) -> bool:
        # Shorter than a ring because the answer stopped the tone.
        return (answer_s is not None and spec.min_ring_s <= b.duration_s < lo_on
                and answer_s - b.end_s <= 0.6)

    best: list[Interval] = []
    for i, first in enumerate(before):
        if not (full(first) or cut(first)):
            continue
        chain = [first]
        for b in before[i + 1:]:
            if not (full(chain[-1]) and (full(b) or cut(b))):
                break
            if b.start_s - chain[-1].start_s < lo_p:
                continue  # a blip inside the off-time; look further
            if b.start_s - chain[-1].start_s > hi_p:
                break
            chain.append(b)
        if len(chain) > len(best):
            best = chain
    return tuple(best)


# Frames analysed at a time: a long call's whole spectrogram would take several
# times its signal's memory (a 30-minute stereo call: ~600 MB), a minute of it ~25 MB.
CHUNK_FRAMES = 2400


def ring_power(x: np.ndarray) -> np.ndarray:
    """Power spectrogram (frames x bins up to 3.5 kHz) of an ANALYSIS_RATE signal, for tone detection."""
    if len(x) < _N_FFT:
        x = np.pad(x, (0, _N_FFT - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, _N_FFT)[::_HOP]
    spec = scipy.fft.rfft(frames * np.hanning(_N_FFT).astype(np.float32), axis=1)[:, :_N_BINS]
    return spec.real ** 2 + spec.imag ** 2


def tone_presence(x: np.ndarray, rate: int, specs: tuple[RingbackSpec, ...],
                  chunk_frames: int = CHUNK_FRAMES) -> list[np.ndarray]:
    """Per spec, the frames where its tones are present; the spectrogram is taken a chunk at a time
    (each frame is judged on its own spectrum)."""
    if rate != ANALYSIS_RATE:
        x = resample(np.asarray(x, dtype=np.float32), rate, ANALYSIS_RATE)
    if len(x) < _N_FFT:
        x = np.pad(x, (0, _N_FFT - len(x)))
    count = 1 + (len(x) - _N_FFT) // _HOP
    present = [np.empty(count, dtype=bool) for _ in specs]
    for start in range(0, count, chunk_frames):
        stop = min(count, start + chunk_frames)
        power = ring_power(np.asarray(x[start * _HOP:(stop - 1) * _HOP + _N_FFT], np.float32))
        for out, spec in zip(present, specs):
            out[start:stop] = _tone_frames(power, spec)
    return present


def _tone_frames(power: np.ndarray, spec: RingbackSpec) -> np.ndarray:
    freqs = np.fft.rfftfreq(_N_FFT, 1 / ANALYSIS_RATE)[:_N_BINS]
    band = (freqs >= 300) & (freqs <= 3400)
    total = power[:, band].sum(axis=1) + 1e-20
    tone_sum = np.zeros(len(power))
    present = np.ones(len(power), bool)
    near_any = np.zeros_like(freqs, bool)
    for f in spec.freqs_hz:
        near_any |= np.abs(freqs - f) <= spec.drift_hz + 40
    for f in spec.freqs_hz:
        tone_bins = np.abs(freqs - f) <= spec.drift_hz + 4
        neighbours = (np.abs(freqs - f) <= 250) & ~near_any
        tone = power[:, tone_bins]
        tone_sum += tone.sum(axis=1)
        ratio = tone.max(axis=1) / (np.median(power[:, neighbours], axis=1) + 1e-20)
        present &= ratio >= 10 ** (spec.tone_snr_db / 10)
    present &= tone_sum / total >= spec.min_dominance
    present &= _tones_resolved(power, freqs, spec)
    # Numerical guard only: digital silence holds no tone.
    present &= tone_sum > 1e-10 * _N_FFT
    return present


def _tones_resolved(power: np.ndarray, freqs: np.ndarray, spec: RingbackSpec, dip_db: float = 10.0) -> np.ndarray:
    """Frames where each pair of the spec's tones shows as two peaks with a dip between.

    A dual tone (440 + 480 Hz) is two lines 40 Hz apart; a voice whose
    harmonic wanders across both bands fills the gap instead.
    """
    ok = np.ones(len(power), bool)
    fs = sorted(spec.freqs_hz)
    rows = np.arange(len(power))
    for lo, hi in zip(fs, fs[1:]):
        peaks = []
        for f in (lo, hi):
            idx = np.flatnonzero(np.abs(freqs - f) <= spec.drift_hz + 4)
            peaks.append(idx[np.argmax(power[:, idx], axis=1)])
        mid = (peaks[0] + peaks[1]) // 2
        between = np.minimum.reduce([power[rows, np.clip(mid + d, 0, power.shape[1] - 1)] for d in (-1, 0, 1)])
        weaker = np.minimum(power[rows, peaks[0]], power[rows, peaks[1]])
        ok &= weaker >= between * 10 ** (dip_db / 10)
    return ok

