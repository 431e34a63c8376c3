import numpy as np
import pytest

from qa.records import Word
from qa.transcribe.activity import SignalOptions, detect_activity
from qa.transcribe.crosstalk import ChannelLevel, gate_words
from tests.signals import (
    RATE,
    db_to_amp,
    hold_music,
    mu_law,
    noise,
    real_clips,
    ringback,
    set_level,
    speech_like,
    telephone,
    telephone_band,
)


def frame_scores(detected, spans, n_s, bridge_s=0.3):
    """Frame precision and recall against syllable spans (pauses < bridge_s count as speech)."""
    merged = []
    for a, b in sorted(spans):
        if merged and a - merged[-1][1] < bridge_s:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    t = np.zeros(int(n_s * 100) + 1, bool)
    d = np.zeros_like(t)
    for a, b in merged:
        t[int(a * 100):int(b * 100)] = True
    for iv in detected:
        d[int(iv.start_s * 100):int(iv.end_s * 100)] = True
    tp = (t & d).sum()
    return tp / max(1, d.sum()), tp / max(1, t.sum())


def speech_in_noise(rng, snr_db, seconds=6.0, lead_s=1.0, pitch=180.0):
    x, spans = speech_like(seconds, rng, pitch_hz=pitch)
    x = set_level(telephone_band(x, RATE), -20)
    total = np.concatenate([np.zeros(int(lead_s * RATE)), x, np.zeros(RATE)])
    total = mu_law(total + noise(len(total), rng, -20 - snr_db))
    return total, [(a + lead_s, b + lead_s) for a, b in spans]


@pytest.mark.parametrize("snr,min_recall", [(10, 0.4), (20, 0.85), (30, 0.9), (40, 0.9)])
def test_speech_found_at_several_snrs(snr, min_recall):
    # At 10 dB SNR many syllable edges sit in the noise: the bar is lower there.
    for seed in range(3):
        rng = np.random.default_rng(snr * 10 + seed)
        x, spans = speech_in_noise(rng, snr, pitch=(120.0, 180.0, 240.0)[seed])
        precision, recall = frame_scores(detect_activity(x, RATE), spans, len(x) / RATE)
        assert precision >= 0.85
        assert recall >= min_recall


@pytest.mark.parametrize("level", [-70, -50, -35])
def test_line_noise_alone_is_not_speech(level):
    rng = np.random.default_rng(-level)
    x = mu_law(noise(8 * RATE, rng, level))
    assert detect_activity(x, RATE) == []


def test_digital_silence_is_not_speech():
    assert detect_activity(np.zeros(5 * RATE, np.float32), RATE) == []
    # Digital silence around speech: speech found, the silence not.
    rng = np.random.default_rng(1)
    x, spans = speech_like(3.0, rng)
    x = np.concatenate([np.zeros(2 * RATE), telephone(x, RATE), np.zeros(2 * RATE)])
    found = detect_activity(x, RATE)
    assert found and found[0].start_s >= 1.9 and found[-1].end_s <= 5.1


def test_a_step_in_line_noise_is_not_speech():
    rng = np.random.default_rng(2)
    x = np.concatenate([noise(6 * RATE, rng, -60), noise(8 * RATE, rng, -45)])
    assert detect_activity(mu_law(x), RATE) == []


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_line_noise_wandering_up_over_seconds_is_not_speech(seed):
    # An analogue loop's hiss can rise by 10 dB over ten seconds: slower than any syllable.
    rng = np.random.default_rng(seed)
    n = 24 * RATE
    gain = np.interp(np.arange(n), [0, 8 * RATE, 18 * RATE, n], db_to_amp(np.array([-59.0, -59.0, -48.0, -50.0])))
    hiss = rng.standard_normal(n) * gain
    assert detect_activity(mu_law(telephone_band(hiss, RATE)), RATE) == []


