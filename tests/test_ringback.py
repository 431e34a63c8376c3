from pathlib import Path

import numpy as np
import pytest

from qa.transcribe.activity import SignalOptions
from qa.transcribe.audio import Audio, load_audio
from qa.transcribe.ringback import (
    CHINA,
    NORTH_AMERICA,
    RingbackError,
    RingbackSpec,
    count_rings,
    resolve_specs,
    rings_from_seconds,
    tone_bursts,
)
from qa.transcribe.timeline import build_timeline
from tests.signals import RATE, make_call, noise, ringback, speech_like, telephone, tone_burst

STANDARDS = {"cn": ((450.0,), 1.0, 4.0), "na": ((440.0, 480.0), 2.0, 4.0)}


@pytest.mark.parametrize("standard", ["cn", "na"])
@pytest.mark.parametrize("rings,drift,jitter,snr", [
    (0, 0.0, 0.0, 40), (1, 10.0, 0.1, 30), (2, -10.0, 0.15, 20), (3, 7.0, 0.1, 10), (5, -6.0, 0.2, 15),
    (8, 10.0, 0.1, 25),
])
def test_ring_count_and_answer_onset(standard, rings, drift, jitter, snr):
    freqs, on, off = STANDARDS[standard]
    rng = np.random.default_rng(rings * 100 + int(snr))
    samples, truth = make_call(rng, freqs, on, off, rings=rings, snr_db=snr, drift_hz=drift, jitter=jitter, turns=2)
    tl = build_timeline(Audio("call.wav", samples, RATE))
    assert tl.ring_count == rings
    assert tl.ring_source == ("detected" if rings else "none")
    assert abs(tl.answer_onset_s - truth["answer_s"]) <= 0.3
    for ring in tl.rings:  # rings end before the answer and no speech sits inside one
        assert ring.end_s <= tl.answer_onset_s
        for ivs in tl.speech.values():
            assert all(iv.end_s <= ring.start_s or iv.start_s >= ring.end_s for iv in ivs)


def test_preset_is_told_apart_by_cadence():
    rng = np.random.default_rng(7)
    for spec, other in ((CHINA, NORTH_AMERICA), (NORTH_AMERICA, CHINA)):
        x, _ = ringback(spec.freqs_hz, spec.on_s, spec.off_s, 4, rng, drift_hz=10.0)
        x = telephone(x + noise(len(x), rng, -45), RATE)
        assert len(count_rings(tone_bursts(x, RATE, spec), spec)) == 4
        assert count_rings(tone_bursts(x, RATE, other), other) == ()


def test_custom_spec_counts_a_425_hz_ring():
    spec = RingbackSpec("eu", (425.0,), on_s=1.5, off_s=3.5)
    rng = np.random.default_rng(3)
    x, bursts = ringback(spec.freqs_hz, 1.5, 3.5, 3, rng, jitter=0.1)
    x = telephone(x + noise(len(x), rng, -50), RATE)
    rings = count_rings(tone_bursts(x, RATE, spec), spec)
    assert len(rings) == 3
    assert all(abs(r.start_s - b[0]) < 0.15 for r, b in zip(rings, bursts))


def test_tones_after_the_answer_never_count():
    rng = np.random.default_rng(11)
    samples, truth = make_call(rng, rings=2, snr_db=30, turns=2)
    # A transfer-like burst series with the ring cadence, after the parties spoke.
    tail, _ = ringback((450.0,), 1.0, 4.0, 3, rng, lead_s=0.2)
    samples = np.concatenate([samples, np.stack([np.zeros_like(tail), telephone(tail, RATE)])], axis=1)
    tl = build_timeline(Audio("call.wav", samples, RATE))
    assert tl.ring_count == 2
    assert all(r.end_s <= truth["answer_s"] for r in tl.rings)
    tail_start = samples.shape[1] / RATE - len(tail) / RATE
    assert not [iv for ivs in tl.speech.values() for iv in ivs if iv.end_s > tail_start + 0.3]


def test_ring_cut_short_by_the_answer_counts_once_heard():
    rng = np.random.default_rng(5)
    x, bursts = ringback((450.0,), 1.0, 4.0, 3, rng)
    cut = int((bursts[-1][0] + 0.6) * RATE)  # the third ring heard for 0.6 s, then the agent speaks
    speech, _ = speech_like(2.0, rng)
    agent = np.concatenate([np.zeros(cut), speech])
    customer = np.concatenate([x[:cut], np.zeros(len(speech))])
    n = len(agent)
    chans = [telephone(c + noise(n, rng, -60), RATE) for c in (agent, customer)]
    tl = build_timeline(Audio("call.wav", np.stack(chans), RATE))
    assert tl.ring_count == 3
    assert abs(tl.answer_onset_s - cut / RATE) <= 0.3


