"""A call as a script of events, and its assembly into line audio plus labels.

The script says what happens in order (ringing, lines spoken, pauses, holds);
a line is synthesized from its text, or is a recorded clip of real speech.
`assemble` places every event on the agent and customer tracks at 8 kHz and
records where each spoken line really lies in the audio, so the labels are
measured, not guessed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
import soundfile as sf

from . import telephone as tel

RULE_IDS = (
    "answer.rings",
    "answer.late_apology",
    "greeting.opening",
    "closing.farewell",
    "phrase.forbidden",
    "silent_line.procedure",
    "hold.procedure",
    "talk.interruption",
    "talk.speech_rate",
)
# Scenario rules (001 第三篇 / 第五篇 situations): labelled on the calls built for them
# (situations.py); other sets leave them out and benches score them on those calls only.
SCENARIO_RULE_IDS = (
    "scenario.apology_accepted", "scenario.thanks", "scenario.speak_up", "scenario.dialect", "scenario.repeat",
    "scenario.slow", "scenario.complaint", "scenario.agent_id", "scenario.suggestion", "scenario.cannot_help",
    "scenario.harassment", "scenario.explained", "scenario.linger", "scenario.surname", "closing.hangup_order",
)
ROLES = ("agent", "customer")


def expected_outcomes(situations: bool = False, **fails_and_nas: str) -> dict:
    """A compliant call's outcomes: every rule passes or does not apply unless named here (dots
    written as underscores); with `situations`, the call is labelled for the scenario rules too,
    na unless named."""
    base = {
        "answer.rings": "pass", "answer.late_apology": "na", "greeting.opening": "pass",
        "closing.farewell": "pass", "phrase.forbidden": "pass", "silent_line.procedure": "na",
        "hold.procedure": "na", "talk.interruption": "pass", "talk.speech_rate": "pass",
    }
    if situations:
        base.update({rule: "na" for rule in SCENARIO_RULE_IDS})
    for key, outcome in fails_and_nas.items():
        rule = key.replace("__", ".")
        if rule not in base:
            raise KeyError(rule)
        base[rule] = outcome
    return base


@dataclass(frozen=True)
class Say:
    role: str
    text: str
    tags: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()  # service taboo phrases (服务忌语) this line contains
    gap: float | None = None  # silence after the previous event; None: a natural 0.35-0.9 s
    overlap: float = 0.0  # start this long before the previous line ends (talking over it)
    speed: float | None = None  # None: the speaker's usual speed
    clip: str | None = None  # a recording of `text` said by a real person, played instead of TTS


@dataclass(frozen=True)
class Ring:
    count: int
    style: str = "cn"
    both_channels: bool = False  # else only on the caller's (customer) side


@dataclass(frozen=True)
class Trunk:
    """A trunk-side recording's start, before any ringing: the IVR's welcome and menu, the
    caller's key press, the transfer prompt, then queue music. All of it is the line's, not
    the agent's: the IVR voice and the music are heard on the agent's side, the key on the caller's."""

    menu: str
    key: str
    transfer: str
    music_s: float
    voice: str  # the IVR's recorded voice


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class Hold:
    seconds: float
    music: bool = True


@dataclass(frozen=True)
class Voice:
    name: str
    speed: float = 1.0
    level_db: float = -20.0  # active speech level on the line


@dataclass(frozen=True)
class CallSpec:
    call_id: str
    events: tuple
    expected: dict
    notes: str
    agent: Voice
    customer: Voice
    audio_format: str = "wav-pcm16"  # wav-pcm16, wav-ulaw, flac, mp3, ogg
    sample_rate: int = 8000
    mono: bool = False
    metadata: dict = field(default_factory=dict)
    tail_s: float | None = None  # line open after the last event; None: a natural 0.6-1.2 s

    def __post_init__(self):
        missing = set(RULE_IDS) - set(self.expected)
        if missing:
            raise ValueError(f"{self.call_id}: expected outcome missing for {sorted(missing)}")
        unknown = set(self.expected) - set(RULE_IDS) - set(SCENARIO_RULE_IDS)
        if unknown:
            raise ValueError(f"{self.call_id}: expected outcome for unknown rules {sorted(unknown)}")