def test_line_noise_between_the_other_partys_words_is_not_speech():
    # A silent caller's channel: the agent's bleed, and hiss a few dB above the
    # floor in the agent's pauses. Neither is the caller speaking.
    rng = np.random.default_rng(6)
    voice, _ = speech_like(4.0, rng, pitch_hz=200)
    n = 10 * RATE
    agent = np.zeros(n)
    agent[2 * RATE:2 * RATE + len(voice)] = voice
    hiss = noise(n, rng, -52)
    hiss[: 7 * RATE] *= db_to_amp(5)  # louder while the agent talks, then back to the floor
    a_ch = telephone(agent + noise(n, rng, -65), RATE)
    c_ch = telephone(db_to_amp(-25) * agent + hiss, RATE)
    assert detect_activity(c_ch, RATE, other=a_ch) == []


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_agent_speech_starts_at_its_syllables_not_in_the_hiss_before_it(seed):
    # While the customer talks, the agent's channel carries her bleed and hiss that
    # has climbed 12 dB above the quiet part of the call, faster than the noise
    # floor follows; the agent answers at 8 s. That hiss is not the agent's speech.
    rng = np.random.default_rng(seed)
    customer_voice, _ = speech_like(4.0, rng, pitch_hz=120)
    agent_voice, spans = speech_like(3.0, rng, pitch_hz=200)
    n = 13 * RATE
    customer, agent = np.zeros(n), np.zeros(n)
    customer[3 * RATE:3 * RATE + len(customer_voice)] = set_level(customer_voice, -20)
    agent[8 * RATE:8 * RATE + len(agent_voice)] = set_level(agent_voice, -20)
    gain = np.interp(np.arange(n), [0, 2 * RATE, 5 * RATE, n], db_to_amp(np.array([-64.0, -64.0, -52.0, -52.0])))
    a_ch = telephone(agent + db_to_amp(-25) * customer + rng.standard_normal(n) * gain, RATE)
    c_ch = telephone(customer + db_to_amp(-25) * agent + noise(n, rng, -62), RATE)
    found = detect_activity(a_ch, RATE, other=c_ch)
    assert found and abs(found[0].start_s - (8.0 + spans[0][0])) <= 0.3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_pause_filled_with_hiss_above_a_quieter_floor_still_splits_the_speech(seed):
    # The line is quiet before the answer; after it the hiss sits 8 dB higher,
    # never under the floor + hold the speech runs on. The 2.5 s pause between
    # the agent's two lines (a silent line's second greeting and closing), close
    # enough to the quiet part that the floor stays low, is still a pause: the silent-line rule measures it.
    rng = np.random.default_rng(seed)
    first, spans1 = speech_like(2.0, rng, pitch_hz=200)
    second, spans2 = speech_like(3.0, rng, pitch_hz=200)
    n = 14 * RATE
    voice = np.zeros(n)
    voice[int(3.2 * RATE):int(3.2 * RATE) + len(first)] = set_level(first, -20)
    voice[int(7.7 * RATE):int(7.7 * RATE) + len(second)] = set_level(second, -20)
    gain = np.where(np.arange(n) < 3 * RATE, db_to_amp(-66.0), db_to_amp(-58.0))
    found = detect_activity(telephone(voice + rng.standard_normal(n) * gain, RATE), RATE)
    end_first, start_second = 3.2 + spans1[-1][1], 7.7 + spans2[0][0]
    gaps = [b.start_s - a.end_s for a, b in zip(found, found[1:])
            if a.end_s <= start_second and b.start_s >= end_first - 0.3]
    assert gaps and max(gaps) >= (start_second - end_first) - 0.4


@pytest.mark.parametrize("standard", [((450.0,), 1.0, 4.0), ((440.0, 480.0), 2.0, 4.0)])
def test_ringback_alone_is_not_speech(standard):
    rng = np.random.default_rng(3)
    x, _ = ringback(*standard, rings=4, rng=rng, drift_hz=8.0)
    x = telephone(x + noise(len(x), rng, -50), RATE)
    assert detect_activity(x, RATE) == []


@pytest.mark.parametrize("use_silero", [True, False])
def test_hold_music_is_not_speech(use_silero):
    rng = np.random.default_rng(4)
    music = hold_music(12.0, rng)
    x = telephone(music + noise(len(music), rng, -55), RATE)
    assert detect_activity(x, RATE, SignalOptions(use_silero=use_silero)) == []


def test_speech_before_and_after_hold_music():
    rng = np.random.default_rng(5)
    a, spans_a = speech_like(3.0, rng)
    b, spans_b = speech_like(3.0, rng)
    music = hold_music(10.0, rng)
    x = telephone(np.concatenate([a, music, b]), RATE)
    x = x + noise(len(x), rng, -55)
    found = detect_activity(x, RATE)
    assert found
    inside = [iv for iv in found if iv.start_s > 3.3 and iv.end_s < 12.7]
    assert inside == []
    assert found[0].start_s < spans_a[0][0] + 0.3
    assert found[-1].end_s > 13.0 + spans_b[-1][1] - 0.3


def test_clipped_speech_is_still_speech():
    rng = np.random.default_rng(6)
    x, spans = speech_like(5.0, rng, level_dbfs=-3)
    x = np.clip(x * 4, -1, 1)  # hard clipping, about 12 dB over full scale
    x = np.concatenate([np.zeros(RATE), telephone(x, RATE), np.zeros(RATE)]) + noise(7 * RATE, rng, -50)
    precision, recall = frame_scores(detect_activity(x, RATE), [(a + 1, b + 1) for a, b in spans], 7.0)
    assert precision >= 0.85 and recall >= 0.85


