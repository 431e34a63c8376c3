"""One recording in, one `Transcript` out: audio -> timeline -> ASR -> utterances.

The timeline (speech per party, rings, silences) comes from the signal. Whisper
decodes only the speech regions of each channel, and its words are then
checked against the signal again: words spoken by the other party (crosstalk
bleed) or outside any speech are dropped, and so are utterances repeated over
noise.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from qa import __version__
from qa.records import Interval, Provenance, RoleAssignment, Timeline, TranscribeOptions, Transcript, Utterance, Word
from qa.transcribe.asr import ASR_RATE, AsrSegment, Recognizer, plan_clips
from qa.transcribe.audio import Audio, load_audio
from qa.transcribe.crosstalk import ChannelLevel, coupling_db, gate_words
from qa.transcribe.guards import drop_repeated_utterances, drop_words_outside_speech
from qa.transcribe.legs import LEG_ROLES, Legs, load_legs
from qa.transcribe.model import model_identity
from qa.transcribe.roles import decide_agent_channel
from qa.transcribe.normalize import normalize_text
from qa.transcribe.timeline import SignalOptions, build_timeline, speech_regions
from qa.words_layout import words_to_lists

MIXED = "mixed"
AUTO = "auto"  # --roles auto: the agent's channel is decided per call
DEFAULT_ROLES = ("agent", "customer")
WORD_TOLERANCE_S = 0.3  # word times from Whisper's alignment are this loose


def channel_roles_for(audio: Audio, options: TranscribeOptions) -> tuple[str, ...]:
    """Role of each channel: the configured map on stereo (the default one under auto), `mixed` on mono."""
    if audio.channels == 1:
        return (MIXED,)
    roles = tuple(options.channel_roles[: audio.channels])
    return roles if len(roles) == audio.channels else DEFAULT_ROLES


def provenance_for(options: TranscribeOptions, signal_options: SignalOptions) -> Provenance:
    """What a transcript made with these options records, known before any audio is read."""
    name, sha = model_identity(options.model)
    return Provenance(signal_options_json(signal_options), name, sha, __version__)


def signal_options_json(options: SignalOptions) -> str:
    return json.dumps(asdict(options), sort_keys=True, ensure_ascii=False)


class Transcriber:
    """Transcribes files with one loaded model; reuse it across calls."""

    def __init__(self, options: TranscribeOptions | None = None, signal_options: SignalOptions | None = None,
                 model_dir: str | None = None, recognizer: Recognizer | None = None, cpu_threads: int = 0):
        self.options = options or TranscribeOptions()
        self.signal_options = signal_options or SignalOptions()
        self.recognizer = recognizer or Recognizer(self.options, model_dir=model_dir, cpu_threads=cpu_threads)
        self.provenance = provenance_for(self.options, self.signal_options)
        self._verifier = None

    def load(self, path: str | Path, legs: Legs | None = None) -> Audio:
        """The recording: one file, or a call stored as two mono files as one stereo call (left: the agent leg)."""
        if legs is not None:
            return load_legs(legs, max_duration_s=self.options.max_duration_s,
                             max_mismatch_s=self.options.max_leg_mismatch_s)
        return load_audio(path, max_duration_s=self.options.max_duration_s)

    def transcribe_file(self, path: str | Path, ring_seconds: float | None = None) -> Transcript:
        return self.transcribe_audio(self.load(path), ring_seconds=ring_seconds)

    def transcribe_legs(self, legs: Legs, ring_seconds: float | None = None, audio: Audio | None = None) -> Transcript:
        """A call stored as two mono files, as one stereo call (left: the agent leg)."""
        audio = audio if audio is not None else self.load(legs.agent, legs)
        transcript = self.transcribe_audio(audio, ring_seconds=ring_seconds, roles=LEG_ROLES)
        return replace(transcript, legs=(legs.agent, legs.customer))

    def hear(self, audio: Audio, readings: Sequence) -> list:
        """The readings a check asked about, scored over `audio` by this model (qa.transcribe.verify)."""
        from qa.transcribe.verify import AcousticVerifier, hear

        if self._verifier is None:
            self._verifier = AcousticVerifier(self.recognizer.model, language=self.options.language or "zh")
        return hear(self._verifier, audio, readings, self.provenance.model_sha256)

    def transcribe_audio(self, audio: Audio, ring_seconds: float | None = None,
                         roles: tuple[str, ...] | None = None) -> Transcript:
        """`roles`: the channels' roles when the layout says (two legs), else the options decide."""
        given = roles is not None
        roles = roles or channel_roles_for(audio, self.options)
        auto = not given and roles == DEFAULT_ROLES and self.options.channel_roles[:1] == (AUTO,)
        timeline = build_timeline(audio, roles, self.signal_options, ring_seconds=ring_seconds)
        decoded = self._decode(audio, timeline, roles)
        utterances = self._utterances(audio, timeline, roles, decoded)
        assignment = RoleAssignment(roles, "given")
        if auto:
            decision = decide_agent_channel(utterances, audio.channels)
            if decision.agent_channel == 1:  # the agent is on the right: the timeline (onset, rings) follows
                roles = tuple(reversed(DEFAULT_ROLES))
                timeline = build_timeline(audio, roles, self.signal_options, ring_seconds=ring_seconds)
                utterances = self._utterances(audio, timeline, roles, decoded)
            source = "auto" if decision.agent_channel is not None else "auto-unsure"
            assignment = RoleAssignment(roles, source, decision.confidence)
        return Transcript(path=audio.path, duration_s=round(audio.duration_s, 3), sample_rate=audio.sample_rate,
                          channels=audio.channels, utterances=tuple(utterances), options=self.options,
                          timeline=timeline, provenance=self.provenance, roles=assignment)

    def _decode(self, audio: Audio, timeline: Timeline, roles: tuple[str, ...]) -> list[list[AsrSegment]]:
        """Whisper over each channel's speech regions (mono: all speech)."""
        signals = [audio.channel_at(i, ASR_RATE) for i in range(audio.channels)]  # resampled clip by clip
        if roles == (MIXED,):
            regions = [sorted((iv for ivs in timeline.speech.values() for iv in ivs), key=lambda iv: iv.start_s)]
        else:
            regions = [speech_regions(timeline, role) for role in roles]
        if self.options.pack_regions:
            return self.recognizer.transcribe_regions(signals, regions)
        return self.recognizer.transcribe_clips(signals, [plan_clips(r, s) for r, s in zip(regions, signals)])

    def _utterances(self, audio: Audio, timeline: Timeline, roles: tuple[str, ...],
                    decoded: list[list[AsrSegment]]) -> list[Utterance]:
        """Decoded words checked against the signal, as utterances by role."""
        utterances: list[Utterance] = []
        if roles == (MIXED,):
            utterances = _split_by_role(decoded[0], timeline.speech)
        else:
            # Each channel's band level (and the bleed coupling between them) is measured once
            # per call, not once per segment: that kept a long call's cost growing with its square.
            levels = [ChannelLevel(audio.channel_at(ch, audio.sample_rate), audio.sample_rate)
                      for ch in range(audio.channels)]
            for ch, (role, segments) in enumerate(zip(roles, decoded)):
                own = levels[ch]
                other = levels[1 - ch] if audio.channels == 2 else None
                coupling = coupling_db(own, other) if other is not None else None
                for seg in segments:
                    words = list(seg.words)
                    if other is not None:
                        words = gate_words(words, own, other, audio.sample_rate, gate_db=self.signal_options.gate_db,
                                           coupling=coupling)
                    words = drop_words_outside_speech(words, timeline.speech.get(role, ()), WORD_TOLERANCE_S)
                    utt = _utterance(role, ch, words, seg)
                    if utt is not None:
                        utterances.append(utt)
        utterances.sort(key=lambda u: (u.start_s, u.channel))
        return list(drop_repeated_utterances(utterances, timeline))


