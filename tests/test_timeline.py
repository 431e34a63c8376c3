import numpy as np
import pytest

from qa.records import Interval, Timeline, Utterance, Word
from qa.transcribe.audio import Audio
from qa.transcribe.guards import drop_repeated_utterances, drop_words_outside_speech
from qa.transcribe.speakers import attribute_mono
from qa.transcribe.timeline import TimelineError, build_timeline, speech_regions
from tests.signals import RATE, noise, real_clips, set_level, speech_like, telephone, telephone_band


def two_party(rng, agent_turns, customer_turns, seconds, bleed=0.05):
    """Stereo call from (start_s, duration_s) turns per party; returns samples."""
    n = int(seconds * RATE)
    chans = np.zeros((2, n))
    for ch, turns, pitch in ((0, agent_turns, 210.0), (1, customer_turns, 115.0)):
        for at, dur in turns:
            x, _ = speech_like(dur, rng, pitch_hz=pitch, pause_s=0.1)  # turns without long pauses
            i = int(at * RATE)
            chans[ch, i:i + len(x)] += x[: n - i]
    chans = chans + bleed * chans[::-1]
    return np.stack([telephone(c + noise(n, rng, -60), RATE) for c in chans]).astype(np.float32)


def test_overlap_names_who_talked_over_whom_and_silences():
    rng = np.random.default_rng(1)
    # Agent 1-5 s; customer cuts in at 3 s until 6 s; both silent 6-9 s; agent 9-11 s.
    samples = two_party(rng, [(1.0, 4.0), (9.0, 2.0)], [(3.0, 3.0)], 13.0)
    tl = build_timeline(Audio("call.wav", samples, RATE), options=None)
    assert tl.stereo and tl.ring_count == 0
    assert abs(tl.answer_onset_s - 1.0) <= 0.3
    assert len(tl.overlaps) == 1
    ov = tl.overlaps[0]
    assert (ov.interrupter, ov.interrupted) == ("customer", "agent")
    assert abs(ov.start_s - 3.0) <= 0.3 and 3.8 <= ov.end_s <= 5.1  # the agent's turn ends by 5 s
    long_silences = [iv for iv in tl.mutual_silence if iv.duration_s >= 2.0 and iv.end_s < 12.0]
    assert len(long_silences) == 1
    assert abs(long_silences[0].start_s - 6.0) <= 0.5 and abs(long_silences[0].end_s - 9.0) <= 0.3
    assert tl.mutual_silence[-1].end_s == pytest.approx(13.0, abs=0.01)  # trailing silence up to the end


def test_channel_roles_follow_the_given_order():
    rng = np.random.default_rng(2)
    samples = two_party(rng, [(1.0, 2.0)], [(4.0, 2.0)], 7.0)
    tl = build_timeline(Audio("call.wav", samples, RATE), channel_roles=("customer", "agent"))
    assert tl.speech["customer"][0].start_s < 1.3
    assert abs(tl.answer_onset_s - 4.0) <= 0.3  # the answer is the agent's first speech
    with pytest.raises(TimelineError, match="2 channels"):
        build_timeline(Audio("call.wav", samples, RATE), channel_roles=("agent", "customer", "supervisor"))


def test_speech_regions_pad_clip_and_merge():
    tl = Timeline(duration_s=10.0, speech={"agent": (Interval(0.1, 1.0), Interval(1.3, 2.0), Interval(5.0, 9.95))})
    assert speech_regions(tl, "agent", pad_s=0.2) == [Interval(0.0, 2.2), Interval(4.8, 10.0)]
    assert speech_regions(tl, "customer") == []


def test_mono_two_voices_are_told_apart():
    rng = np.random.default_rng(3)
    turns = []  # alternate agent (high voice) and customer (low voice)
    t = 0.5
    parts = []
    for k in range(6):
        who = "agent" if k % 2 == 0 else "customer"
        x, _ = speech_like(2.5, rng, pitch_hz=220.0 if who == "agent" else 110.0,
                           formant_shift=1.15 if who == "agent" else 0.9)
        parts.append((t, x))
        turns.append((who, t, t + 2.5))
        t += 3.3
    mono = np.zeros(int((t + 0.5) * RATE))
    for at, x in parts:
        mono[int(at * RATE):int(at * RATE) + len(x)] += x
    mono = telephone(mono + noise(len(mono), rng, -60), RATE)
    tl = build_timeline(Audio("mono.wav", mono[None, :], RATE), channel_roles=("mixed",))
    assert not tl.stereo and tl.overlaps == ()
    assert set(tl.speech) == {"agent", "customer", "unknown"}
    correct = wrong = 0
    for role in ("agent", "customer"):
        for iv in tl.speech[role]:
            mid = (iv.start_s + iv.end_s) / 2
            truth = next((w for w, a, b in turns if a - 0.3 <= mid <= b + 0.3), None)
            correct += iv.duration_s * (truth == role)
            wrong += iv.duration_s * (truth not in (role, None))
    total = sum(b - a for _, a, b in turns)
    assert wrong <= 0.05 * total
    assert correct >= 0.7 * total


