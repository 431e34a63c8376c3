"""The call's timeline from the signal: who speaks when, ringing, silences, overlaps.

Stereo: one channel per role, each channel's speech with the other's bleed
removed. Mono: speech from the mixed channel, given to roles by
`speakers.attribute_mono`. Ringback is looked for on every channel; the
answer is the first agent speech (mono: the first speech), and only rings
before it count. Ring seconds from metadata override the detected count.
"""

from __future__ import annotations

import numpy as np

from qa.records import Interval, Overlap, Timeline
from qa.transcribe.activity import (
    ANALYSIS_RATE,
    SignalOptions,
    activity_from_frames,
    channel_frames,
    to_analysis_rate,
)
from qa.transcribe.audio import Audio
from qa.transcribe.dtmf import key_presses
from qa.transcribe.onset import earlier_onset
from qa.transcribe.opening import key_cues, music_cues, music_runs, opening_end, split_prompts
from qa.transcribe.ringback import (
    CHINA,
    RingbackSpec,
    count_rings,
    resolve_specs,
    rings_from_seconds,
    tone_bursts,
    tone_presence,
)
from qa.transcribe.speakers import attribute_mono

__all__ = ["SignalOptions", "build_timeline", "speech_regions", "speech_turns", "turn_overlaps", "TimelineError"]


class TimelineError(ValueError):
    """Channel roles that do not fit the recording."""


def build_timeline(
    audio: Audio,
    channel_roles: tuple[str, ...] = ("agent", "customer"),
    options: SignalOptions | None = None,
    ring_seconds: float | None = None,
) -> Timeline:
    options = options or SignalOptions()
    mono = channel_roles == ("mixed",) or len(channel_roles) == 1 or audio.channels == 1
    if not mono and len(channel_roles) != audio.channels:
        raise TimelineError(f"{audio.path}: {audio.channels} channels but roles {channel_roles}")
    if mono and audio.channels > 1:  # a stereo file scored as one mixed channel
        mixed = np.mean([audio.channel(i) for i in range(audio.channels)], axis=0, dtype=np.float32)
        signals = [to_analysis_rate(mixed, audio.sample_rate)]
    else:
        signals = [to_analysis_rate(audio.channel_at(i, audio.sample_rate), audio.sample_rate)
                   for i in range(1 if mono else audio.channels)]
    frames = [channel_frames(x, options) for x in signals]
    keys = [key_presses(x, ANALYSIS_RATE, options.dtmf) for x in signals]
    music = [music_runs(fr, options) for fr in frames]

    spec, bursts_by_channel, chain = _find_ringback(signals, options)
    all_chain = tuple(chain)
    activity, blockers = [], []
    for i, (x, fr) in enumerate(zip(signals, frames)):
        other_db = None if mono else frames[1 - i].level_db if len(frames) == 2 else None
        # Ringing, music and key presses are never anyone's speech.
        exclude = (tuple(b for b in bursts_by_channel[i] if _ringing(b, spec, chain)) + all_chain
                   + tuple(music[i]) + tuple(Interval(k.start_s, k.end_s) for k in keys[i]))
        blockers.append({"exclude": exclude, "other_db": other_db})
        activity.append(activity_from_frames(fr, x, options, exclude=exclude, other_db=other_db))

    # The answer is the first agent speech (mono: the first speech) after what the line
    # played before it (IVR, keys, queue music, ringing); speech before that is the IVR's.
    idx = 0 if mono else channel_roles.index("agent") if "agent" in channel_roles else 0
    key_list, music_list = key_cues(keys, frames), music_cues(music, frames)
    customer = None if mono or "customer" not in channel_roles else channel_roles.index("customer")
    customer_start = activity[customer][0].start_s if customer is not None and activity[customer] else None
    speech_start = activity[0][0].start_s if mono and activity[0] else None
    machine_end = opening_end(list(all_chain) + key_list + music_list, options, customer_start, speech_start)
    prompts, activity[idx] = split_prompts(activity[idx], machine_end, idx)
    answer = None
    if activity[idx]:
        iv = activity[idx][0]
        # Weak first syllables (low SNR) lead into the detected speech: they are part of it.
        not_before = max([machine_end or 0.0] + [p.end_s for p in prompts])
        answer = earlier_onset(signals[idx], frames[idx], iv.start_s, options, **blockers[idx],
                               not_before_s=not_before)
        activity[idx][0] = Interval(answer, iv.end_s)
    cues = tuple(sorted(prompts + music_list + key_list, key=lambda c: (c.start_s, c.channel)))

    rings: tuple[Interval, ...] = ()
    if spec is not None:
        best_channel = max(range(len(signals)), key=lambda i: len(count_rings(bursts_by_channel[i], spec, answer)))
        rings = count_rings(bursts_by_channel[best_channel], spec, answer)
    if ring_seconds is not None:
        ring_count, source = rings_from_seconds(ring_seconds, spec or _metadata_spec(options)), "metadata"
    else:
        ring_count, source = len(rings), ("detected" if rings else "none")

    if mono:
        speech = attribute_mono(signals[0], activity[0], rate=ANALYSIS_RATE)
    else:
        speech = {role: tuple(ivs) for role, ivs in zip(channel_roles, activity)}
    duration = audio.duration_s
    silence_from = answer if answer is not None else (rings[-1].end_s if rings else 0.0)
    return Timeline(
        duration_s=duration,
        speech=speech,
        mutual_silence=_mutual_silence(speech, silence_from, duration, options.min_silence_s),
        overlaps=() if mono else turn_overlaps(speech, options),
        rings=rings,
        ring_count=ring_count,
        answer_onset_s=answer,
        ring_source=source,
        stereo=not mono,
        cues=cues,
    )


