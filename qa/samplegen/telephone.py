"""The telephone line: call-progress tones, DTMF, hold and queue music, band limit, G.711 mu-law.

Everything is built at 8 kHz, the rate of a narrowband call; a 16 kHz file is
that 8 kHz line upsampled, as call recorders do.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, resample_poly, sosfilt

from qa.transcribe.dtmf import COLUMNS, KEYS, ROWS

LINE_RATE = 8000

# (frequencies Hz, seconds on, seconds off) as the caller hears them.
RINGBACK = {
    "cn": ((450.0,), 1.0, 4.0),
    "na": ((440.0, 480.0), 2.0, 4.0),
}


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def ring_period(style: str) -> float:
    _, on, off = RINGBACK[style]
    return on + off


def ring_burst(style: str, level_db: float = -16.0) -> np.ndarray:
    """One 'on' burst of ringback with 10 ms ramps, at LINE_RATE."""
    freqs, on, _ = RINGBACK[style]
    t = np.arange(int(round(on * LINE_RATE))) / LINE_RATE
    tone = sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs)
    ramp = int(0.01 * LINE_RATE)
    env = np.ones_like(t)
    env[:ramp] = np.linspace(0.0, 1.0, ramp)
    env[-ramp:] = np.linspace(1.0, 0.0, ramp)
    peak_to_rms = np.sqrt(2.0) if len(freqs) == 1 else 2.0
    return (tone * env * db_to_gain(level_db) * peak_to_rms).astype(np.float32)


def hold_music(seconds: float, rng: np.random.Generator, level_db: float = -24.0) -> np.ndarray:
    """A simple looping melody of soft notes: the music on hold."""
    scale = [261.6, 293.7, 329.6, 392.0, 440.0, 523.3]
    note_s = 0.4
    n_notes = int(np.ceil(seconds / note_s))
    melody = rng.choice(scale, size=min(n_notes, 8))
    t = np.arange(int(note_s * LINE_RATE)) / LINE_RATE
    env = np.exp(-3.0 * t) * np.minimum(1.0, t / 0.02)
    notes = [
        (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)) * env
        for f in (melody[i % len(melody)] for i in range(n_notes))
    ]
    out = np.concatenate(notes)[: int(seconds * LINE_RATE)]
    rms = np.sqrt(np.mean(out**2)) or 1.0
    return (out / rms * db_to_gain(level_db)).astype(np.float32)


# Chords of the queue loop (Hz of each note): C, G, Am, F.
_QUEUE_CHORDS = ((261.6, 329.6, 392.0), (196.0, 246.9, 392.0), (220.0, 261.6, 329.6), (174.6, 220.0, 349.2))


def queue_music(seconds: float, rng: np.random.Generator, level_db: float = -22.0) -> np.ndarray:
    """The queue's music loop: a bass note and a broken chord per beat over a soft pad, a chord a second.

    Several notes at once with harmonics and decays, unlike the single-note hold melody."""
    beat = int(0.25 * LINE_RATE)
    t = np.arange(beat) / LINE_RATE
    pluck = np.exp(-6.0 * t) * np.minimum(1.0, t / 0.01)
    start = int(rng.integers(len(_QUEUE_CHORDS)))
    pieces = []
    for k in range(int(np.ceil(seconds / 0.25))):
        chord = _QUEUE_CHORDS[(start + k // 4) % len(_QUEUE_CHORDS)]
        note = chord[k % 3] * 2
        x = sum((0.5 ** h) * np.sin(2 * np.pi * note * (h + 1) * t) for h in range(3)) * pluck
        x += 0.6 * np.sin(2 * np.pi * chord[0] / 2 * t) * pluck  # bass
        x += 0.25 * sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) for f in chord)  # pad
        pieces.append(x)
    out = np.concatenate(pieces)[: int(seconds * LINE_RATE)]
    rms = np.sqrt(np.mean(out**2)) or 1.0
    return (out / rms * db_to_gain(level_db)).astype(np.float32)


def dtmf_tone(key: str, seconds: float = 0.1, level_db: float = -10.0) -> np.ndarray:
    """One DTMF key press: its row and column tones, column 2 dB louder (standard pre-emphasis)."""
    row = next(r for r, keys in enumerate(KEYS) if key in keys)
    col = KEYS[row].index(key)
    t = np.arange(int(round(seconds * LINE_RATE))) / LINE_RATE
    x = np.sin(2 * np.pi * ROWS[row] * t) + db_to_gain(2.0) * np.sin(2 * np.pi * COLUMNS[col] * t)
    return (x / np.sqrt(np.mean(x**2)) * db_to_gain(level_db)).astype(np.float32)


def to_line_rate(x: np.ndarray, rate: int) -> np.ndarray:
    if rate == LINE_RATE:
        return x.astype(np.float32)
    g = np.gcd(rate, LINE_RATE)
    return resample_poly(x, LINE_RATE // g, rate // g).astype(np.float32)


def trim_silence(x: np.ndarray, rate: int, threshold_db: float = -40.0) -> np.ndarray:
    """Cut the synthesizer's leading and trailing near-silence (20 ms frames)."""
    frame = int(0.02 * rate)
    n = len(x) // frame
    if n == 0:
        return x
    rms = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > np.max(rms) * db_to_gain(threshold_db))
    if len(loud) == 0:
        return x[:0]
    return x[loud[0] * frame : (loud[-1] + 1) * frame]


