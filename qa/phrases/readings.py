"""A wording put into a heard text where it sounds closest: the reading the decoder is asked to score."""

from __future__ import annotations

from rapidfuzz import fuzz

from qa.phrases.textnorm import keyed

__all__ = ["put_in"]


def put_in(text: str, wording: str) -> str:
    """`text` with `wording` in place of the stretch that aligns best with it by sound
    (near-homophone codes); a stretch shorter than the wording (syllables lost) is
    grown to its length, and a text no longer than the wording is replaced whole."""
    k, w = keyed(text), keyed(wording)
    if len(k.key) <= len(w.key):
        return wording
    found = fuzz.partial_ratio_alignment(w.near, k.near)
    start = found.dest_start
    end = min(len(k.key), max(found.dest_end, start + len(w.key)))
    start = max(0, min(start, end - len(w.key)))
    a, b = k.span(start, end)
    return k.display[:a] + wording + k.display[b:]