def test_metadata_ring_seconds_override_detection():
    rng = np.random.default_rng(2)
    samples, _ = make_call(rng, rings=2, snr_db=30, turns=2)
    tl = build_timeline(Audio("call.wav", samples, RATE), ring_seconds=12.0)
    assert (tl.ring_count, tl.ring_source) == (3, "metadata")
    assert len(tl.rings) == 2  # the detected rings stay as evidence


@pytest.mark.parametrize("seconds,spec,expected", [
    (0.0, CHINA, 0), (0.2, CHINA, 0), (0.3, CHINA, 1), (5.0, CHINA, 1), (5.3, CHINA, 2), (10.2, CHINA, 2),
    (10.3, CHINA, 3), (12.0, CHINA, 3), (14.9, CHINA, 3), (15.5, CHINA, 4), (6.0, NORTH_AMERICA, 1),
    (6.5, NORTH_AMERICA, 2), (17.9, NORTH_AMERICA, 3), (18.4, NORTH_AMERICA, 4), (float("nan"), CHINA, 0),
])
def test_rings_from_seconds_rule(seconds, spec, expected):
    assert rings_from_seconds(seconds, spec) == expected


def test_specs_are_validated():
    with pytest.raises(RingbackError, match="outside"):
        RingbackSpec("bad", (50.0,), 1.0, 4.0)
    with pytest.raises(RingbackError, match="cadence"):
        RingbackSpec("bad", (450.0,), 0.0, 4.0)
    with pytest.raises(RingbackError, match="unknown ringback preset"):
        resolve_specs("uk")
    assert resolve_specs("auto") == (CHINA, NORTH_AMERICA)
    assert resolve_specs(None) == ()


def test_ringback_disabled_reports_no_rings():
    rng = np.random.default_rng(4)
    samples, _ = make_call(rng, rings=2, snr_db=30, turns=2)
    tl = build_timeline(Audio("call.wav", samples, RATE), options=SignalOptions(ringback=None))
    assert (tl.ring_count, tl.ring_source, tl.rings) == (0, "none", ())


def test_a_single_long_tone_is_not_a_ring():
    rng = np.random.default_rng(8)
    x = np.concatenate([np.zeros(RATE), tone_burst((450.0,), 6.0), np.zeros(RATE)])
    x = telephone(x + noise(len(x), rng, -50), RATE)
    assert count_rings(tone_bursts(x, RATE, CHINA), CHINA) == ()


def test_a_voice_near_440_480_hz_is_no_north_american_ring():
    """A sung or drawn-out vowel whose harmonic wanders over 440-480 Hz fills the
    gap between the two tones; a real dual tone leaves a dip there."""
    rate = 8000
    t = np.arange(int(2.4 * rate)) / rate
    f0 = 230 + 8 * np.sin(2 * np.pi * 5 * t)  # vibrato around 230 Hz: 2nd harmonic near 460
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = sum(0.2 / k * np.sin(k * phase) for k in range(1, 8))
    x = np.concatenate([np.zeros(rate), voice, np.zeros(rate)]).astype(np.float32)
    x += np.random.default_rng(4).normal(0, 1e-3, len(x)).astype(np.float32)
    assert tone_bursts(x, rate, NORTH_AMERICA) == []
    ring = np.zeros(4 * rate, np.float32)
    tt = np.arange(2 * rate) / rate
    ring[rate:3 * rate] = 0.1 * (np.sin(2 * np.pi * 440 * tt) + np.sin(2 * np.pi * 480 * tt))
    assert len(tone_bursts(ring, rate, NORTH_AMERICA)) == 1


def test_real_read_speech_has_no_rings():
    clip = Path(__file__).resolve().parents[2] / "shared" / "real_speech" / "BAC009S0764W0121.wav"
    if not clip.exists():
        pytest.skip("../shared/real_speech is not beside the repository")
    audio = load_audio(clip)
    timeline = build_timeline(audio, ("mixed",))
    assert timeline.ring_count == 0 and timeline.rings == ()
    spoken = sum(iv.duration_s for ivs in timeline.speech.values() for iv in ivs)
    assert spoken > 0.8 * audio.duration_s


def test_tone_presence_taken_a_chunk_at_a_time_is_that_of_the_whole_signal():
    from qa.transcribe.ringback import CHINA, NORTH_AMERICA, tone_presence

    rng = np.random.default_rng(5)
    t = np.arange(8000 * 30) / 8000
    ring = 0.3 * np.sin(2 * np.pi * 450 * t) * ((t % 5) < 1)
    x = (ring + 0.02 * rng.standard_normal(len(t))).astype(np.float32)
    whole = tone_presence(x, 8000, (CHINA, NORTH_AMERICA), chunk_frames=10**9)
    assert whole[0].any() and not whole[1].any()
    for chunk in (1, 50, 999):
        parts = tone_presence(x, 8000, (CHINA, NORTH_AMERICA), chunk_frames=chunk)
        assert all(np.array_equal(a, b) for a, b in zip(parts, whole))
