"""Deterministic test signals: ringback, speech-like sounds, hold music, the telephone path.

Everything is built from a seed with numpy/scipy; real clips from
../shared/real_speech/ are used when present (callers skip when absent).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, lfilter, sosfilt

from qa.transcribe.audio import resample

RATE = 8000
REAL_SPEECH = Path(__file__).resolve().parents[1].parent / "shared" / "real_speech"


def db_to_amp(db: float) -> float:
    return 10 ** (db / 20)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-30))


def set_level(x: np.ndarray, dbfs: float) -> np.ndarray:
    """Scale to an RMS level (over the non-silent part) in dBFS."""
    active = x[np.abs(x) > 1e-6]
    return x * (db_to_amp(dbfs) / rms(active if len(active) else x))


def tone_burst(freqs, seconds: float, rate: int = RATE, level_dbfs: float = -20.0, drift_hz: float = 0.0):
    t = np.arange(int(seconds * rate)) / rate
    x = sum(np.sin(2 * np.pi * (f + drift_hz) * t) for f in freqs)
    ramp = min(len(t) // 2, int(0.01 * rate))  # 10 ms ramps, like real generators
    env = np.ones(len(t))
    if ramp:
        env[:ramp] = np.linspace(0, 1, ramp)
        env[-ramp:] = np.linspace(1, 0, ramp)
    return set_level(x * env, level_dbfs)


def ringback(freqs, on_s, off_s, rings: int, rng, rate=RATE, drift_hz=0.0, jitter=0.0, level_dbfs=-20.0,
             lead_s=0.5):
    """`rings` full bursts; returns (signal, [(start, end) of each burst])."""
    parts = [np.zeros(int(lead_s * rate))]
    t = lead_s
    bursts = []
    for _ in range(rings):
        on = on_s * (1 + rng.uniform(-jitter, jitter))
        off = off_s * (1 + rng.uniform(-jitter, jitter))
        parts.append(tone_burst(freqs, on, rate, level_dbfs, drift_hz))
        bursts.append((t, t + on))
        parts.append(np.zeros(int(off * rate)))
        t += on + off
    return np.concatenate(parts).astype(np.float32), bursts


def speech_like(seconds: float, rng, rate=RATE, pitch_hz: float = 180.0, formant_shift: float = 1.0,
                level_dbfs: float = -20.0, pause_s: float = 0.25):
    """Syllables of a formant-filtered glottal pulse train with Mandarin-like pitch contours.

    Returns the signal and its syllable (start, end) times.
    """
    n = int(seconds * rate)
    out = np.zeros(n)
    spans = []
    t = 0.0
    vowels = [(700, 1200, 2600), (300, 2300, 3000), (350, 800, 2400), (500, 1800, 2600), (600, 1000, 2500)]
    while t < seconds - 0.2:
        dur = rng.uniform(0.15, 0.32)
        if t + dur > seconds:
            break
        m = int(dur * rate)
        contour = rng.choice(4)
        u = np.linspace(0, 1, m)
        shape = [-0.06 * u, 0.25 * u - 0.1, -0.2 * np.sin(np.pi * u), 0.2 - 0.4 * u][contour]
        f0 = pitch_hz * (1 + shape) * (1 + 0.02 * rng.standard_normal(m).cumsum() / np.sqrt(m))
        phase = np.cumsum(f0 / rate)
        pulses = np.diff(np.floor(phase), prepend=0.0)
        src = lfilter([1.0], [1.0, -0.95], pulses) + 0.02 * rng.standard_normal(m)
        f1, f2, f3 = (np.array(vowels[rng.integers(len(vowels))]) * formant_shift)
        syl = src
        for fc, bw in ((f1, 90), (f2, 120), (f3, 180)):
            r = np.exp(-np.pi * bw / rate)
            syl = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * fc / rate), r * r], syl)
        if rng.random() < 0.4:  # a fricative onset
            k = int(0.06 * rate)
            syl[:k] += 0.3 * np.std(syl) * rng.standard_normal(k)
        env = np.sin(np.pi * np.linspace(0, 1, m)) ** 0.5
        start = int(t * rate)
        out[start:start + m] += syl * env
        spans.append((t, t + dur))
        t += dur + (rng.uniform(0.03, 0.08) if rng.random() < 0.8 else rng.uniform(pause_s, 2 * pause_s))
    return set_level(out, level_dbfs).astype(np.float32), spans


def hold_music(seconds: float, rng, rate=RATE, level_dbfs=-22.0, note_s=0.6):
    """A few sine chords, one after another, with soft attacks."""
    roots = [261.6, 293.7, 329.6, 349.2, 392.0, 440.0]
    out = []
    while sum(len(p) for p in out) < seconds * rate:
        root = roots[rng.integers(len(roots))]
        chord = (root, root * 1.26, root * 1.5, root * 2)
        t = np.arange(int(note_s * rate)) / rate
        env = np.minimum(1, t / 0.03) * np.exp(-t * 0.8)
        out.append(sum(np.sin(2 * np.pi * f * t) for f in chord) * env)
    return set_level(np.concatenate(out)[: int(seconds * rate)], level_dbfs).astype(np.float32)


def noise(n: int, rng, level_dbfs: float) -> np.ndarray:
    """Line noise: white noise shaped to the telephone band."""
    x = telephone_band(rng.standard_normal(n + 400), RATE)[400:]
    return set_level(x, level_dbfs).astype(np.float32)


def telephone_band(x: np.ndarray, rate: int) -> np.ndarray:
    sos = butter(4, [300, 3400], btype="bandpass", fs=rate, output="sos")
    return sosfilt(sos, x)


def mu_law(x: np.ndarray) -> np.ndarray:
    """G.711-like 8-bit mu-law round trip."""
    mu = 255.0
    x = np.clip(x, -1, 1)
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    y = np.round(y * 127) / 127
    return (np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu).astype(np.float32)


def telephone(x: np.ndarray, rate: int) -> np.ndarray:
    """Band-pass 300-3400 Hz, 8 kHz, mu-law."""
    x = resample(np.asarray(x, np.float32), rate, RATE) if rate != RATE else x
    return mu_law(telephone_band(x, RATE))


def real_clips() -> list[np.ndarray]:
    """The real speech clips at 8 kHz (empty when the folder is absent)."""
    if not REAL_SPEECH.is_dir():
        return []
    clips = []
    for path in sorted(REAL_SPEECH.glob("*.wav")):
        x, rate = sf.read(str(path), dtype="float32")
        clips.append(resample(x if x.ndim == 1 else x[:, 0], rate, RATE))
    return clips


def place(total: np.ndarray, x: np.ndarray, at_s: float, rate: int = RATE) -> np.ndarray:
    """Add `x` into `total` at `at_s` (in place), growing nothing."""
    i = int(at_s * rate)
    j = min(len(total), i + len(x))
    total[i:j] += x[: j - i]
    return total


def trunk_opening(rng, speech_dbfs=-20.0):
    """What a trunk-side recorder hears before the agent: an IVR prompt (a voice unlike the agents'),
    the caller's key, a transfer prompt, then queue music, all on the agent's side but the key.

    Returns (agent-side signal, customer-side signal, seconds, truth: prompts, keys, music spans)."""
    from qa.samplegen.telephone import dtmf_tone, queue_music

    pitch = rng.uniform(190.0, 260.0)
    prompt, _ = speech_like(rng.uniform(3.0, 8.0), rng, RATE, pitch_hz=pitch, formant_shift=1.2,
                            level_dbfs=speech_dbfs)
    transfer, _ = speech_like(rng.uniform(1.5, 3.0), rng, RATE, pitch_hz=pitch, formant_shift=1.2,
                              level_dbfs=speech_dbfs)
    key = dtmf_tone(str(rng.integers(10)), rng.uniform(0.06, 0.15), speech_dbfs + rng.uniform(-4, 4))
    t = rng.uniform(0.3, 1.0)
    prompts = [(t, t + len(prompt) / RATE)]
    key_at = prompts[0][1] + rng.uniform(0.5, 2.0)
    t = key_at + len(key) / RATE + rng.uniform(0.3, 0.8)
    prompts.append((t, t + len(transfer) / RATE))
    music_at = prompts[1][1] + rng.uniform(0.2, 0.6)
    music = queue_music(rng.uniform(3.0, 12.0), rng, speech_dbfs - rng.uniform(0, 4))
    end = music_at + len(music) / RATE
    agent, customer = np.zeros(int(end * RATE) + 1), np.zeros(int(end * RATE) + 1)
    place(agent, prompt, prompts[0][0])
    place(agent, transfer, prompts[1][0])
    place(agent, music, music_at)
    place(customer, key, key_at)
    return agent, customer, end, {"prompts": prompts, "keys": [(key_at, key_at + len(key) / RATE)],
                                  "music": [(music_at, end)]}


def make_call(rng, spec_freqs=(450.0,), on_s=1.0, off_s=4.0, rings=3, snr_db=30.0, drift_hz=0.0, jitter=0.0,
              answer_gap_s=None, bleed_db=-25.0, turns=4, speech_dbfs=-20.0, trunk=False):
    """A stereo call through the telephone path: ringback on the customer channel, then turns.

    `trunk`: the recording starts on the trunk, with an IVR, a key press and queue music before the
    ringback (`trunk_opening`). Returns (samples (2, n) float32, truth dict with rings, answer_s,
    agent/customer syllable spans, and the opening's spans under "opening").
    """
    opening = trunk_opening(rng, speech_dbfs) if trunk else None
    lead = opening[2] if opening else 0.0
    ring, bursts = ringback(spec_freqs, on_s, off_s, rings, rng, RATE, drift_hz, jitter, speech_dbfs - 2)
    bursts = [(a + lead, b + lead) for a, b in bursts]
    if rings:
        answer = bursts[-1][1] + (answer_gap_s if answer_gap_s is not None else rng.uniform(0.4, off_s * 0.8))
    else:
        answer = lead + 0.5 + rng.uniform(0, 1.0)
    t = answer
    agent_parts, customer_parts = [], []
    for k in range(turns):
        who = "agent" if k % 2 == 0 else "customer"
        seconds = rng.uniform(1.5, 3.5)
        pitch = 200.0 if who == "agent" else 120.0
        x, spans = speech_like(seconds, rng, RATE, pitch_hz=pitch, formant_shift=1.1 if who == "agent" else 0.95)
        x = set_level(telephone_band(x, RATE), speech_dbfs)
        (agent_parts if who == "agent" else customer_parts).append((t, x, [(t + a, t + b) for a, b in spans]))
        t += seconds + rng.uniform(0.6, 1.5)
    total = int((t + 1.0) * RATE)
    agent = np.zeros(total)
    customer = np.zeros(total)
    place(customer, ring, lead, RATE)
    if opening:
        place(agent, opening[0], 0.0)
        place(customer, opening[1], 0.0)
    for at, x, _ in agent_parts:
        place(agent, x, at, RATE)
    for at, x, _ in customer_parts:
        place(customer, x, at, RATE)
    # Each party's voice leaks faintly into the other channel.
    agent_mix = agent + db_to_amp(bleed_db) * customer
    customer_mix = customer + db_to_amp(bleed_db) * agent
    noise_dbfs = speech_dbfs - snr_db
    # SNR is measured in the telephone band: speech below 300 Hz never reaches the line.
    chans = [mu_law(telephone_band(c, RATE) + noise(total, rng, noise_dbfs)) for c in (agent_mix, customer_mix)]
    truth = {
        "rings": [b for b in bursts if b[0] < answer],
        "answer_s": answer,
        "agent": [s for _, _, spans in agent_parts for s in spans],
        "customer": [s for _, _, spans in customer_parts for s in spans],
        "opening": opening[3] if opening else None,
    }
    return np.stack(chans).astype(np.float32), truth