@dataclass
class Assembled:
    tracks: dict  # role -> float32 at 8 kHz (dry, before the line)
    ring_tracks: dict  # role -> ringback/hold signal at 8 kHz
    labels: dict


def call_rng(seed: int, call_id: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(call_id.encode())])


def assemble(spec: CallSpec, tts, seed: int) -> Assembled:
    rng = call_rng(seed, spec.call_id)
    rate = tel.LINE_RATE
    placed: list[tuple[str, float, np.ndarray]] = []  # (track, start_s, signal)
    script, holds, forbidden = [], [], []
    opening: dict = {}
    ringback, ring_count = None, 0
    cursor = float(rng.uniform(0.3, 0.8))
    prev_end = cursor
    for event in spec.events:
        if isinstance(event, Ring):
            ringback, ring_count = event.style, event.count
            period = tel.ring_period(event.style)
            burst = tel.ring_burst(event.style)
            sides = ROLES if event.both_channels else ("customer",)
            for k in range(event.count):
                for side in sides:
                    placed.append((f"tone:{side}", cursor + k * period, burst))
            on = len(burst) / rate
            cursor += (event.count - 1) * period + on + float(rng.uniform(0.8, 2.0))
            prev_end = cursor
        elif isinstance(event, Trunk):
            cursor, opening = _trunk_opening(event, tts, rng, cursor, placed)
            prev_end = cursor
        elif isinstance(event, Pause):
            cursor += event.seconds
        elif isinstance(event, Hold):
            start = cursor + 0.3
            if event.music:
                placed.append(("tone:agent", start, tel.hold_music(event.seconds, rng)))
            holds.append({"start_s": round(start, 3), "end_s": round(start + event.seconds, 3)})
            cursor = start + event.seconds
        elif isinstance(event, Say):
            voice = spec.agent if event.role == "agent" else spec.customer
            speech = tel.trim_silence(_dry_speech(event, voice, tts), rate)
            level = voice.level_db + float(rng.uniform(-1.5, 1.5))
            speech = tel.set_speech_level(speech, level)
            if event.overlap > 0:
                start = prev_end - event.overlap
            else:
                gap = event.gap if event.gap is not None else float(rng.uniform(0.35, 0.9))
                start = cursor + gap
            start = round(start * rate) / rate
            end = start + len(speech) / rate
            placed.append((event.role, start, speech))
            line = {"role": event.role, "start_s": round(start, 3), "end_s": round(end, 3),
                    "text": event.text, "tags": list(event.tags)}
            script.append(line)
            for phrase in event.forbidden:
                forbidden.append({"phrase": phrase, "role": event.role,
                                  "start_s": line["start_s"], "end_s": line["end_s"]})
            cursor = max(cursor, end)
            prev_end = end
        else:
            raise TypeError(f"unknown event {event!r}")
    tail = float(rng.uniform(0.6, 1.2))
    duration = cursor + (tail if spec.tail_s is None else spec.tail_s)
    n = int(np.ceil(duration * rate))
    tracks = {role: np.zeros(n, np.float32) for role in ROLES}
    ring_tracks = {role: np.zeros(n, np.float32) for role in ROLES}
    for where, start, signal in placed:
        i = int(round(start * rate))
        target = ring_tracks[where[5:]] if where.startswith("tone:") else tracks[where]
        target[i : i + len(signal)] += signal[: n - i]
    agent_lines = [s for s in script if s["role"] == "agent"]
    labels = {
        "call_id": spec.call_id,
        "channels": 1 if spec.mono else 2,
        "channel_roles": ["mixed"] if spec.mono else ["agent", "customer"],
        "ringback": ringback,
        "ring_count": ring_count,
        "answer_onset_s": agent_lines[0]["start_s"] if agent_lines else None,
        "duration_s": round(n / rate, 3),
        "script": script,
        "holds": holds,
        "silent_line": not any(s["role"] == "customer" for s in script),
        "forbidden": forbidden,
        **({"opening": opening} if opening else {}),
        "expected": {rule: spec.expected[rule] for rule in RULE_IDS + SCENARIO_RULE_IDS if rule in spec.expected},
        "notes": spec.notes,
    }
    return Assembled(tracks=tracks, ring_tracks=ring_tracks, labels=labels)