def test_mono_real_voices_or_unknown():
    clips = real_clips()
    if len(clips) < 4:
        pytest.skip("real speech clips absent")
    meeting, news = clips[2], clips[0]  # two different people
    rng = np.random.default_rng(4)
    pieces = [("agent", meeting[:4 * RATE]), ("customer", news[: int(2.0 * RATE)]), ("agent", meeting[4 * RATE:8 * RATE]),
              ("customer", news[int(2.0 * RATE):]), ("agent", meeting[8 * RATE:])]
    t, spans, out = 0.5, [], []
    for who, x in pieces:
        spans.append((who, t, t + len(x) / RATE))
        out.append((t, set_level(telephone_band(x, RATE), -22)))
        t += len(x) / RATE + 1.0
    mono = np.zeros(int((t + 0.5) * RATE))
    for at, x in out:
        mono[int(at * RATE):int(at * RATE) + len(x)] += x
    mono = telephone(mono + noise(len(mono), rng, -58), RATE)
    found = build_timeline(Audio("m.wav", mono[None], RATE), ("mixed",)).speech
    roles = attribute_mono(mono, sorted((iv for ivs in found.values() for iv in ivs), key=lambda v: v.start_s))
    wrong = 0.0
    for role in ("agent", "customer"):
        for iv in roles[role]:
            mid = (iv.start_s + iv.end_s) / 2
            truth = next((w for w, a, b in spans if a - 0.3 <= mid <= b + 0.3), None)
            wrong += iv.duration_s * (truth not in (role, None))
    assert wrong <= 0.1 * sum(b - a for _, a, b in spans)  # "unknown" is allowed, a wrong role is not


def test_one_voice_is_not_split_into_two_parties():
    rng = np.random.default_rng(5)
    x, _ = speech_like(12.0, rng, pitch_hz=180.0)
    mono = telephone(np.concatenate([np.zeros(RATE // 2), x]) + noise(len(x) + RATE // 2, rng, -60), RATE)
    tl = build_timeline(Audio("mono.wav", mono[None], RATE), ("mixed",))
    assert tl.speech["agent"]
    assert sum(iv.duration_s for iv in tl.speech["customer"]) <= 0.1 * sum(
        iv.duration_s for ivs in tl.speech.values() for iv in ivs)


def test_drop_words_outside_speech():
    speech = [Interval(1.0, 3.0), Interval(6.0, 7.0)]
    words = [Word("您好", 1.1, 1.5), Word("谢谢", 2.8, 3.4), Word("嗯", 4.5, 4.8), Word("再见", 5.6, 6.1)]
    kept = drop_words_outside_speech(words, speech, tolerance_s=0.3)
    assert [w.text for w in kept] == ["您好", "谢谢", "再见"]
    assert drop_words_outside_speech(words, [], 0.3) == []


def test_drop_repeated_utterance_over_noise_keeps_real_repeats():
    tl = Timeline(duration_s=30.0, speech={"agent": (Interval(1.0, 4.0), Interval(10.0, 11.0)), "customer": ()})
    utts = [
        Utterance("agent", 0, 1.0, 4.0, "感谢您的来电，再见"),
        Utterance("agent", 0, 10.0, 11.0, "喂？"),
        Utterance("agent", 0, 10.2, 10.9, "喂?"),  # a real repeat, spoken
        Utterance("agent", 0, 20.0, 24.0, "感謝您的來電,再見"),  # echo over trailing noise
        Utterance("customer", 1, 25.0, 27.0, "好的"),  # unsupported but not a repeat: other guards judge it
    ]
    kept = drop_repeated_utterances(utts, tl)
    assert [u.start_s for u in kept] == [1.0, 10.0, 10.2, 25.0]
