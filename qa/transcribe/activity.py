"""Speech activity of one channel, measured against that channel's own noise floor.

The primary detector is band energy (300-3400 Hz) above a local noise floor,
with hysteresis. Energy alone also fires on tones, hold music and noise
steps, so candidates are filtered:
- tone-like frames (few spectral peaks that stay put for 100 ms: ringback,
  dial tones, synthetic hold music) are not speech unless Silero VAD
  confirms them (sustained vowels can look tonal);
- a segment whose level hardly moves is line noise, not speech (speech
  rises and falls with its syllables);
- frames where the other channel is much louder are bleed (stereo);
- caller-given intervals (ringing) are excluded.
Silero runs only on the tone-like regions, so it never decides alone: on
8 kHz telephone channels it sometimes misses whole channels of speech.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.fft
from scipy.ndimage import label, median_filter, minimum_filter1d

from qa.records import Interval
from qa.transcribe.audio import Resampled, resample
from qa.transcribe.dtmf import DtmfOptions
from qa.transcribe.ringback import RingbackSpec

ANALYSIS_RATE = 8000
SILERO_RATE = 16000
_SILENT_DB = -150.0  # below this a frame is digital silence (a numerical guard, not a threshold)


@dataclass(frozen=True)
class SignalOptions:
    """Every threshold of the signal timeline; stored with the result."""

    frame_s: float = 0.032
    hop_s: float = 0.010
    band_hz: tuple[float, float] = (300.0, 3400.0)
    noise_percentile: float = 10.0  # of frame levels, per block, gives the floor
    floor_block_s: float = 0.5
    floor_window_s: float = 10.0  # local floor: lowest block floor within this window
    dynamic_range_db: float = 50.0  # the floor never sits further below the channel's loud frames
    margin_db: float = 5.0  # a segment must reach floor + margin
    hold_db: float = 2.0  # and lasts while above floor + hold
    min_modulation_db: float = 6.0  # p90 - p10 level within a segment, around its slow trend; less is noise
    modulation_trend_s: float = 1.0  # the slow trend: a running median this long (line noise wanders slower)
    modulation_window_s: float = 0.3  # segment edges are trimmed to where the swing over this window starts
    edge_db: float = 25.0  # segment edges this far below its peak are trimmed
    min_speech_s: float = 0.12
    min_gap_s: float = 0.3  # shorter pauses inside speech are bridged
    tone_peak_fraction: float = 0.5  # share of band energy in the 8 strongest bins
    tone_similarity: float = 0.95  # spectrum vs 100 ms earlier or later
    tone_lag_s: float = 0.1
    use_silero: bool = True
    silero_confirm: float = 0.5  # Silero probability that keeps a tone-like region as speech
    gate_db: float = 6.0  # word gate: own channel louder than the other by this
    bleed_db: float = 10.0  # activity: the other channel louder by this means bleed
    ringback: str | RingbackSpec | None = "auto"  # "auto", "cn", "na", a spec, or None
    min_overlap_s: float = 0.2
    turn_gap_s: float = 0.5  # overlaps: a party's pauses up to this long stay inside one turn
    overlap_min_share: float = 0.5  # and each party speaks for this share of the double talk
    min_silence_s: float = 0.5
    region_pad_s: float = 0.2
    onset_lookback_s: float = 2.0  # weak syllables before the first agent speech are looked for this far back
    onset_reference_s: float = 6.0  # the noise spectrum comes from this much audio before it
    onset_score: float = 0.2  # mean log-likelihood ratio above the noise's own that marks a syllable
    onset_gap_s: float = 0.6  # longest pause between those syllables
    # What comes before the agent on a trunk-side recording (opening): music, keys, and how close they follow.
    music_window_s: float = 2.0
    music_tone_share: float = 0.45  # of tone-like frames within the window
    music_min_s: float = 2.0
    opening_gap_s: float = 20.0  # the longest IVR prompt between two of the opening's events
    dtmf: DtmfOptions = field(default_factory=DtmfOptions)


@dataclass(frozen=True)
class ChannelFrames:
    """Per-frame measurements of one channel at ANALYSIS_RATE."""

    hop_s: float
    level_db: np.ndarray  # band energy per frame, dB re full scale
    tone_like: np.ndarray  # bool per frame

    def times(self, idx: np.ndarray | int):
        return np.asarray(idx) * self.hop_s


def to_analysis_rate(x, rate: int):
    """`x` (an array or a sliced view, qa.transcribe.audio) at ANALYSIS_RATE, as float32 read by slices.

    At that rate already it is returned as it is: a long call is not copied. Else it is
    resampled a minute at a time into one array (each piece as the whole would be)."""
    if rate == ANALYSIS_RATE:
        return x if not isinstance(x, np.ndarray) else x.astype(np.float32, copy=False)
    view = Resampled(x, rate, ANALYSIS_RATE)
    out = np.empty(len(view), np.float32)
    step = 60 * ANALYSIS_RATE
    for start in range(0, len(out), step):
        out[start:start + step] = view[start:start + step]
    return out


# Frames analysed at a time: the spectra of a whole long call would take several
# times the signal's memory (a 30-minute call: ~700 MB), a minute of them ~20 MB.
CHUNK_FRAMES = 6000


def channel_frames(x8: np.ndarray, options: SignalOptions, chunk_frames: int = CHUNK_FRAMES) -> ChannelFrames:
    """Band level and tone-likeness per frame of an ANALYSIS_RATE signal, a chunk of frames at a time.

    A frame is tone-like when its spectrum is peaky and nearly the same as the
    frame `tone_lag_s` before or after it; each chunk also takes the `lag`
    frames before it, so every pair of frames is compared once, as on the whole signal.
    """
    n = int(round(options.frame_s * ANALYSIS_RATE))
    hop = int(round(options.hop_s * ANALYSIS_RATE))
    if len(x8) < n:
        x8 = np.pad(x8, (0, n - len(x8)))
    count = 1 + (len(x8) - n) // hop
    lag = max(1, int(round(options.tone_lag_s / options.hop_s)))
    level_db = np.empty(count)
    peaky = np.empty(count, dtype=bool)
    sim = np.zeros(count)
    for start in range(0, count, max(chunk_frames, lag)):
        stop = min(count, start + max(chunk_frames, lag))
        lo = max(0, start - lag)
        power = band_power(x8[lo * hop:(stop - 1) * hop + n], options)
        own = power[start - lo:]
        total = own.sum(axis=1)
        # Hann window power gain and FFT size, so a full-scale sine reads about -3 dB.
        level = 10 * np.log10(total / (n * n * 0.375 / 4) + 1e-30)
        level_db[start:stop] = np.maximum(level, _SILENT_DB - 50)
        k = min(8, power.shape[1] - 1)
        top = np.partition(own, -k, axis=1)[:, -k:].sum(axis=1)
        peaky[start:stop] = top / (total + 1e-30) >= options.tone_peak_fraction
        if len(power) > lag:  # frame pairs (j, j + lag) with j + lag in this chunk
            unit = power / (np.linalg.norm(power, axis=1, keepdims=True) + 1e-30)
            pair = np.einsum("ij,ij->i", unit[lag:], unit[:-lag])
            np.maximum(sim[lo + lag:stop], pair, out=sim[lo + lag:stop])
            np.maximum(sim[lo:stop - lag], pair, out=sim[lo:stop - lag])
    tone_like = peaky & (sim >= options.tone_similarity) & (level_db > _SILENT_DB)
    return ChannelFrames(hop_s=hop / ANALYSIS_RATE, level_db=level_db.astype(np.float32), tone_like=tone_like)


def band_power(x8: np.ndarray, options: SignalOptions) -> np.ndarray:
    """Power spectrum per frame (frames x bins inside `band_hz`) of an ANALYSIS_RATE signal."""
    n = int(round(options.frame_s * ANALYSIS_RATE))
    hop = int(round(options.hop_s * ANALYSIS_RATE))
    if len(x8) < n:
        x8 = np.pad(x8, (0, n - len(x8)))
    frames = np.lib.stride_tricks.sliding_window_view(x8, n)[::hop]
    spec = scipy.fft.rfft(frames * np.hanning(n).astype(np.float32), axis=1)
    freqs = np.fft.rfftfreq(n, 1 / ANALYSIS_RATE)
    band = (freqs >= options.band_hz[0]) & (freqs <= options.band_hz[1])
    return spec[:, band].real ** 2 + spec[:, band].imag ** 2


def noise_floor(level_db: np.ndarray, hop_s: float, options: SignalOptions) -> np.ndarray:
    """Local noise floor per frame: low percentile per block, lowest within a window."""
    audible = level_db > _SILENT_DB
    if not audible.any():
        return np.full(len(level_db), np.inf, dtype=np.float32)
    global_floor = np.percentile(level_db[audible], options.noise_percentile)
    block = max(1, int(round(options.floor_block_s / hop_s)))
    n_blocks = -(-len(level_db) // block)
    floors = np.full(n_blocks, global_floor, dtype=np.float64)
    for b in range(n_blocks):
        seg = level_db[b * block:(b + 1) * block]
        seg = seg[seg > _SILENT_DB]
        if len(seg) >= block // 4:
            floors[b] = np.percentile(seg, options.noise_percentile)
    win = max(1, int(round(options.floor_window_s / options.floor_block_s)))
    floors = minimum_filter1d(floors, size=win, mode="nearest")
    floor = np.repeat(floors, block)[: len(level_db)]
    loud = np.percentile(level_db[audible], 99)
    return np.maximum(floor, loud - options.dynamic_range_db).astype(np.float32)


def detect_activity(
    x: np.ndarray,
    rate: int,
    options: SignalOptions | None = None,
    *,
    exclude: tuple[Interval, ...] | list[Interval] = (),
    other: np.ndarray | None = None,
) -> list[Interval]:
    """Speech intervals of one channel.

    `exclude`: intervals that cannot be speech (ringing). `other`: the other
    channel of a stereo call (same rate), whose bleed is not this party's speech.
    """
    options = options or SignalOptions()
    x8 = to_analysis_rate(x, rate)
    frames = channel_frames(x8, options)
    other_db = None
    if other is not None:
        other_db = channel_frames(to_analysis_rate(other, rate), options).level_db
    return activity_from_frames(frames, x8, options, exclude=exclude, other_db=other_db)


def activity_from_frames(
    frames: ChannelFrames,
    x8: np.ndarray,
    options: SignalOptions,
    *,
    exclude=(),
    other_db: np.ndarray | None = None,
) -> list[Interval]:
    level = frames.level_db
    n = len(level)
    hop = frames.hop_s
    floor = noise_floor(level, hop, options)
    high = level > floor + options.margin_db
    low = level > floor + options.hold_db

    excluded = excluded_frames(n, hop, exclude)
    blocked = excluded | bleed_frames(level, other_db, options)
    tonal = frames.tone_like & low & ~blocked
    if tonal.any():
        tonal &= ~_silero_speech(tonal, x8, hop, options)

    low &= ~(blocked | tonal)
    high &= ~(blocked | tonal)
    labels, count = label(low)
    if count == 0:
        return []
    keep = np.zeros(count + 1, bool)
    keep[np.unique(labels[high])] = True
    keep[0] = False
    segs = []
    for a, b in _label_spans(labels, count):
        if keep[labels[a]]:
            # Trim edges far below the segment's peak: noise that merely hovers
            # above the floor next to speech is not part of it.
            edge = level[a:b] >= level[a:b].max() - options.edge_db
            first, last = np.flatnonzero(edge)[[0, -1]]
            segs.append([a + int(first), a + int(last) + 1])
    merged: list[list[int]] = []
    gap = int(round(options.min_gap_s / hop))
    for s, e in segs:
        # Bridge short pauses (also where the other party's bleed filled them), never across ringing.
        if merged and s - merged[-1][1] < gap and not excluded[merged[-1][1]:s].any():
            merged[-1][1] = e
        else:
            merged.append([s, e])
    ctx = int(round(0.1 / hop))
    # Syllables rise and fall several times a second; line noise that wanders up
    # over seconds does not, so levels are taken around their running median.
    # Ringing and the other party's bleed are not this channel's sound: they are
    # left out of the median and of every spread below.
    own = np.where(blocked, np.nan, level.astype(np.float64))
    trend_n = max(1, int(round(options.modulation_trend_s / hop)))
    win = max(1, int(round(options.modulation_window_s / hop)))
    pause_n = max(win, int(round(options.min_silence_s / hop)))
    kept = []
    for s, e in merged:
        lo, hi = max(0, s - ctx), min(n, e + ctx)
        a, b = max(0, lo - trend_n // 2), min(n, hi + trend_n // 2)
        swing = own[lo:hi] - _running(own[a:b], trend_n, 50)[lo - a:hi - a]
        spread = _running(swing, win, 90) - _running(swing, win, 10)
        moving = spread >= options.min_modulation_db
        # Hiss that stays above a lagging floor can bridge a real pause into one
        # segment: a still run at least a counted silence long, far below the
        # segment's peak, splits it there.
        quiet = level[s:e] < level[s:e].max() - options.edge_db
        pieces, start = [], s
        for ps, pe in _still_runs(moving[s - lo:e - lo] | ~quiet, pause_n):
            pieces.append((start, s + ps))
            start = s + pe
        pieces.append((start, e))
        for ps, pe in pieces:
            piece = _modulated(ps, pe, lo, swing, moving, win, ctx, options)
            if piece:
                kept.append(piece)
    merged = kept
    min_len = options.min_speech_s / hop
    # Frame i is centred at i*hop + frame/2; report edges at the frame centres.
    half = options.frame_s / 2
    return [Interval(round(s * hop + half - hop / 2, 3), round((e - 1) * hop + half + hop / 2, 3))
            for s, e in merged if e - s >= min_len]


def _still_runs(active: np.ndarray, min_len: int) -> list[tuple[int, int]]:
    """Interior runs of False at least `min_len` long, as (start, end) offsets."""
    runs = _label_spans(*label(~active))
    return [(a, b) for a, b in runs if b - a >= min_len and a > 0 and b < len(active)]


def _modulated(s: int, e: int, lo: int, swing: np.ndarray, moving: np.ndarray, win: int, ctx: int,
               options: SignalOptions) -> list[int] | None:
    """Frames [s, e) trimmed of a still lead or tail, or None when they never move like speech."""
    on = np.flatnonzero(moving[s - lo:e - lo])
    if not len(on):
        return None
    # A stretch of hiss above a lagging floor can lead into or trail speech:
    # a still lead or tail at least a window long is cut off.
    lead, tail = int(on[0]), e - s - int(on[-1]) - 1
    s, e = s + (lead if lead >= win else 0), e - (tail if tail >= win else 0)
    # Speech rises and falls with its syllables; a stretch whose level stays put
    # (a step in line noise) is not speech. The context lets short segments
    # show their rise from the floor.
    part = swing[max(0, s - ctx - lo):e + ctx - lo]
    part = part[~np.isnan(part)]
    if len(part) and np.percentile(part, 90) - np.percentile(part, 10) >= options.min_modulation_db:
        return [s, e]
    return None


def _running(values: np.ndarray, size: int, q: float) -> np.ndarray:
    """The q-th percentile of `values` over a window of `size` centred on each
    value, NaN left out (NaN where a window holds nothing else)."""
    return pd.Series(values).rolling(size, center=True, min_periods=1).quantile(q / 100).to_numpy()


def excluded_frames(n: int, hop_s: float, exclude) -> np.ndarray:
    """Frames inside the caller-given intervals (ringing)."""
    out = np.zeros(n, bool)
    for iv in exclude:
        out[max(0, int(iv.start_s / hop_s)):max(0, int(np.ceil(iv.end_s / hop_s)))] = True
    return out


def bleed_frames(level_db: np.ndarray, other_db: np.ndarray | None, options: SignalOptions) -> np.ndarray:
    """Frames where the other channel is louder by `bleed_db`: this one carries its bleed."""
    out = np.zeros(len(level_db), bool)
    if other_db is not None:
        m = min(len(level_db), len(other_db))
        out[:m] = median_filter(other_db[:m] - level_db[:m], size=5) > options.bleed_db
    return out


def _label_spans(labels: np.ndarray, count: int) -> list[tuple[int, int]]:
    idx = np.flatnonzero(labels)
    if not len(idx):
        return []
    breaks = np.flatnonzero(np.diff(labels[idx]) != 0)
    starts = np.concatenate(([idx[0]], idx[breaks + 1]))
    ends = np.concatenate((idx[breaks] + 1, [idx[-1] + 1]))
    return list(zip(starts.tolist(), ends.tolist()))


def _silero_speech(mask: np.ndarray, x8: np.ndarray, hop_s: float, options: SignalOptions) -> np.ndarray:
    """Frames inside `mask` regions where Silero VAD hears speech."""
    confirmed = np.zeros(len(mask), bool)
    if not options.use_silero:
        return confirmed
    for s, e in _label_spans(*label(mask)):
        a = max(0, int((s * hop_s - 0.5) * ANALYSIS_RATE))
        b = min(len(x8), int((e * hop_s + 0.25) * ANALYSIS_RATE))
        probs = silero_probs(x8[a:b], ANALYSIS_RATE)
        win_s = 512 / SILERO_RATE
        t = a / ANALYSIS_RATE + (np.arange(len(probs)) + 0.5) * win_s
        speech_t = t[probs >= options.silero_confirm]
        for ts in speech_t:
            i0, i1 = int((ts - win_s / 2) / hop_s), int(np.ceil((ts + win_s / 2) / hop_s))
            confirmed[max(s, i0):min(e, i1)] = True
    return confirmed


def silero_probs(x: np.ndarray, rate: int) -> np.ndarray:
    """Silero VAD speech probability per 32 ms window (16 kHz), from faster-whisper's model."""
    from faster_whisper.vad import get_vad_model

    x16 = resample(np.asarray(x, np.float32), rate, SILERO_RATE)
    pad = (-len(x16)) % 512
    x16 = np.pad(x16, (0, pad if pad else 0))
    if not len(x16):
        return np.zeros(0, np.float32)
    return np.asarray(get_vad_model()(x16)).reshape(-1)