def transcribe_file(path: str | Path, options: TranscribeOptions | None = None,
                    ring_seconds: float | None = None) -> Transcript:
    """Convenience for one file; batch jobs keep a `Transcriber` to reuse the model."""
    return Transcriber(options).transcribe_file(path, ring_seconds=ring_seconds)


def _utterance(role: str, channel: int, words: Sequence[Word], seg: AsrSegment) -> Utterance | None:
    words = [replace(w, text=normalize_text(w.text)) for w in words]
    words = [w for w in words if w.text]
    if not words:
        return None
    text = normalize_text(seg.text) if len(words) == len(seg.words) else _join(words)
    return Utterance(role=role, channel=channel, start_s=words[0].start_s, end_s=words[-1].end_s,
                     text=text, words=tuple(words))


def _join(words: Sequence[Word]) -> str:
    """Chinese words join without spaces; Latin words keep one."""
    out = ""
    for w in words:
        if out and out[-1].isascii() and out[-1].isalnum() and w.text[0].isascii() and w.text[0].isalnum():
            out += " "
        out += w.text
    return out


def _role_at(word: Word, speech: dict[str, Sequence[Interval]]) -> str:
    """The party whose speech covers most of the word; `unknown` when none does."""
    best, best_overlap = "unknown", 0.0
    for role, intervals in speech.items():
        overlap = sum(max(0.0, min(word.end_s, iv.end_s) - max(word.start_s, iv.start_s)) for iv in intervals)
        if overlap > best_overlap:
            best, best_overlap = role, overlap
    return best


def _split_by_role(segments: Sequence[AsrSegment], speech: dict[str, Sequence[Interval]]) -> list[Utterance]:
    """Mono: cut each decoded segment where the speaking party changes."""
    out: list[Utterance] = []
    for seg in segments:
        run: list[Word] = []
        run_role = None
        for word in seg.words:
            role = _role_at(word, speech)
            if run and role != run_role:
                utt = _utterance(run_role, 0, run, AsrSegment(run[0].start_s, run[-1].end_s, _join(run), ()))
                if utt:
                    out.append(utt)
                run = []
            run.append(word)
            run_role = role
        if run:
            utt = _utterance(run_role, 0, run, AsrSegment(run[0].start_s, run[-1].end_s, _join(run), ()))
            if utt:
                out.append(utt)
    return out


def transcript_to_dict(t: Transcript) -> dict:
    """JSON-ready form used by `callqa transcribe --json`."""
    d = asdict(t)
    d["utterances"] = [
        {**{k: v for k, v in asdict(u).items() if k != "words"},
         "words": words_to_lists(u.words)}
        for u in t.utterances
    ]
    return _plain(d)


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value
