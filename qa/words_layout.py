"""The stored layout of an utterance's word times: one module writes and reads it.

`utterances.words_json` holds `[[text, start_s, end_s, probability], ...]`:
the store, `callqa transcribe --json`, the phrase search and the dashboard's
highlighting all go through these two functions.
"""

from __future__ import annotations

import json
from typing import Iterable

from qa.records import Word

__all__ = ["span_times", "words_from_json", "words_to_json", "words_to_lists"]


def words_to_lists(words: Iterable[Word]) -> list[list]:
    """The JSON-ready rows of `words`."""
    return [[w.text, w.start_s, w.end_s, w.probability] for w in words]


def words_to_json(words: Iterable[Word]) -> str:
    return json.dumps(words_to_lists(words), ensure_ascii=False)


def words_from_json(text: str | None) -> tuple[Word, ...]:
    """The words stored in `text`; rows that are not
    [text, start, end(, probability)] with numbers are left out."""
    if not text:
        return ()
    try:
        rows = json.loads(text)
    except ValueError:
        return ()
    if not isinstance(rows, list):
        return ()
    words = []
    for row in rows:
        if not isinstance(row, list) or len(row) < 3:
            continue
        try:
            probability = float(row[3]) if len(row) > 3 and row[3] is not None else 1.0
            words.append(Word(str(row[0]), float(row[1]), float(row[2]), probability))
        except (TypeError, ValueError):
            continue  # a row whose times are not numbers says nothing about when
    return tuple(words)


def span_times(words: tuple[Word, ...], text: str, start: int, end: int, utt_start: float, utt_end: float
               ) -> tuple[float, float]:
    """Times of the characters text[start:end], from the utterance's words; the utterance's without words."""
    if not words or not text:
        return utt_start, utt_end
    joined = "".join(w.text.strip() for w in words)
    # word texts rarely re-join to the stored text exactly; map offsets proportionally
    scale = len(joined) / max(len(text), 1)
    lo, hi = start * scale, end * scale
    t0 = t1 = None
    pos = 0.0
    for word in words:
        width = len(word.text.strip())
        if pos + width > lo and pos < hi:
            t0 = word.start_s if t0 is None else t0
            t1 = word.end_s
        pos += width
    if t0 is None:
        return utt_start, utt_end
    return t0, t1
