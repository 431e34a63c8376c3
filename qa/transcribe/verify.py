"""Acoustic verification: how well does a given reading explain a span of audio?

Whisper's decoder scores any text over the audio it encoded (teacher
forcing: CTranslate2's `Whisper.align` returns each token's probability). A
reading (the span's text with a rulebook wording put in) is compared with
the decoder's own best hypothesis for the same span, written by greedy
decoding there: the score is the log-likelihood ratio of the two, divided by
the wording's token count (the rest of the reading is shared with what was
heard, so the ratio is the wording's). Zero means the reading explains the
audio as well as what the decoder would write itself; a wording that was not
said scores far below (-1 to -5 per token).

The span is encoded once, at its own length rather than Whisper's 30 s
window (CTranslate2 takes shorter inputs; on a 3 s span that is 8 times
faster with the same hypothesis), and all its readings are aligned in one
batch. Nothing here adds text to a transcript: a check reads the score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

ASR_RATE = 16_000
PAD_S = 0.25  # audio kept around a span: word times are this loose
MAX_SPAN_S = 28.0  # one Whisper window, less the padding
MAX_TOKENS = 120
TAIL_FRAMES = 100  # 1 s of padding after the span: the decoder ends a line on silence
FRAME_STEP = 200  # encoder input lengths are rounded up to this many frames (few distinct shapes)


@dataclass(frozen=True)
class SpanScores:
    """The verification of one span: the decoder's own hypothesis and each wording's score."""

    hypothesis: str
    hypothesis_logprob: float  # summed log-probability
    scores: tuple[float, ...]  # per reading, in the order asked: log-likelihood ratio per wording token
    logprobs: tuple[float, ...]  # per reading, summed log-probability


class AcousticVerifier:
    """Scores wordings over spans of 16 kHz audio with a loaded faster-whisper model."""

    def __init__(self, whisper_model, language: str = "zh"):
        from faster_whisper.tokenizer import Tokenizer

        self._whisper = whisper_model
        self._ct2 = whisper_model.model
        self._tokenizer = Tokenizer(whisper_model.hf_tokenizer, whisper_model.model.is_multilingual,
                                    task="transcribe", language=language)

    def score_span(self, signal: np.ndarray, start_s: float, end_s: float, readings: Sequence[str],
                   wordings: Sequence[str] | None = None) -> SpanScores:
        """Scores of `readings` over signal[start_s, end_s] (clamped to one window); each
        normalised by the token count of its wording (default: of the reading itself)."""
        import ctranslate2

        lo = max(0, int((start_s - PAD_S) * ASR_RATE))
        hi = min(len(signal), int((min(end_s, start_s + MAX_SPAN_S) + PAD_S) * ASR_RATE))
        clip = np.ascontiguousarray(signal[lo:hi], dtype=np.float32)
        if clip.size < ASR_RATE // 10:
            raise ValueError(f"span {start_s:.2f}-{end_s:.2f} s holds no audio")
        encoded = self._encode(clip)
        num_frames = clip.size // self._whisper.feature_extractor.hop_length
        prompt = list(self._tokenizer.sot_sequence) + [self._tokenizer.no_timestamps]
        result = self._ct2.generate(encoded, [prompt], beam_size=1, max_length=MAX_TOKENS, suppress_blank=True)[0]
        hyp_ids = [t for t in result.sequences_ids[0] if t < self._tokenizer.eot]
        texts = [hyp_ids] + [self._tokens(r) for r in readings]
        texts = [t or [self._tokenizer.eot] for t in texts]
        batch = ctranslate2.StorageView.from_array(np.repeat(np.asarray(encoded), len(texts), axis=0))
        aligned = self._ct2.align(batch, prompt, texts, [num_frames] * len(texts))
        sums = [_sum_log(a.text_token_probs) for a in aligned]
        sizes = [len(self._tokens(w)) or 1 for w in (wordings or readings)]
        hyp = sums[0]
        return SpanScores(hypothesis=self._tokenizer.decode(hyp_ids).strip(), hypothesis_logprob=round(hyp, 4),
                          scores=tuple(round((s - hyp) / n, 4) for s, n in zip(sums[1:], sizes)),
                          logprobs=tuple(round(s, 4) for s in sums[1:]))

    def _tokens(self, wording: str) -> list[int]:
        return self._tokenizer.encode(wording)[:MAX_TOKENS]

    def _encode(self, clip: np.ndarray):
        features = self._whisper.feature_extractor(clip)
        longest = self._whisper.feature_extractor.nb_max_frames
        frames = min(longest, -(-(features.shape[-1] + TAIL_FRAMES) // FRAME_STEP) * FRAME_STEP)
        features = features[:, :frames]
        if features.shape[-1] < frames:
            features = np.pad(features, ((0, 0), (0, frames - features.shape[-1])))
        return self._whisper.encode(features)


def _sum_log(probs: Sequence[float]) -> float:
    return float(sum(math.log(max(p, 1e-12)) for p in probs)) if probs else -30.0


def hear(verifier: AcousticVerifier, audio, readings: Sequence, model_sha256: str = "") -> list:
    """Each reading scored over its span of `audio` (an Audio); one encoding per span."""
    from qa.records import Heard

    spans: dict[tuple, list] = {}
    for r in readings:
        spans.setdefault((r.channel, r.start_s, r.end_s), []).append(r)
    out = []
    for (channel, start_s, end_s), group in spans.items():
        signal = audio.channel(channel, ASR_RATE)
        scored = verifier.score_span(signal, start_s, end_s, [r.text for r in group],
                                     [r.wording or r.text for r in group])
        out += [Heard(r, s, scored.hypothesis, model_sha256) for r, s in zip(group, scored.scores)]
    return out
