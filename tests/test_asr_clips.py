"""Planning the clips Whisper decodes: padded, merged, never cut mid-sentence."""

from __future__ import annotations

import numpy as np

from qa.records import Interval
from qa.transcribe.asr import ASR_RATE, MAX_CLIP_S, plan_clips


def test_close_regions_merge_and_far_ones_stay_apart():
    signal = np.zeros(ASR_RATE * 60, np.float32)
    clips = plan_clips([Interval(1.0, 3.0), Interval(3.3, 5.0), Interval(20.0, 22.0)], signal)
    assert len(clips) == 2
    assert clips[0].start_s < 1.0 and clips[0].end_s > 5.0
    assert clips[1].start_s < 20.0 and clips[1].end_s > 22.0


def test_padding_stays_inside_the_signal():
    signal = np.zeros(ASR_RATE * 4, np.float32)
    clips = plan_clips([Interval(0.0, 4.0)], signal)
    assert clips == [Interval(0.0, 4.0)]


def test_long_region_is_split_at_its_quietest_point():
    rng = np.random.default_rng(3)
    seconds = 70.0
    signal = rng.normal(0, 0.2, int(seconds * ASR_RATE)).astype(np.float32)
    for pause in (23.0, 47.0):  # the talker breathes here
        signal[int(pause * ASR_RATE): int((pause + 0.3) * ASR_RATE)] = 0.0
    clips = plan_clips([Interval(0.0, seconds)], signal)
    assert all(c.duration_s <= MAX_CLIP_S for c in clips)
    cuts = [c.end_s for c in clips[:-1]]
    assert len(cuts) == 2
    for cut, pause in zip(cuts, (23.0, 47.0)):
        assert pause <= cut <= pause + 0.3
    assert clips[0].start_s == 0.0 and clips[-1].end_s == seconds
    assert all(a.end_s == b.start_s for a, b in zip(clips, clips[1:])), "no audio is lost between clips"


def test_regions_never_merge_past_the_window():
    signal = np.zeros(ASR_RATE * 120, np.float32)
    regions = [Interval(t, t + 4.5) for t in np.arange(0.0, 100.0, 5.0)]
    clips = plan_clips(regions, signal)
    assert all(c.duration_s <= MAX_CLIP_S for c in clips)
    for r in regions:  # every region lies whole inside one clip
        assert any(c.start_s <= r.start_s and r.end_s <= c.end_s for c in clips)


def test_compacted_regions_map_back_to_call_time():
    from qa.transcribe.asr import compact

    signal = np.ones(ASR_RATE * 30, np.float32)
    packed = compact(signal, [Interval(2.0, 4.0), Interval(10.0, 11.0), Interval(25.0, 27.5)], pad_s=0.0)
    assert len(packed.signal) == int((2.0 + 1.0 + 2.5 + 3 * 0.3) * ASR_RATE)
    assert [round(r.start_s, 3) for r in packed.regions] == [0.0, 2.3, 3.6]
    assert packed.to_call_time(0.5) == 2.5
    assert packed.to_call_time(2.8) == 10.5
    assert packed.to_call_time(3.6 + 2.4) == 27.4
    assert packed.to_call_time(2.1) == 4.0  # inside a joining gap: the end of the region before it
