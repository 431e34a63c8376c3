"""Trunk-side openings: DTMF keys, queue music, IVR prompts before the agent, and the answer after them."""

import numpy as np
import pytest

from qa.records import Cue, Interval
from qa.samplegen import telephone as tel
from qa.samplegen.generated import trunk_specs
from qa.samplegen.scenario import Ring, Trunk, assemble
from qa.scoring.store import timeline_from_json, timeline_to_json
from qa.transcribe.activity import SignalOptions, channel_frames
from qa.transcribe.audio import Audio
from qa.transcribe.dtmf import KEYS, key_presses
from qa.transcribe.opening import music_runs, opening_end, split_prompts
from qa.transcribe.timeline import build_timeline
from tests.signals import RATE, hold_music, make_call, mu_law, noise, place, speech_like, telephone_band

ALL_KEYS = "".join(KEYS)


def _line(x: np.ndarray, rng, snr_db: float = 30.0, level_dbfs: float = -20.0) -> np.ndarray:
    return mu_law(telephone_band(x, RATE) + noise(len(x), rng, level_dbfs - snr_db))


@pytest.mark.parametrize("snr_db", [12.0, 35.0])
def test_every_key_is_read_through_the_phone_line(snr_db):
    rng = np.random.default_rng(int(snr_db))
    x = np.zeros(RATE * 10)
    for i, key in enumerate(ALL_KEYS):
        place(x, tel.dtmf_tone(key, 0.05, level_db=-20.0), 0.3 + 0.5 * i)
    presses = key_presses(_line(x, rng, snr_db), RATE)
    assert "".join(p.key for p in presses) == ALL_KEYS
    assert all(abs(p.start_s - (0.3 + 0.5 * i)) < 0.05 for i, p in enumerate(presses))


def test_speech_music_and_rings_press_no_key():
    rng = np.random.default_rng(5)
    for pitch in (110.0, 150.0, 200.0, 240.0):
        speech, _ = speech_like(20.0, rng, RATE, pitch_hz=pitch)
        assert key_presses(_line(speech, rng), RATE) == []
    assert key_presses(_line(tel.queue_music(10.0, rng), rng), RATE) == []
    assert key_presses(_line(hold_music(10.0, rng), rng), RATE) == []


def test_queue_music_is_music_and_speech_is_not():
    rng = np.random.default_rng(8)
    x = np.zeros(RATE * 16)
    place(x, tel.queue_music(8.0, rng), 1.0)
    speech, _ = speech_like(5.0, rng, RATE)
    place(x, speech, 10.0)
    runs = music_runs(channel_frames(_line(x, rng), SignalOptions()), SignalOptions())
    assert len(runs) == 1
    assert abs(runs[0].start_s - 1.0) < 0.2 and abs(runs[0].end_s - 9.0) < 0.3


def test_the_opening_chain_stops_at_a_long_gap_and_at_the_customer():
    options = SignalOptions(opening_gap_s=10.0)
    events = [Interval(5.0, 5.1), Interval(8.0, 20.0), Interval(45.0, 60.0)]  # key, music, later hold music
    assert opening_end(events, options) == 20.0
    assert opening_end(events, options, customer_start_s=7.0) == 5.1
    assert opening_end([Interval(30.0, 40.0)], options) is None  # not near the start: the call's own
    assert opening_end([], options) is None
    prompts, rest = split_prompts([Interval(0.5, 4.0), Interval(21.0, 23.0)], 20.0)
    assert prompts == [Cue(0.5, 4.0, "ivr")] and rest == [Interval(21.0, 23.0)]


@pytest.mark.parametrize("seed", range(6))
def test_trunk_opening_answer_rings_and_prompts(seed):
    rng = np.random.default_rng(seed)
    rings = seed % 3
    samples, truth = make_call(rng, rings=rings, trunk=True, snr_db=float(rng.uniform(12, 35)))
    tl = build_timeline(Audio("trunk.wav", samples, RATE))
    assert abs(tl.answer_onset_s - truth["answer_s"]) < 0.3
    assert tl.ring_count == rings
    opening = truth["opening"]
    keys = [c for c in tl.cues if c.kind == "dtmf"]
    assert len(keys) == 1 and abs(keys[0].start_s - opening["keys"][0][0]) < 0.05 and keys[0].channel == 1
    prompts = [c for c in tl.cues if c.kind == "ivr"]
    assert prompts and all(c.end_s <= opening["music"][0][1] for c in prompts)
    for a, b in opening["prompts"]:  # each prompt is heard, as the IVR's
        assert any(c.start_s < b and a < c.end_s for c in prompts)
    # The prompts are no one's speech: the agent's starts at the answer.
    assert tl.speech["agent"][0].start_s == tl.answer_onset_s
    assert not tl.mutual_silence or tl.mutual_silence[0].start_s >= tl.answer_onset_s


