"""Small typed result records shared by every part of callqa.

They are frozen dataclasses so a result can be passed between processes
(local pool or Ray) and compared in tests. Times are seconds from the start
of the recording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["agent", "customer", "unknown"]
Outcome = Literal["pass", "fail", "na"]
ROLES: tuple[str, ...] = ("agent", "customer", "unknown")


@dataclass(frozen=True)
class Interval:
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Word:
    text: str
    start_s: float
    end_s: float
    probability: float = 1.0


@dataclass(frozen=True)
class Utterance:
    role: Role
    channel: int
    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Overlap:
    """Both parties speak at once; `interrupter` started while the other spoke."""

    start_s: float
    end_s: float
    interrupter: Role
    interrupted: Role


@dataclass(frozen=True)
class Cue:
    """A sound of the line that is nobody's speech: an IVR prompt, a DTMF key press, queue music.

    `label`: the key pressed (dtmf). `channel`: where it was heard (0 on mono)."""

    start_s: float
    end_s: float
    kind: Literal["ivr", "dtmf", "music"]
    label: str = ""
    channel: int = 0


@dataclass(frozen=True)
class Timeline:
    """Who speaks when, measured from the signal (never from ASR times)."""

    duration_s: float
    speech: dict[str, tuple[Interval, ...]]  # role -> speech intervals
    mutual_silence: tuple[Interval, ...] = ()
    overlaps: tuple[Overlap, ...] = ()
    rings: tuple[Interval, ...] = ()
    ring_count: int = 0
    answer_onset_s: float | None = None
    ring_source: Literal["detected", "metadata", "none"] = "none"
    stereo: bool = True
    # Key presses and music anywhere; IVR prompts before the answer (qa.transcribe.opening).
    cues: tuple[Cue, ...] = ()


@dataclass(frozen=True)
class TranscribeOptions:
    """Everything that changes a transcript; stored with every result."""

    model: str = "embedded:whisper-base"
    compute_type: str = "int8"
    device: str = "cpu"
    language: str = "zh"
    beam_size: int = 5
    batched: bool = True
    batch_size: int = 8
    vad: bool = True
    # Pack a channel's speech regions into few 30 s windows: about 2x faster,
    # slightly higher CER (0.161 vs 0.131 on the samples), so off by default.
    pack_regions: bool = False
    initial_prompt: str | None = None
    # Role of each stereo channel, left first; ("auto",): decided per call from what each says.
    channel_roles: tuple[str, ...] = ("agent", "customer")
    max_duration_s: float = 4 * 3600.0
    # A call stored as two files (agent leg, customer leg): lengths may differ by this much.
    max_leg_mismatch_s: float = 2.0


@dataclass(frozen=True)
class Provenance:
    """What produced a transcript besides its ASR options; stored with every call.

    A change in any of these (or in the options or the audio) makes the batch
    transcribe the call again; a rulebook change alone only re-runs the rules.
    """

    signal_options_json: str  # every threshold of the signal timeline (SignalOptions), as JSON
    model_name: str  # the --model spec: embedded:whisper-base, a directory, or a model name
    model_sha256: str | None  # of the weights (model.bin); None for a model fetched by name
    callqa_version: str


@dataclass(frozen=True)
class RoleAssignment:
    """Which party each channel is, and how that was decided."""

    roles: tuple[str, ...]  # per channel, left first; ("mixed",) on mono
    source: str  # given (the configured map) | auto (decided from the speech) | auto-unsure (default kept)
    confidence: float | None = None  # of an auto decision, 0..1


@dataclass(frozen=True)
class Transcript:
    path: str
    duration_s: float
    sample_rate: int
    channels: int
    utterances: tuple[Utterance, ...]
    options: TranscribeOptions = field(default_factory=TranscribeOptions)
    timeline: Timeline | None = None
    provenance: Provenance | None = None
    roles: RoleAssignment | None = None
    legs: tuple[str, ...] = ()  # the agent and customer files of a call stored as two legs


@dataclass(frozen=True)
class Match:
    """A rulebook phrase found in an utterance."""

    phrase: str
    text: str  # the matched span as recognized
    utterance_idx: int
    span: tuple[int, int]  # character offsets in the utterance's normalized text
    similarity: float  # 0..1
    start_s: float
    end_s: float
    role: Role = "unknown"
    sound: float | None = None  # set when the audio, not the text, settled it: the reading's score


@dataclass(frozen=True)
class Reading:
    """A wording a check asks the audio about, over one channel's span (see qa.transcribe.verify)."""

    channel: int
    start_s: float
    end_s: float
    wording: str

    @property
    def key(self) -> tuple[int, float, float, str]:
        return (self.channel, round(self.start_s, 3), round(self.end_s, 3), self.wording)


@dataclass(frozen=True)
class Heard:
    """What the audio said of a reading: its score against the decoder's own hypothesis."""

    reading: Reading
    score: float  # `ratio` less `cohort`: how much likelier than words nobody said
    hypothesis: str  # what the decoder wrote over the span (in Simplified characters)
    said: str = ""  # the text scored: the hypothesis with the wording put where it sounds closest
    model_sha256: str = ""
    ratio: float = 0.0  # log-likelihood ratio per wording token against the hypothesis (0: as likely)
    cohort: float = 0.0  # the same ratio's mean over unrelated service sentences on the span


@dataclass(frozen=True)
class Finding:
    rule_id: str
    start_s: float
    end_s: float
    role: Role
    evidence: str
    matched_phrase: str | None = None
    similarity: float | None = None
    clause: str = ""  # the source clause of the standard that is broken
    severity: str = "major"
    message: str = ""  # key of the evidence in qa.scoring.messages: which line or step it is about
    message_args: tuple[tuple[str, Any], ...] = ()  # the values the evidence was filled with
    # A time that does not move with window settings (the answer, the last
    # speech, the hold's edge, the phrase itself): the finding's id is built on it.
    anchor_s: float | None = None


@dataclass(frozen=True)
class RuleResult:
    rule_id: str
    outcome: Outcome
    points: float  # points deducted (0 on pass or na)
    findings: tuple[Finding, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class CallResult:
    call_id: str
    path: str
    sha256: str
    transcript: Transcript | None
    rule_results: tuple[RuleResult, ...] = ()
    score: float | None = None
    passed: bool | None = None
    rulebook_version: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    status: Literal["scored", "error"] = "scored"
    error: str | None = None
    # The readings the checks asked the audio about, with their scores (stored per call).
    heard: tuple[Heard, ...] = ()
    # Readings the checks asked about that no audio answered (verification off, recording gone).
    unheard: int = 0
    verify: bool = True  # the checks could ask the audio (off: judged by text alone)
