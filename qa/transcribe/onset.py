"""Where the first speech really starts: weak syllables just before it.

At 10-16 dB SNR the first syllables of a greeting often stay below
floor + margin in band energy, so the detected speech starts a syllable or
three late. Speech puts its energy into a few harmonics and formants while
line noise spreads over the band, so a per-bin test is far more sensitive
than band energy: each bin's power against the noise spectrum measured
before (the quieter half of up to `onset_reference_s`), averaged as the mean
log-likelihood ratio gamma - ln(gamma) - 1 (Sohn, Kim & Sung 1999, with the
maximum-likelihood a priori SNR). Each frame is first scaled by its own
quiet bins, so a slow drift of the line noise's level does not count, only
a change of the spectrum's shape. On noise alone the score hovers near 0.58;
a syllable lifts it well above.

Only the first speech is extended, and only backwards through syllables that
lead into it (pauses up to `onset_gap_s`, at most `onset_lookback_s`).
Ringing and 0.1 s around each ring burst, anything before the last burst,
tone-like frames, the other party's bleed and digital silence are never
speech here.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import binary_dilation, uniform_filter1d

from qa.records import Interval
from qa.transcribe.masks import mask_runs
from qa.transcribe.activity import (
    _SILENT_DB,
    ANALYSIS_RATE,
    ChannelFrames,
    SignalOptions,
    band_power,
    bleed_frames,
    excluded_frames,
)

_MIN_REFERENCE_S = 0.3  # less noise than this gives no usable noise spectrum
_RING_MARGIN_S = 0.1  # a ring burst's edge is known to a frame or two
_SMOOTH_S = 0.08
_MIN_SYLLABLE_S = 0.05


def earlier_onset(
    x8: np.ndarray,
    frames: ChannelFrames,
    start_s: float,
    options: SignalOptions,
    *,
    exclude: tuple[Interval, ...] | list[Interval] = (),
    other_db: np.ndarray | None = None,
    not_before_s: float = 0.0,
) -> float:
    """The start of the speech that the detected interval starting at `start_s` begins.

    Returns `start_s` itself when nothing weaker leads into it.
    `x8` and `frames` are the channel at ANALYSIS_RATE and its frames;
    `exclude` (ringing) and `other_db` (the other channel's levels) as for
    `activity_from_frames`; the onset never moves before `not_before_s`.
    """
    hop = frames.hop_s
    half = options.frame_s / 2
    n = len(frames.level_db)
    s0 = min(n, max(0, int(round((start_s - half + hop / 2) / hop))))

    # Ring bursts, with a margin for their edges, and everything before the last one are out of reach.
    margin = int(round(_RING_MARGIN_S / hop))
    excluded = binary_dilation(excluded_frames(n, hop, exclude), np.ones(2 * margin + 1, bool))
    lo = max(0, int(np.ceil(not_before_s / hop)), s0 - int(round(options.onset_lookback_s / hop)))
    rung = np.flatnonzero(excluded[:s0])
    if len(rung):
        lo = max(lo, int(rung[-1]) + 1)
    if lo >= s0:
        return start_s
    blocked = (excluded | bleed_frames(frames.level_db, other_db, options) | frames.tone_like
               | (frames.level_db <= _SILENT_DB))

    # The noise spectrum from the audio before the detected start, ring off-times included.
    ref_lo = max(0, s0 - int(round(options.onset_reference_s / hop)))
    end = min(n, s0 + int(round(_SMOOTH_S / hop)) + 1)
    frame_n = int(round(options.frame_s * ANALYSIS_RATE))
    hop_n = int(round(options.hop_s * ANALYSIS_RATE))
    power = band_power(x8[ref_lo * hop_n:(end - 1) * hop_n + frame_n], options)[: end - ref_lo]
    ref = ~blocked[ref_lo:s0]
    if ref.sum() * hop < _MIN_REFERENCE_S or len(power) < end - ref_lo:
        return start_s
    # The weak speech looked for lies inside the reference too: its quieter half is the noise.
    level = frames.level_db[ref_lo:s0]
    ref &= level <= np.percentile(level[ref], 50)

    # Mean noise power per bin: the median of an exponential is ln 2 times its mean.
    noise = np.median(power[: s0 - ref_lo][ref], axis=0) / np.log(2)
    noise = np.maximum(noise, noise.max() * 1e-6 + 1e-30)
    gamma = power / noise
    # Line noise drifts in level; speech changes the spectrum's shape. Scaling each
    # frame by a low quantile of its bins (the bins between harmonics, noise alone;
    # an exponential's 30th percentile is -ln 0.7 of its mean) keeps the shape, drops the drift.
    level = np.percentile(gamma, 30, axis=1, keepdims=True) / -np.log(0.7)
    gamma = np.maximum(gamma / (level + 1e-30), 1e-6)
    score = uniform_filter1d(np.mean(gamma - np.log(gamma) - 1, axis=1), max(1, int(round(_SMOOTH_S / hop))))
    ref_score = score[: s0 - ref_lo][ref]
    # Non-stationary noise spreads its own scores and so raises the bar.
    p10, p50 = np.percentile(ref_score, [10, 50])
    bar = max(options.onset_score, 4 * (p50 - p10))
    usable = ~blocked[ref_lo:end]
    strong = (score > p50 + bar) & usable
    weak = (score > p50 + bar / 2) & usable  # hysteresis: a syllable's softer edges belong to it

    # Walk back from the detected start through syllables no further apart than
    # onset_gap_s. A faint one (weak frames only) carries the chain on, but only a
    # clear one (strong frames) moves the onset: noise alone rarely makes either.
    onset = reach = s0 - ref_lo
    floor_idx = lo - ref_lo
    gap = int(round(options.onset_gap_s / hop))
    min_run = int(round(_MIN_SYLLABLE_S / hop))
    for a, b in reversed(mask_runs(weak[:onset])):
        if b < reach - gap or b <= floor_idx:
            break
        a = max(a, floor_idx)
        if strong[a:b].sum() >= min_run or b == onset:  # a syllable, or the rising edge of the detected speech
            onset = reach = a
        else:
            reach = a
    first = ref_lo + onset + int(round(_SMOOTH_S / hop)) // 2  # smoothing spreads a rise by half its width
    if first >= s0:
        return start_s
    return round(first * hop + half - hop / 2, 3)