@pytest.mark.parametrize("seed", [1, 6])
def test_trunk_opening_on_mono(seed):
    rng = np.random.default_rng(seed)
    samples, truth = make_call(rng, rings=seed % 4, trunk=True)
    tl = build_timeline(Audio("mono.wav", samples.mean(axis=0, keepdims=True), RATE), ("mixed",))
    assert abs(tl.answer_onset_s - truth["answer_s"]) < 0.3 and tl.ring_count == seed % 4
    assert all(iv.start_s >= tl.answer_onset_s for ivs in tl.speech.values() for iv in ivs)


def test_hold_music_early_in_a_mono_call_is_not_its_opening():
    """Rings, the greeting and a reply, then music within opening_gap_s: the call's hold, not a queue."""
    rng = np.random.default_rng(2)
    samples, truth = make_call(rng, rings=2, turns=3)
    x = np.concatenate([samples.mean(axis=0), np.zeros(RATE * 10, np.float32)])
    place(x, telephone_band(tel.queue_music(8.0, rng), RATE), len(samples[0]) / RATE + 0.5)
    assert len(x) / RATE - truth["answer_s"] < SignalOptions().opening_gap_s + 10
    tl = build_timeline(Audio("mono.wav", x[None], RATE), ("mixed",))
    assert abs(tl.answer_onset_s - truth["answer_s"]) < 0.3 and tl.ring_count == 2
    assert not [c for c in tl.cues if c.kind == "ivr"]
    assert [c.kind for c in tl.cues] == ["music"]


def test_music_after_the_rings_is_the_calls_own():
    options = SignalOptions()
    rings = [Interval(0.5, 1.5), Interval(5.5, 6.5)]
    assert opening_end(rings + [Cue(9.0, 20.0, "music")], options) == 6.5
    # Mono: music after the first speech opens the call only once the IVR's menu was answered.
    assert opening_end([Cue(9.0, 20.0, "music")], options, speech_start_s=1.0) is None
    assert opening_end([Cue(6.0, 6.1, "dtmf", "1"), Cue(9.0, 20.0, "music")], options, speech_start_s=1.0) == 20.0


def test_without_the_opening_chain_the_first_prompt_would_be_the_answer():
    rng = np.random.default_rng(3)
    samples, truth = make_call(rng, rings=2, trunk=True)
    tl = build_timeline(Audio("trunk.wav", samples, RATE), options=SignalOptions(opening_gap_s=0.0))
    assert tl.answer_onset_s < truth["opening"]["prompts"][1][1]
    assert tl.ring_count == 0  # the rings came after that "answer"


def test_a_clean_call_has_no_prompts_and_keeps_its_answer():
    rng = np.random.default_rng(11)
    samples, truth = make_call(rng, rings=3)
    tl = build_timeline(Audio("clean.wav", samples, RATE))
    assert not [c for c in tl.cues if c.kind == "ivr"]
    assert abs(tl.answer_onset_s - truth["answer_s"]) < 0.3 and tl.ring_count == 3


def test_cues_are_stored_with_the_timeline():
    rng = np.random.default_rng(4)
    samples, _ = make_call(rng, rings=1, trunk=True)
    tl = build_timeline(Audio("trunk.wav", samples, RATE))
    assert tl.cues and timeline_from_json(timeline_to_json(tl)) == tl


class _ToneTTS:
    """A stand-in voice: a steady vowel-like buzz as long as the text."""

    def synthesize(self, text: str, voice: str, speed: float = 1.0) -> np.ndarray:
        t = np.arange(int(24000 * 0.12 * len(text))) / 24000
        return (0.3 * np.sign(np.sin(2 * np.pi * 180 * t))).astype(np.float32)


def test_trunk_set_opens_with_the_ivr_and_labels_it():
    specs = trunk_specs(12, seed=5)
    assert specs == trunk_specs(12, seed=5)
    assert all(isinstance(s.events[0], Trunk) for s in specs)
    without_rings = [s for s in specs if not any(isinstance(e, Ring) for e in s.events)]
    assert all(s.expected["answer.rings"] == "na" for s in without_rings)
    labels = assemble(specs[0], _ToneTTS(), seed=5).labels
    opening = labels["opening"]
    assert [len(opening[k]) for k in ("ivr", "dtmf", "music")] == [2, 1, 1]
    assert opening["dtmf"][0]["key"] in ALL_KEYS
    # The IVR is not the agent: the answer is the agent's first line, after the music.
    assert labels["answer_onset_s"] > opening["music"][0]["end_s"]
    assert all(line["role"] in ("agent", "customer") for line in labels["script"])