def _trunk_opening(event: Trunk, tts, rng: np.random.Generator, cursor: float, placed: list) -> tuple[float, dict]:
    """Places the IVR prompts and music (agent side) and the key (caller side) from `cursor`;
    returns where the opening ends and its labels."""
    rate = tel.LINE_RATE
    spans: dict = {"ivr": [], "dtmf": [], "music": []}

    def prompt(text: str, at: float) -> float:
        speech = tel.trim_silence(tel.to_line_rate(tts.synthesize(text, event.voice, 1.0), 24000), rate)
        speech = tel.set_speech_level(speech, float(rng.uniform(-22.0, -18.0)))
        placed.append(("tone:agent", at, speech))
        end = at + len(speech) / rate
        spans["ivr"].append({"start_s": round(at, 3), "end_s": round(end, 3), "text": text})
        return end

    end = prompt(event.menu, cursor)
    at = end + float(rng.uniform(0.6, 2.5))
    key = tel.dtmf_tone(event.key, float(rng.uniform(0.06, 0.15)), float(rng.uniform(-14.0, -6.0)))
    placed.append(("tone:customer", at, key))
    spans["dtmf"].append({"start_s": round(at, 3), "end_s": round(at + len(key) / rate, 3), "key": event.key})
    end = prompt(event.transfer, at + len(key) / rate + float(rng.uniform(0.4, 1.0)))
    at = end + float(rng.uniform(0.2, 0.6))
    placed.append(("tone:agent", at, tel.queue_music(event.music_s, rng)))
    spans["music"].append({"start_s": round(at, 3), "end_s": round(at + event.music_s, 3)})
    # The queue hands the call over: a moment of line before the agent's phone rings.
    return at + event.music_s + float(rng.uniform(0.3, 1.0)), spans


def _dry_speech(event: Say, voice: Voice, tts) -> np.ndarray:
    """The line's speech at the line rate, before level and line: recorded or synthesized."""
    if event.clip is not None:
        return recorded_speech(event.clip)
    speed = event.speed if event.speed is not None else voice.speed
    return tel.to_line_rate(tts.synthesize(event.text, voice.name, speed), 24000)


def recorded_speech(path: str) -> np.ndarray:
    """A recorded clip (any rate, channels averaged) at the line rate."""
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    return tel.to_line_rate(data.mean(axis=1), rate)


def render(assembled: Assembled, spec: CallSpec, seed: int) -> np.ndarray:
    """The recorded line: (channels, frames) float32 at spec.sample_rate."""
    rng = call_rng(seed + 1, spec.call_id)
    agent = assembled.tracks["agent"] + assembled.ring_tracks["agent"]
    customer = assembled.tracks["customer"] + assembled.ring_tracks["customer"]
    if spec.mono:
        channels = [agent + customer]
    else:
        # Each side hears a little of the other (hybrid echo / crosstalk), 20-30 dB down.
        bleed = tel.db_to_gain(-float(rng.uniform(20.0, 30.0)))
        delay = int(rng.integers(8, 40))
        channels = [
            agent + bleed * np.concatenate([np.zeros(delay, np.float32), customer[:-delay]]),
            customer + bleed * np.concatenate([np.zeros(delay, np.float32), agent[:-delay]]),
        ]
    lined = [tel.telephone_channel(ch, rng, -float(rng.uniform(52.0, 62.0))) for ch in channels]
    out = tel.upsample(np.stack(lined), spec.sample_rate)
    return np.clip(out, -1.0, 1.0).astype(np.float32)
