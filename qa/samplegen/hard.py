"""A held-out, harder generated set: new speakers, faster agents, real customers.

The calls follow generated.py's logic (companies, topics, broken rules, labels);
only the cast differs:

- voices the generated set never uses: other Chinese blends, and Japanese
  Kokoro voices fed Mandarin phonemes, which speak Mandarin with a strong
  foreign accent (Whisper base, beam 1, over the 8 kHz line: CER 0.12-0.32
  on their lines, against 0.08-0.17 for the Chinese blends);
- more agents well over talk.speech_rate's limit, and brisk ones under it;
- some customer turns are recorded human speech (../shared/real_speech),
  among them a casual 说不清楚 that forbidden-phrase checks must leave alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from . import generated
from .generated import Cast, Pace, _pick, cast_specs
from .scenario import CallSpec, Say

log = logging.getLogger("qa.samplegen")

# Chinese blends outside generated.VOICES (zf_xiaoni only blended: alone it is poorly understood).
NATIVE = ("zf_xiaoni+zf_xiaoyi", "zf_xiaoni+zf_xiaobei", "zm_yunxi+zm_yunjian", "zm_yunxi+zm_yunxia")
# A Japanese voice blended with a Chinese one: a milder accent.
MILD_ACCENT = ("zf_xiaoyi+jf_nezumi", "zm_yunxi+jm_kumo")
STRONG_ACCENT = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
HARD_VOICES = NATIVE + MILD_ACCENT + STRONG_ACCENT

# talk.speech_rate fails above 400 Han characters per minute of agent speech
# (pauses of 0.3 s or more left out). Kokoro's rate does not grow evenly with
# its speed setting; measured so on eight agent lines, per minute:
#   speed                  1.0       1.3       1.4       1.8
#   Chinese blends       294-333   356-404   463-495   518-557
#   mild-accent blends   311-312   369-375   457-464   515-536
#   Japanese voices      263-279   327-345   399-427   474-508
# and it rises on from 1.4 to 1.7 and from 1.8 to 2.0 (checked on some voices).
# 1.4-1.7 is plainly too fast for the blends: labelled fail. The Japanese
# voices are slower, so 1.4 sits on the limit: they are fast only at the
# generated set's 1.8-2.0, and brisk but within the limit at 1.3 (labelled
# pass), which no blend can be (1.3 is on the limit for them).
BLEND_FAST_SPEEDS = (1.4, 1.5, 1.6, 1.7)
BRISK_SPEEDS = (1.3,)
FAST_SHARE, BRISK_SHARE = 0.3, 0.25  # the generated set: 0.1 fast, none brisk

STATEMENT_MIN_S = 4.0  # longer than the longest talk-over (3 s): an interrupting agent starts inside it
REAL_SHARE = 0.35  # of statements, and of follow-ups, said by a recorded person when clips exist
TRAP_SHARE = 0.4  # of recorded follow-ups, the one that holds a forbidden phrase
HARD_STREAM = 2  # not the generated set's RNG stream: a seed makes other calls here


def fast_speeds(voice: str) -> tuple[float, ...]:
    return generated.FAST_SPEEDS if voice in STRONG_ACCENT else BLEND_FAST_SPEEDS


def brisk_speeds(voice: str) -> tuple[float, ...]:
    return BRISK_SPEEDS if voice in STRONG_ACCENT else ()


def default_real_speech() -> Path:
    """../shared/real_speech beside the repository."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "real_speech"


@dataclass(frozen=True)
class Clip:
    name: str
    path: str
    text: str
    seconds: float
    traps: tuple[str, ...]  # agent-only forbidden phrases the speaker says