def speech_regions(timeline: Timeline, role: str, pad_s: float = 0.2) -> list[Interval]:
    """The role's speech padded by `pad_s`, merged where the pads meet: regions for the ASR."""
    out: list[Interval] = []
    for iv in sorted(timeline.speech.get(role, ()), key=lambda v: v.start_s):
        start, end = max(0.0, iv.start_s - pad_s), min(timeline.duration_s, iv.end_s + pad_s)
        if out and start <= out[-1].end_s:
            out[-1] = Interval(out[-1].start_s, max(out[-1].end_s, end))
        else:
            out.append(Interval(start, end))
    return out


def _find_ringback(signals, options: SignalOptions):
    """The spec with the longest cadence-true chain on any channel, its bursts per channel."""
    specs = resolve_specs(options.ringback)
    if not specs:
        return None, [[] for _ in signals], ()
    presence = [tone_presence(x, ANALYSIS_RATE, tuple(specs)) for x in signals]  # [channel][spec]
    best = (None, [[] for _ in signals], ())
    for k, spec in enumerate(specs):
        bursts = [tone_bursts(x, ANALYSIS_RATE, spec, present=p[k]) for x, p in zip(signals, presence)]
        chains = [count_rings(b, spec) for b in bursts]
        chain = max(chains, key=len)
        if best[0] is None or len(chain) > len(best[2]):
            best = (spec, bursts, chain)
    return best


def _ringing(burst: Interval, spec: RingbackSpec, chain) -> bool:
    """A tone burst that cannot be speech: a whole ring long, within the rings, or the
    next ring of their cadence (cut short by the answer).

    Any other short burst is not ringing by the cadence rule, and a rising vowel can
    pass for one: the tone-like test and Silero judge it like any tone.
    """
    if spec.on_s * (1 - spec.jitter) <= burst.duration_s:
        return True
    if not chain:
        return False
    last = chain[-1]
    next_ring = abs(burst.start_s - last.start_s - spec.period_s) <= spec.jitter * spec.period_s
    return burst.start_s <= last.end_s or next_ring


def _metadata_spec(options: SignalOptions) -> RingbackSpec:
    specs = resolve_specs(options.ringback)
    return specs[0] if specs else CHINA


def _union(speech: dict[str, tuple[Interval, ...]]) -> list[Interval]:
    merged: list[Interval] = []
    for iv in sorted((iv for ivs in speech.values() for iv in ivs), key=lambda v: v.start_s):
        if merged and iv.start_s <= merged[-1].end_s:
            merged[-1] = Interval(merged[-1].start_s, max(merged[-1].end_s, iv.end_s))
        else:
            merged.append(iv)
    return merged


def _mutual_silence(speech, start_s: float, end_s: float, min_s: float) -> tuple[Interval, ...]:
    out = []
    t = start_s
    for iv in _union(speech):
        if iv.end_s <= t:
            continue
        if iv.start_s - t >= min_s:
            out.append(Interval(round(t, 3), round(iv.start_s, 3)))
        t = max(t, iv.end_s)
    if end_s - t >= min_s:
        out.append(Interval(round(t, 3), round(end_s, 3)))
    return tuple(out)


def speech_turns(intervals, gap_s: float) -> list[Interval]:
    """One party's speech joined over pauses up to `gap_s`: its turns."""
    turns: list[Interval] = []
    for iv in sorted(intervals, key=lambda v: v.start_s):
        if turns and iv.start_s - turns[-1].end_s <= gap_s:
            turns[-1] = Interval(turns[-1].start_s, max(turns[-1].end_s, iv.end_s))
        else:
            turns.append(iv)
    return turns


def turn_overlaps(speech: dict, options: SignalOptions | None = None) -> tuple[Overlap, ...]:
    """Double talk between agent and customer, one Overlap per episode.

    During double talk each channel's activity breaks into fragments (syllable
    pauses, the louder voice's bleed gated out), so overlaps are taken between
    turns (`speech_turns` over `turn_gap_s`): one episode, one Overlap. The
    interrupter is the party whose turn started while the other's was going
    on (on a tie, the customer). A bridged pause is not speech: an episode
    counts only where each party really speaks for `overlap_min_share` of it,
    so a turn bridged over the other's short reply is no double talk.
    """
    options = options or SignalOptions()
    raw = {role: tuple(speech.get(role, ())) for role in ("agent", "customer")}
    turns = {role: speech_turns(ivs, options.turn_gap_s) for role, ivs in raw.items()}
    out = []
    for a in turns["agent"]:
        for c in turns["customer"]:
            lo, hi = max(a.start_s, c.start_s), min(a.end_s, c.end_s)
            if hi - lo < options.min_overlap_s:
                continue
            spoken = min(_covered(raw["agent"], lo, hi), _covered(raw["customer"], lo, hi))
            if spoken < options.overlap_min_share * (hi - lo):
                continue
            if a.start_s > c.start_s:
                out.append(Overlap(round(lo, 3), round(hi, 3), "agent", "customer"))
            else:
                out.append(Overlap(round(lo, 3), round(hi, 3), "customer", "agent"))
    return tuple(sorted(out, key=lambda o: o.start_s))


def _covered(intervals, lo: float, hi: float) -> float:
    """Seconds of [lo, hi] inside the (possibly overlapping) intervals."""
    total, reach = 0.0, lo
    for iv in sorted(intervals, key=lambda v: v.start_s):
        a, b = max(iv.start_s, reach), min(iv.end_s, hi)
        if b > a:
            total += b - a
            reach = b
    return total
