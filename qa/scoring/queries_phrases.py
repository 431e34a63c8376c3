"""Phrase search over every transcript, for the trainers' phrase library.

The recognizer often mishears a phrase as other characters with the same
sound (致电 -> 支店, 工号 -> 功耗), so the search runs in two steps:
1. SQL picks candidate utterances whose text contains the phrase or whose
   stored tone-less pinyin shares enough of the phrase's syllable pairs;
2. rapidfuzz ranks the candidates on characters and on pinyin, finds the
   matched span and maps it to word times for the audio clip.
"""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

import duckdb
import pandas as pd
from rapidfuzz import fuzz

from qa.scoring.queries import date_clause
from qa.transcribe.normalize import normalize_text, pinyin_key

__all__ = ["search_phrases", "span_times"]

RESULT_COLUMNS = [
    "call_id", "idx", "role", "started_at", "agent_id", "team", "path", "start_s", "end_s",
    "clip_start_s", "clip_end_s", "text", "match_text", "similarity", "matched_by", "before", "after", "words_json",
]


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


def span_times(words_json: str | None, text: str, start: int, end: int, utt_start: float, utt_end: float) -> tuple[float, float]:
    """Times of the characters text[start:end], from the utterance's word timestamps."""
    try:
        words = json.loads(words_json) if words_json else []
    except ValueError:
        words = []
    words = [w for w in words if isinstance(w, list) and len(w) >= 3]
    if not words or not text:
        return utt_start, utt_end
    joined = "".join(str(w[0]).strip() for w in words)
    # word texts rarely re-join to the stored text exactly; map offsets proportionally
    scale = len(joined) / max(len(text), 1)
    lo, hi = start * scale, end * scale
    t0 = t1 = None
    pos = 0.0
    for word in words:
        width = len(str(word[0]).strip())
        if pos + width > lo and pos < hi:
            t0 = float(word[1]) if t0 is None else t0
            t1 = float(word[2])
        pos += width
    if t0 is None:
        return utt_start, utt_end
    return t0, t1


def search_phrases(
    con: duckdb.DuckDBPyConnection,
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
    if date_from is not None or date_to is not None:
        dates, params = date_clause(date_from, date_to)
        where = f"u.call_id IN (SELECT c.call_id FROM calls c WHERE {dates})"
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
    scored = []
    for call_id, idx, role, started_at, agent_id, team, path, start_s, end_s, text, pinyin, _ in candidates:
        at = text.find(query)
        if at >= 0:  # the characters themselves: no need to align
            similarity, start, end, matched_by = 1.0, at, at + len(query), "text"
        else:
            similarity, start, end, matched_by = _best_span(query, query_pinyin, text, pinyin or "")
        if similarity >= min_similarity:
            scored.append((call_id, idx, role, started_at, agent_id, team, path, start_s, end_s, text,
                           start, end, round(similarity, 3), matched_by))
    # equal similarity: a match on the characters before one on the sound alone, then the newest
    scored.sort(key=lambda h: (-h[12], h[13] != "text", -h[3].timestamp() if h[3] else 0))
    if not refine:
        return _finish(con, scored[:limit])
    hits = _refine(_finish(con, scored[: 3 * limit]), query, min_similarity)
    return hits.head(limit).reset_index(drop=True)


def _finish(con: duckdb.DuckDBPyConnection, scored: list[tuple]) -> pd.DataFrame:
    """Clip times from word timestamps and the neighbouring lines, for the hits shown only."""
    if not scored:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    # every line of the hits' calls (few), then the neighbours in Python
    rows = con.execute(
        "SELECT call_id, idx, role, text, words_json FROM utterances WHERE list_contains(?::VARCHAR[], call_id)",
        [sorted({h[0] for h in scored})],
    ).fetchall()
    lines = {(c, i): (role, text, words) for c, i, role, text, words in rows}
    out = []
    for call_id, idx, role, started_at, agent_id, team, path, start_s, end_s, text, start, end, sim, by in scored:
        words = lines.get((call_id, idx), (None, None, None))[2]
        clip_start, clip_end = span_times(words, text, start, end, start_s, end_s)
        before, after = lines.get((call_id, idx - 1)), lines.get((call_id, idx + 1))
        out.append({
            "call_id": call_id, "idx": idx, "role": role, "started_at": started_at, "agent_id": agent_id,
            "team": team, "path": path, "start_s": start_s, "end_s": end_s,
            "clip_start_s": clip_start, "clip_end_s": clip_end, "text": text, "match_text": text[start:end],
            "similarity": sim, "matched_by": by,
            "before": f"{before[0]}: {before[1]}" if before else "", "after": f"{after[0]}: {after[1]}" if after else "",
            "words_json": words,
        })
    return pd.DataFrame(out, columns=RESULT_COLUMNS)


def _refine(hits: pd.DataFrame, query: str, min_similarity: float) -> pd.DataFrame:
    """Keep the hits the rulebook matcher accepts, with its similarity, span and times."""
    from qa.phrases import PhraseSpec, find
    from qa.records import Utterance, Word

    if hits.empty:
        return hits
    spec = (PhraseSpec(text=query),)
    keep = []
    for i, hit in enumerate(hits.itertuples(index=False)):
        words = json.loads(hit.words_json) if hit.words_json else []
        utterance = Utterance(hit.role, 0, float(hit.start_s), float(hit.end_s), hit.text,
                              tuple(Word(str(w[0]), float(w[1]), float(w[2]), float(w[3]) if len(w) > 3 else 1.0)
                                    for w in words))
        found = find(spec, [utterance], min_similarity=min_similarity)
        if found:
            best = max(found, key=lambda m: m.similarity)
            keep.append((i, round(best.similarity, 3), best.text, best.start_s, best.end_s))
    out = hits.iloc[[k[0] for k in keep]].copy()
    out["similarity"] = [k[1] for k in keep]
    out["match_text"] = [k[2] for k in keep]
    out["clip_start_s"] = [k[3] for k in keep]
    out["clip_end_s"] = [k[4] for k in keep]
    return out.sort_values(["similarity", "matched_by"], ascending=[False, False], kind="stable")
