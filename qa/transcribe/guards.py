"""Hallucination guards: drop recognized text the signal does not support.

Whisper writes words over silence, ringback and line noise, and sometimes
repeats an earlier utterance over trailing noise. The speech timeline comes
from the signal, so text outside it is suspect. Pure functions over records.
"""

from __future__ import annotations

from qa.records import Interval, Timeline, Utterance, Word
from qa.transcribe.normalize import normalize_text


def drop_words_outside_speech(words, intervals, tolerance_s: float = 0.3) -> list[Word]:
    """Words whose midpoint lies within `tolerance_s` of a speech interval.

    The midpoint, because Whisper stretches a word's edges into the pauses
    around it.
    """
    spans = sorted(intervals, key=lambda iv: iv.start_s)
    kept = []
    for w in words:
        mid = (w.start_s + w.end_s) / 2
        if any(iv.start_s - tolerance_s <= mid <= iv.end_s + tolerance_s for iv in spans):
            kept.append(w)
    return kept


def speech_support(utterance: Utterance, timeline: Timeline) -> float:
    """Share of the utterance's span covered by its role's speech (any role when unknown)."""
    if utterance.end_s <= utterance.start_s:
        return 0.0
    if utterance.role in timeline.speech and utterance.role != "unknown":
        intervals = timeline.speech[utterance.role]
    else:
        intervals = [iv for ivs in timeline.speech.values() for iv in ivs]
    covered = _covered(intervals, Interval(utterance.start_s, utterance.end_s))
    return covered / (utterance.end_s - utterance.start_s)


def drop_repeated_utterances(
    utterances, timeline: Timeline, min_support: float = 0.3, min_chars: int = 2
) -> list[Utterance]:
    """Drop an utterance that repeats an earlier one's text while the signal shows
    (almost) no speech under it: Whisper's echo over noise. A real repetition
    ("喂？" ... "喂？") has speech under it and stays."""
    seen: set[str] = set()
    kept = []
    for utt in utterances:
        key = _key(utt.text)
        if len(key) >= min_chars and key in seen and speech_support(utt, timeline) < min_support:
            continue
        if key:
            seen.add(key)
        kept.append(utt)
    return kept


def _key(text: str) -> str:
    return "".join(ch for ch in normalize_text(text) if ch.isalnum())


def _covered(intervals, span: Interval) -> float:
    total = 0.0
    for iv in intervals:
        lo, hi = max(iv.start_s, span.start_s), min(iv.end_s, span.end_s)
        if hi > lo:
            total += hi - lo
    return min(total, span.duration_s)
