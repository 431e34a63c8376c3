"""What comes before the agent on a trunk-side recording: IVR, key presses, queue music, ringback.

A recorder on the trunk starts with the call itself: the IVR's prompts
(欢迎致电…普通话服务请按1), the caller's DTMF keys, queue music, ringback, and
only then the agent. None of it is the agent's speech. The signal shows the
machine part as a chain of non-speech events (keys, music, rings), each
within `opening_gap_s` of the one before, starting near the beginning and,
on stereo, before the customer has said anything. Prompts are the speech
between those events. The answer is the first agent speech after the chain;
speech heard on the agent's side before it is the IVR's, not the agent's.

A call with none of these events opens at its first agent speech, as before.
Music is recognised by its sustained notes: over `music_window_s` at least
`music_tone_share` of the frames are tone-like (activity), for at least
`music_min_s`; speech reaches about a third of that.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
from scipy.ndimage import uniform_filter1d

from qa.records import Cue, Interval
from qa.transcribe.activity import ChannelFrames, SignalOptions
from qa.transcribe.dtmf import KeyPress
from qa.transcribe.masks import mask_runs

_NOTE_GAP_S = 0.2  # a note's attack and a beat's break are not tone-like for about this long


def music_runs(frames: ChannelFrames, options: SignalOptions) -> list[Interval]:
    """Stretches of one channel that are music: tone-like frames dense enough for long enough."""
    width = max(1, int(round(options.music_window_s / frames.hop_s)))
    share = uniform_filter1d(frames.tone_like.astype(np.float32), width, mode="constant")
    dense = share >= options.music_tone_share
    # Near its edges the window also holds what is around the music: the run reaches on
    # through tone-like frames with gaps no longer than a note's attack.
    tone = frames.tone_like
    gap = max(1, int(round(_NOTE_GAP_S / frames.hop_s)))
    out: list[Interval] = []
    for a, b in mask_runs(dense):
        tonal = np.flatnonzero(tone[a:b])
        if not len(tonal):
            continue
        first, last = a + int(tonal[0]), a + int(tonal[-1])
        while True:
            ahead = np.flatnonzero(tone[last + 1:last + 1 + gap])
            if not len(ahead):
                break
            last += 1 + int(ahead[-1])
        while True:
            behind = np.flatnonzero(tone[max(0, first - gap):first])
            if not len(behind):
                break
            first = max(0, first - gap) + int(behind[0])
        # The last note's release fades into the noise without looking tonal: it is the music's too.
        start, end = first * frames.hop_s, min(len(tone), last + 1 + gap) * frames.hop_s
        if end - start < options.music_min_s:
            continue
        if out and start <= out[-1].end_s:
            out[-1] = Interval(out[-1].start_s, round(max(end, out[-1].end_s), 3))
        else:
            out.append(Interval(round(start, 3), round(end, 3)))
    return out


def key_cues(keys_by_channel: Sequence[Sequence[KeyPress]], frames: Sequence[ChannelFrames]) -> list[Cue]:
    """One cue per key press."""
    return _one_per_sound([Cue(k.start_s, k.end_s, "dtmf", k.key, ch)
                           for ch, keys in enumerate(keys_by_channel) for k in keys], frames)


def music_cues(music_by_channel: Sequence[Sequence[Interval]], frames: Sequence[ChannelFrames]) -> list[Cue]:
    """One cue per stretch of music."""
    return _one_per_sound([Cue(iv.start_s, iv.end_s, "music", "", ch)
                           for ch, runs in enumerate(music_by_channel) for iv in runs], frames)


def _one_per_sound(cues: list[Cue], frames: Sequence[ChannelFrames]) -> list[Cue]:
    """A sound heard on both channels (the other one's bleed) is kept once, where it is loudest."""
    out: list[Cue] = []
    for cue in sorted(cues, key=lambda c: c.start_s):
        twin = next((c for c in out if c.label == cue.label and c.channel != cue.channel
                     and c.start_s < cue.end_s and cue.start_s < c.end_s), None)
        if twin is None:
            out.append(cue)
        elif _level(frames[cue.channel], cue) > _level(frames[twin.channel], twin):
            out[out.index(twin)] = cue
    return out


def _level(frames: ChannelFrames, cue: Cue) -> float:
    a = int(cue.start_s / frames.hop_s)
    return float(np.max(frames.level_db[a:max(a + 1, int(cue.end_s / frames.hop_s))]))


def opening_end(events: Iterable[Interval | Cue], options: SignalOptions,
                customer_start_s: float | None = None, speech_start_s: float | None = None) -> float | None:
    """Where the machine part of the call ends: the end of its chain of non-speech events.

    `events`: ring bursts (Interval) and key and music cues. None when the recording
    does not open with such a chain (it starts at pick-up, or with the agent).
    - Ringback is the last of it: once the agent's phone rings, only more rings follow.
    - `customer_start_s` (stereo): the customer's first speech; an event after it
      belongs to the call (hold music, a key typed for the agent).
    - `speech_start_s` (mono): the first speech. Without a customer channel, music
      after speech is taken as queue music only after a key press (the IVR's menu
      answered); else it is the call's own hold music."""
    end, rung, keyed = None, False, False
    for ev in sorted(events, key=lambda e: e.start_s):
        kind = ev.kind if isinstance(ev, Cue) else "ring"
        if customer_start_s is not None and ev.start_s >= customer_start_s:
            break
        if ev.start_s - (end if end is not None else 0.0) > options.opening_gap_s:
            break
        if rung and kind != "ring":
            break
        if kind == "music" and speech_start_s is not None and speech_start_s < ev.start_s and not keyed:
            break
        rung, keyed = rung or kind == "ring", keyed or kind == "dtmf"
        end = ev.end_s if end is None else max(end, ev.end_s)
    return end


def split_prompts(speech: Sequence[Interval], end_s: float | None, channel: int = 0
                  ) -> tuple[list[Cue], list[Interval]]:
    """Speech that starts before `end_s` as IVR prompt cues, and the rest."""
    if end_s is None:
        return [], list(speech)
    prompts = [Cue(iv.start_s, iv.end_s, "ivr", "", channel) for iv in speech if iv.start_s < end_s]
    return prompts, [iv for iv in speech if iv.start_s >= end_s]