def set_speech_level(x: np.ndarray, level_db: float) -> np.ndarray:
    """Scale so the active-speech RMS (frames within 30 dB of the peak) is level_db."""
    frame = int(0.02 * LINE_RATE)
    n = max(1, len(x) // frame)
    frames = x[: n * frame].reshape(n, -1)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    active = rms[rms > rms.max() * db_to_gain(-30.0)]
    current = np.sqrt(np.mean(active**2)) if len(active) else 1.0
    return (x * db_to_gain(level_db) / max(current, 1e-9)).astype(np.float32)


def line_noise(n: int, rng: np.random.Generator, level_db: float) -> np.ndarray:
    """Hiss with a slow wander, as on an analogue local loop."""
    white = rng.standard_normal(n)
    wander = np.interp(np.arange(n), np.linspace(0, n, 8), 1.0 + 0.3 * rng.standard_normal(8))
    return (white * wander * db_to_gain(level_db)).astype(np.float32)


def band_limit(x: np.ndarray) -> np.ndarray:
    """300-3400 Hz, the voice channel of the public telephone network."""
    sos = butter(4, [300.0, 3400.0], btype="bandpass", fs=LINE_RATE, output="sos")
    return sosfilt(sos, x).astype(np.float32)


def mulaw_round_trip(x: np.ndarray) -> np.ndarray:
    """Encode to 8-bit G.711 mu-law codes and decode back."""
    mu = 255.0
    x = np.clip(x, -1.0, 1.0)
    encoded = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    codes = np.round((encoded + 1.0) / 2.0 * 255.0)
    decoded = codes / 255.0 * 2.0 - 1.0
    return (np.sign(decoded) * np.expm1(np.abs(decoded) * np.log1p(mu)) / mu).astype(np.float32)


def telephone_channel(x: np.ndarray, rng: np.random.Generator, noise_db: float) -> np.ndarray:
    """Band limit, add this channel's line noise, then the G.711 codec."""
    return mulaw_round_trip(band_limit(x) + line_noise(len(x), rng, noise_db))


def upsample(x: np.ndarray, rate: int) -> np.ndarray:
    if rate == LINE_RATE:
        return x
    g = np.gcd(rate, LINE_RATE)
    return resample_poly(x, rate // g, LINE_RATE // g, axis=-1).astype(np.float32)
