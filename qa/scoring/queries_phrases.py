"""Phrase search over every transcript, for the trainers' phrase library.

The recognizer often mishears a phrase as other characters with the same
sound (致电 -> 支店, 工号 -> 功耗), so the search runs in two steps:
1. SQL picks candidate utterances whose text contains the phrase or whose
   stored tone-less pinyin shares enough of the phrase's syllable pairs;
2. rapidfuzz ranks the candidates on characters and on pinyin, finds the
   matched span and maps it to word times for the audio clip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, NamedTuple

import duckdb
import pandas as pd
from rapidfuzz import fuzz

from qa.access.roles import Viewer, call_scope
from qa.privacy.pii import mask_text
from qa.scoring.queries import date_clause
from qa.transcribe.normalize import normalize_text, pinyin_key
from qa.words_layout import span_times, words_from_json

__all__ = ["search_phrases"]

RESULT_COLUMNS = [
    "call_id", "idx", "role", "started_at", "agent_id", "team", "path", "start_s", "end_s",
    "clip_start_s", "clip_end_s", "text", "match_text", "similarity", "matched_by", "before", "after", "words_json",
    "hidden",  # [(start_s, end_s)] of personal numbers in the call: a clip covers them with a tone
    "masked_text",  # the line with personal numbers masked, whoever asks: for exports
]


@dataclass(frozen=True, slots=True)
class _Hit:
    """One candidate utterance that matched, with the matched span text[start:end]."""

    call_id: str
    idx: int
    role: str
    started_at: datetime | None
    agent_id: str
    team: str
    path: str
    start_s: float
    end_s: float
    text: str
    start: int
    end: int
    similarity: float
    matched_by: str


class _Line(NamedTuple):
    """A line of a hit's call: the hit's own word times, or a neighbour shown as context."""

    role: str
    text: str
    words_json: str | None
    masked: str


def _syllable_pairs(pinyin: str) -> list[str]:
    syllables = pinyin.split()
    if len(syllables) < 2:  # one syllable sounds like dozens of characters: characters only
        return []
    return list(dict.fromkeys(" ".join(syllables[i : i + 2]) for i in range(len(syllables) - 1)))


def _han_positions(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if "\u4e00" <= ch <= "\u9fff"]


def _best_span(query: str, query_pinyin: str, text: str, pinyin: str) -> tuple[float, int, int, str]:
    """(similarity 0..1, start, end, "text" or "sound") of the best match in `text`."""
    by_text = fuzz.partial_ratio_alignment(query, text)
    best = (by_text.score / 100.0, by_text.dest_start, by_text.dest_end, "text")
    if query_pinyin and pinyin:
        by_sound = fuzz.partial_ratio_alignment(query_pinyin, pinyin)
        if by_sound.score / 100.0 > best[0]:
            han = _han_positions(text)
            first = pinyin[: by_sound.dest_start].count(" ")
            last = pinyin[: max(by_sound.dest_end - 1, 0)].count(" ")
            if han and first < len(han):
                last = min(last, len(han) - 1)
                # the character alignment may clip a neighbouring syllable: drop edges not in the phrase
                syllables, wanted = pinyin.split(), set(query_pinyin.split())
                while first < last and syllables[first] not in wanted:
                    first += 1
                while last > first and syllables[last] not in wanted:
                    last -= 1
                best = (by_sound.score / 100.0, han[first], han[last] + 1, "sound")
    return best


def search_phrases(
    con: duckdb.DuckDBPyConnection,
    viewer: Viewer,
    phrase: str,
    *,
    roles: tuple[str, ...] = (),
    date_from: date | None = None,
    date_to: date | None = None,
    fuzzy: bool = True,
    misheard_only: bool = False,
    min_similarity: float = 0.75,
    limit: int = 100,
    candidate_cap: int | None = None,
    refine: bool = False,
) -> pd.DataFrame:
    """Utterances that contain `phrase` (or sound like it when `fuzzy`), best first.

    Each hit carries the matched text, its similarity, the clip times of the
    match and the neighbouring utterances of the same call as context.
    `misheard_only` keeps the utterances that sound like the phrase but do
    not contain its characters (what the recognizer got wrong).
    SQL ranks candidates by how much of the phrase they share and keeps
    `candidate_cap` (default 20 x limit) of them for rapidfuzz.
    `refine` re-checks the best 3 x limit hits with the rulebook's phrase
    matcher (`qa.phrases.find`: near-homophones, word boundaries) and keeps
    those it accepts, with its similarity and word-timed span.
    The viewer's role decides whose calls are searched and whether the text
    shown is raw or has personal numbers masked (matching runs on what was said).
    """
    query = normalize_text(phrase)
    if not query:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    query_pinyin = pinyin_key(query) if fuzzy else ""
    pairs = _syllable_pairs(query_pinyin)
    hit_terms = ["CASE WHEN contains(u.text, ?) THEN 100 ELSE 0 END"]
    hit_params: list[Any] = [query]
    for pair in pairs:  # may also hit inside a longer syllable: rapidfuzz sorts those out
        hit_terms.append("CASE WHEN contains(u.pinyin, ?) THEN 1 ELSE 0 END")
        hit_params.append(pair)
    # a misheard phrase keeps at least half of its syllable pairs
    need = max(1, math.ceil(len(pairs) / 2)) if pairs else 100
    where, params = "TRUE", []
    scope, scope_params = call_scope(viewer, for_phrases=True)
    if date_from is not None or date_to is not None or scope != "TRUE":
        dates, params = date_clause(date_from, date_to)
        where = f"u.call_id IN (SELECT c.call_id FROM calls c WHERE {scope} AND {dates})"
        params = scope_params + params
    if misheard_only:
        where += " AND NOT contains(u.text, ?)"
        params.append(query)
    if roles:
        where += " AND list_contains(?::VARCHAR[], u.role)"
        params.append(list(roles))
    cap = candidate_cap or max(20 * limit, 1000)
    # utterances alone first (the big table), calls joined to the capped candidates only
    candidates = con.execute(
        f"""
        WITH candidate AS (
            SELECT u.call_id, u.idx, u.role, u.start_s, u.end_s, u.text, u.pinyin, {' + '.join(hit_terms)} AS hits
            FROM utterances u WHERE {where} AND hits >= ?
            ORDER BY hits DESC, u.call_id DESC, u.idx LIMIT ?
        )
        SELECT k.call_id, k.idx, k.role, c.started_at, c.agent_id, c.team, c.path,
               k.start_s, k.end_s, k.text, k.pinyin, k.hits
        FROM candidate k JOIN calls c USING (call_id)
        """,
        hit_params + params + [need, cap],
    ).fetchall()
    scored: list[_Hit] = []
    for call_id, idx, role, started_at, agent_id, team, path, start_s, end_s, text, pinyin, _ in candidates:
        at = text.find(query)
        if at >= 0:  # the characters themselves: no need to align
            similarity, start, end, matched_by = 1.0, at, at + len(query), "text"
        else:
            similarity, start, end, matched_by = _best_span(query, query_pinyin, text, pinyin or "")
        if similarity >= min_similarity:
            scored.append(_Hit(call_id, idx, role, started_at, agent_id, team, path, start_s, end_s, text,
                               start=start, end=end, similarity=round(similarity, 3), matched_by=matched_by))
    # equal similarity: a match on the characters before one on the sound alone, then the newest
    scored.sort(key=lambda h: (-h.similarity, h.matched_by != "text",
                               -h.started_at.timestamp() if h.started_at else 0))
    if not refine:
        hits = _finish(con, scored[:limit])
    else:
        hits = _refine(_finish(con, scored[: 3 * limit]), query, min_similarity).head(limit).reset_index(drop=True)
    return hits if viewer.rights.raw_text else _masked(con, hits)


def _masked(con: duckdb.DuckDBPyConnection, hits: pd.DataFrame) -> pd.DataFrame:
    """The hits as a role without raw text sees them: personal numbers masked in every text shown."""
    if hits.empty:
        return hits
    rows = con.execute(
        "SELECT call_id, idx, role, coalesce(redacted_text, text), redacted_text IS NOT NULL FROM utterances "
        "WHERE list_contains(?::VARCHAR[], call_id)", [sorted(set(hits["call_id"]))]).fetchall()
    lines = {(c, i): (role, text, masked) for c, i, role, text, masked in rows}
    out = hits.copy()
    for n, h in enumerate(hits.itertuples(index=False)):
        _role, text, masked = lines.get((h.call_id, h.idx), (h.role, mask_text(h.text), True))
        out.at[n, "text"] = text
        if masked:
            out.at[n, "words_json"] = None  # word texts would show the digits
            out.at[n, "match_text"] = h.match_text if h.match_text in text else mask_text(h.match_text)
        for side, other in (("before", h.idx - 1), ("after", h.idx + 1)):
            line = lines.get((h.call_id, other))
            out.at[n, side] = f"{line[0]}: {line[1]}" if line else ""
    return out


def _hidden(con: duckdb.DuckDBPyConnection, call_ids: list[str]) -> dict[str, list[tuple[float, float]]]:
    spans: dict[str, list[tuple[float, float]]] = {}
    for call_id, start, end in con.execute(
            "SELECT call_id, start_s, end_s FROM pii_spans WHERE list_contains(?::VARCHAR[], call_id) ORDER BY start_s",
            [call_ids]).fetchall():
        spans.setdefault(call_id, []).append((float(start), float(end)))
    return spans


def _finish(con: duckdb.DuckDBPyConnection, scored: list[_Hit]) -> pd.DataFrame:
    """Clip times from word timestamps and the neighbouring lines, for the hits shown only."""
    if not scored:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    hidden = _hidden(con, sorted({h.call_id for h in scored}))
    # every line of the hits' calls (few), then the neighbours in Python
    rows = con.execute(
        "SELECT call_id, idx, role, text, words_json, coalesce(redacted_text, text) FROM utterances "
        "WHERE list_contains(?::VARCHAR[], call_id)",
        [sorted({h.call_id for h in scored})],
    ).fetchall()
    lines = {(c, i): _Line(role, text, words, masked) for c, i, role, text, words, masked in rows}
    out = []
    for h in scored:
        line = lines.get((h.call_id, h.idx))
        words = line.words_json if line else None
        clip_start, clip_end = span_times(words_from_json(words), h.text, h.start, h.end, h.start_s, h.end_s)
        before, after = lines.get((h.call_id, h.idx - 1)), lines.get((h.call_id, h.idx + 1))
        out.append({
            "call_id": h.call_id, "idx": h.idx, "role": h.role, "started_at": h.started_at, "agent_id": h.agent_id,
            "team": h.team, "path": h.path, "start_s": h.start_s, "end_s": h.end_s,
            "clip_start_s": clip_start, "clip_end_s": clip_end, "text": h.text, "match_text": h.text[h.start : h.end],
            "similarity": h.similarity, "matched_by": h.matched_by,
            "before": f"{before.role}: {before.text}" if before else "",
            "after": f"{after.role}: {after.text}" if after else "",
            "words_json": words, "hidden": hidden.get(h.call_id, []),
            "masked_text": line.masked if line else mask_text(h.text),
        })
    return pd.DataFrame(out, columns=RESULT_COLUMNS)


def _refine(hits: pd.DataFrame, query: str, min_similarity: float) -> pd.DataFrame:
    """Keep the hits the rulebook matcher accepts, with its similarity, span and times."""
    from qa.phrases import PhraseSpec, find
    from qa.records import Utterance

    if hits.empty:
        return hits
    spec = (PhraseSpec(text=query),)
    rows, best = [], []
    for i, hit in enumerate(hits.itertuples(index=False)):
        utterance = Utterance(hit.role, 0, float(hit.start_s), float(hit.end_s), hit.text,
                              words_from_json(hit.words_json))
        found = find(spec, [utterance], min_similarity=min_similarity)
        if found:
            rows.append(i)
            best.append(max(found, key=lambda m: m.similarity))
    out = hits.iloc[rows].copy()
    out["similarity"] = [round(m.similarity, 3) for m in best]
    out["match_text"] = [m.text for m in best]
    out["clip_start_s"] = [m.start_s for m in best]
    out["clip_end_s"] = [m.end_s for m in best]
    return out.sort_values(["similarity", "matched_by"], ascending=[False, False], kind="stable")


def legitimate_contexts(book: Any, phrase: str, texts: Iterable[str]) -> list[str | None]:
    """For each text, the rulebook's legitimate context it holds for a phrase related to `phrase`
    (如果您还有不清楚的地方 for 不清楚), or None.

    A forbidden phrase is related when one of the two holds the other; its
    exclusions are the contexts in which the rules do not count it.
    """
    query = normalize_text(phrase)
    contexts = [
        (normalize_text(e), e)
        for rule in (book.rules.values() if book is not None and query else ())
        for group in rule.phrases.values() for spec in group
        if (key := normalize_text(spec.text)) and (key in query or query in key)
        for e in spec.exclusions
    ]
    found = []
    for text in texts:
        said = normalize_text(text or "")
        found.append(next((e for key, e in contexts if key and key in said), None))
    return found
