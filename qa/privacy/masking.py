"""A call's personal numbers with their times, and its transcript with them masked.

`CallPii.of(utterances)` finds the spans once per call (both parties, across
utterance boundaries), times each from the words it covers, and gives the
masked text of every utterance that holds one. The store keeps the spans (no
digits: kind, party and time) and the masked text beside the raw one, or in
its place when the store redacts at rest. Clip exports cover the spans' times
with a tone (`qa.scoring.clips`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from qa.privacy.pii import KINDS, PiiSpan, find_in_utterances, mask_text, redact
from qa.records import Utterance, Word
from qa.words_layout import span_times

__all__ = ["CallPii", "TimedSpan"]


@dataclass(frozen=True)
class TimedSpan:
    """One personal number (or its part in one utterance) as stored in `pii_spans`."""

    kind: str
    role: str
    channel: int
    index: int  # the utterance's position in the call's transcript
    start_s: float
    end_s: float


@dataclass
class CallPii:
    spans: list[TimedSpan] = field(default_factory=list)
    texts: dict[int, str] = field(default_factory=dict)  # utterance index -> masked text (only where it differs)
    words: dict[int, tuple[Word, ...]] = field(default_factory=dict)  # its words with the numbers masked
    pieces: list[tuple[str, str]] = field(default_factory=list)  # (raw text, mask), longest first

    @classmethod
    def of(cls, utterances: Sequence[Utterance]) -> CallPii:
        found = find_in_utterances(utterances)
        out = cls()
        by_utterance: dict[int, list[PiiSpan]] = {}
        for s in found:
            u = utterances[s.index]
            raw = u.text[s.start:s.end]
            by_utterance.setdefault(s.index, []).append(PiiSpan(s.kind, s.start, s.end, raw))
            start_s, end_s = span_times(u.words, u.text, s.start, s.end, u.start_s, u.end_s)
            out.spans.append(TimedSpan(s.kind, u.role, u.channel, s.index, start_s, end_s))
            if raw.strip():
                out.pieces.append((raw, KINDS[s.kind]))
        for index, spans in by_utterance.items():
            u = utterances[index]
            out.texts[index] = redact(u.text, spans)
            out.words[index] = _masked_words(u, spans)
        out.pieces.sort(key=lambda p: -len(p[0]))
        return out

    def mask(self, text: str) -> str:
        """Any text quoting the call (a finding's evidence): its numbers masked."""
        for raw, mask in self.pieces:
            text = text.replace(raw, mask)
        return mask_text(text)

    def utterance(self, index: int, u: Utterance) -> Utterance:
        """`u` with its numbers masked in the text and the words (for a store that redacts at rest)."""
        if index not in self.texts:
            return u
        return Utterance(u.role, u.channel, u.start_s, u.end_s, self.texts[index], self.words[index])


def _masked_words(u: Utterance, spans: list[PiiSpan]) -> tuple[Word, ...]:
    """The words; one covering a span's first character shows the mask, the rest of the span is emptied."""
    if not u.words:
        return ()
    # word texts rarely re-join to the text exactly; map offsets proportionally (as `span_times`)
    scale = sum(len(w.text.strip()) for w in u.words) / max(len(u.text), 1)
    out, at = [], 0
    masked_from = {s.start * scale: s for s in spans}
    inside = [(s.start * scale, s.end * scale) for s in spans]
    for word in u.words:
        piece = word.text.strip()
        lo, hi = at, at + len(piece)
        at = hi
        first = next((s for start, s in masked_from.items() if lo <= start < max(hi, lo + 1)), None)
        covered = any(lo < end and hi > start for start, end in inside)
        text = KINDS[first.kind] if first else ("" if covered else word.text)
        out.append(Word(text, word.start_s, word.end_s, word.probability))
    return tuple(out)