def real_clips(folder: Path | None) -> tuple[Clip, ...]:
    """The transcribed clips in `folder` and `folder/more`, by name; none if it is absent."""
    if folder is None or not Path(folder).is_dir():
        return ()
    clips = []
    for sub in (Path(folder), Path(folder) / "more"):
        texts = _transcripts(sub / "text")
        for wav in sorted(sub.glob("*.wav")):
            if wav.stem in texts:  # a clip without its transcript cannot be labelled
                text = texts[wav.stem]
                clips.append(Clip(wav.stem, str(wav.resolve()), text, sf.info(str(wav)).duration,
                                  forbidden_phrases(text)))
    return tuple(clips)


def _transcripts(path: Path) -> dict[str, str]:
    """`id text` lines; words may be space-separated, which Chinese text does not keep."""
    if not path.exists():
        return {}
    lines = (line.split(maxsplit=1) for line in path.read_text(encoding="utf-8").splitlines())
    return {parts[0]: "".join(parts[1].split()) for parts in lines if len(parts) == 2}


def forbidden_phrases(text: str) -> tuple[str, ...]:
    """The rulebook's forbidden phrases in `text`, outside their legit contexts."""
    from qa.phrases.rulebook import load_rulebook
    from qa.phrases.textnorm import match_key

    said = match_key(text)
    found = []
    for phrase in load_rulebook().rules["phrase.forbidden"].phrases["forbidden"]:
        key = match_key(phrase.text)
        if key and key in said and not any(match_key(e) in said for e in phrase.exclusions):
            found.append(phrase.text)
    return tuple(found)


@dataclass(frozen=True)
class HardCast(Cast):
    voices: tuple[str, ...] = HARD_VOICES
    id_prefix: str = "hard"
    stream: int = HARD_STREAM
    statement_clips: tuple[Clip, ...] = ()
    follow_up_clips: tuple[Clip, ...] = ()

    def agent_pace(self, rng: np.random.Generator, voice: str) -> Pace:
        draw = rng.random()
        if draw < FAST_SHARE:
            return Pace(_pick(rng, fast_speeds(voice)), True, "agent speaks far too fast")
        if draw < FAST_SHARE + BRISK_SHARE and brisk_speeds(voice):
            return Pace(_pick(rng, brisk_speeds(voice)), False, "agent speaks briskly, within the limit")
        return Pace(_pick(rng, generated.USUAL_SPEEDS), False)

    def customer_turn(self, rng: np.random.Generator, turn: str, text: str,
                      tags: tuple[str, ...] = ()) -> tuple[Say, str | None]:
        clips = self.statement_clips if turn == "statement" else self.follow_up_clips
        if not clips or rng.random() >= REAL_SHARE:
            return super().customer_turn(rng, turn, text, tags)
        clip = _choose_clip(rng, clips)
        note = f"recorded customer {turn.replace('_', '-')}: {clip.name}"
        if clip.traps:
            note += f" (trap: the customer says {'、'.join(clip.traps)})"
        tags = ("recorded", "trap") if clip.traps else ("recorded",)
        return Say("customer", clip.text, tags, clip=clip.path), note


def _choose_clip(rng: np.random.Generator, clips: tuple[Clip, ...]) -> Clip:
    """Any clip; the trap ones more often than their number alone would give."""
    traps = tuple(c for c in clips if c.traps)
    others = tuple(c for c in clips if not c.traps)
    if traps and (not others or rng.random() < TRAP_SHARE):
        return _pick(rng, traps)
    return _pick(rng, others)


def hard_cast(clips: tuple[Clip, ...]) -> HardCast:
    return HardCast(statement_clips=tuple(c for c in clips if c.seconds >= STATEMENT_MIN_S),
                    follow_up_clips=tuple(c for c in clips if c.seconds < STATEMENT_MIN_S))


def hard_specs(count: int, seed: int, real_speech: Path | None = None) -> list[CallSpec]:
    """`count` calls of the hard set; without clips in `real_speech`, every customer is TTS."""
    clips = real_clips(real_speech)
    if not clips:
        log.warning("no recorded speech in %s: the hard set's customers are all synthesized",
                    real_speech or "(no folder given)")
    return cast_specs(hard_cast(clips), count, seed)