def test_real_speech_through_the_telephone_path():
    clips = real_clips()
    if not clips:
        pytest.skip("real speech clips absent")
    rng = np.random.default_rng(7)
    for clip in clips:
        clean = telephone_band(clip, RATE)
        # Truth from the clean clip: 50 ms frames within 30 dB of its loudest.
        hop = RATE // 20
        levels = np.array([np.sqrt(np.mean(clean[i:i + hop] ** 2) + 1e-12) for i in range(0, len(clean) - hop, hop)])
        loud = 20 * np.log10(levels) > 20 * np.log10(levels.max()) - 30
        spans = [(1.0 + i * 0.05, 1.0 + (i + 1) * 0.05) for i in np.flatnonzero(loud)]
        x = np.concatenate([np.zeros(RATE), set_level(clean, -26), np.zeros(RATE)])
        x = mu_law(x + noise(len(x), rng, -55))
        found = detect_activity(x, RATE)
        _, recall = frame_scores(found, spans, len(x) / RATE)
        assert recall >= 0.9
        # The clip's own room tone may pass as speech; the line before and after may not.
        assert found[0].start_s >= 0.95 and found[-1].end_s <= 1.0 + len(clip) / RATE + 0.1


def test_activity_excludes_the_other_partys_bleed():
    rng = np.random.default_rng(8)
    agent_voice, agent_spans = speech_like(4.0, rng, pitch_hz=200)
    cust_voice, cust_spans = speech_like(4.0, rng, pitch_hz=120)
    n = 10 * RATE
    agent = np.zeros(n)
    customer = np.zeros(n)
    agent[RATE:RATE + len(agent_voice)] = agent_voice
    customer[6 * RATE:6 * RATE + len(cust_voice)] = cust_voice
    bleed = db_to_amp(-25)
    a_ch = telephone(agent + bleed * customer + noise(n, rng, -65), RATE)
    c_ch = telephone(customer + bleed * agent + noise(n, rng, -65), RATE)
    alone = detect_activity(a_ch, RATE)
    assert any(iv.start_s > 5.9 for iv in alone)  # without the other channel, bleed looks like speech
    gated = detect_activity(a_ch, RATE, other=c_ch)
    assert gated and all(iv.end_s < 5.5 for iv in gated)
    gated_c = detect_activity(c_ch, RATE, other=a_ch)
    assert gated_c and all(iv.start_s > 5.5 for iv in gated_c)


def test_gate_words_keeps_own_words_and_drops_bleed():
    rng = np.random.default_rng(9)
    voice, _ = speech_like(2.0, rng)
    other_voice, _ = speech_like(2.0, rng, pitch_hz=120)
    n = 6 * RATE
    own = np.zeros(n)
    other = np.zeros(n)
    own[0:len(voice)] = voice  # 0-2 s own speech
    other[3 * RATE:3 * RATE + len(other_voice)] = other_voice  # 3-5 s the other party
    own_ch = own + db_to_amp(-25) * other + noise(n, rng, -70)
    other_ch = other + db_to_amp(-25) * own + noise(n, rng, -70)
    # Both talk at once at 1.0-1.5 s: the word on each channel is that party's own.
    other_ch[RATE:int(1.5 * RATE)] += telephone(other_voice[:RATE // 2], RATE)
    words = [Word("您好", 0.2, 0.6), Word("请讲", 1.0, 1.5), Word("喂", 3.2, 3.6), Word("对", 4.0, 4.4)]
    kept = gate_words(words, own_ch, other_ch, RATE)
    assert [w.text for w in kept] == ["您好", "请讲"]
    # Seen from the other channel: its own voice at 1.0-1.5 s and 3-5 s; 0.2-0.6 s is bleed.
    kept_other = gate_words(words, ChannelLevel(other_ch, RATE), ChannelLevel(own_ch, RATE), RATE)
    assert [w.text for w in kept_other] == ["请讲", "喂", "对"]
    # With no coupling known, the plain rule (own louder by gate_db) drops the double talk.
    plain = gate_words(words, own_ch, other_ch, RATE, coupling=0.0)
    assert [w.text for w in plain] == ["您好"]


def test_bad_rates_and_tiny_inputs():
    assert detect_activity(np.zeros(10, np.float32), RATE) == []
    rng = np.random.default_rng(10)
    x, _ = speech_like(3.0, rng)
    from qa.transcribe.audio import resample

    x16 = resample(telephone(x, RATE), RATE, 16000)
    assert detect_activity(x16, 16000)  # wideband input is analysed at 8 kHz


def test_frames_taken_a_chunk_at_a_time_are_the_frames_of_the_whole_signal():
    """Long calls are analysed in bounded chunks; every level and tone decision stays the same."""
    from qa.transcribe.activity import SignalOptions, channel_frames

    rng = np.random.default_rng(3)
    t = np.arange(8000 * 40) / 8000
    x = (0.05 * rng.standard_normal(len(t)) + 0.3 * np.sin(2 * np.pi * 450 * t) * ((t % 5) < 1)).astype(np.float32)
    whole = channel_frames(x, SignalOptions(), chunk_frames=10**9)
    assert whole.tone_like.any() and not whole.tone_like.all()
    for chunk in (1, 7, 333):
        part = channel_frames(x, SignalOptions(), chunk_frames=chunk)
        assert np.array_equal(part.level_db, whole.level_db) and np.array_equal(part.tone_like, whole.tone_like)
