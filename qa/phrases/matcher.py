"""Find rulebook phrases in recognized utterances despite recognition errors.

A phrase is matched on three levels at once: characters, tone-less pinyin and
near-homophone pinyin (see textnorm), each scored with rapidfuzz's partial
alignment; the similarity is the best level, discounted for the coarser ones.
Templates are split at their slots into fragments that must appear in order,
each within a bounded gap of the previous one ({company}, {agent_no} accept any
text; closed slots such as {holiday} are expanded from the rulebook's values).
A phrase that ends in a sentence-final particle (啦, 吧, 了...) is also matched
without it: recognizers swap and drop those, and they carry tone, not words.

Phrases of at most three characters are too short for fuzzy matching: one
character must match exactly, two or three must match syllable by syllable,
the hit must not end inside a word (jieba: 再见|面), and a homophone that is
itself a dictionary word (步行 for 不行) does not count.

Speed: phrases are compiled once per phrase tuple (cached), and an inverted
index of near-homophone bigrams keeps rapidfuzz away from utterances that
cannot reach the threshold. Inside `reuse_utterance_work()` (a rescore) the
hits found in one utterance text are kept and reused: call-centre lines
repeat across calls, and only the times (from each utterance's words) differ.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz

from qa.phrases.rulebook import SLOT_RE, PhraseSpec
from qa.phrases.textnorm import NUMERAL_CHARS, Keyed, keyed
from qa.records import Match, Utterance

# Tuned on the dev split of bench/phrase_corpus.py, reported on its held-out split.
DEFAULT_MIN_SIMILARITY = 0.8
# Open slots: any text of up to this many key characters (company names, 工号 digits).
OPEN_SLOT_GAP = {"company": 14, "agent_no": 8, "surname": 1}
OTHER_SLOT_GAP = 8
FRAGMENT_SLACK = 2  # recognizers insert a character or two around slot values
# Characters, tone-less syllables, near-homophones, pinyin letters: sums to 1.
LEVEL_WEIGHTS = (0.2, 0.1, 0.3, 0.4)
HOMOPHONE_SIMILARITY = 0.95  # a short phrase heard as same-sounding other characters
SHORT_LEN = 3
EXCLUSION_SLACK = 1  # a fuzzy hit may spill one character past its legit context
_AGENT_NO_CHARS = NUMERAL_CHARS | {"号"}
PREFILTER = True  # the bigram index; off only to prove it loses nothing
# Sentence-final particles carry a line's tone, not its words, and recognizers
# swap them (啦 heard as 了): a phrase ending in one also matches without it.
FINAL_PARTICLE_RE = re.compile(r"[啦了吧呀啊嘛哦]\W*$")
MIN_STRIPPED_CHARS = 4  # 懂了吧 stays whole: 懂了 alone is everywhere
MEMO_LIMIT = 200_000  # utterance texts remembered per phrase group before the memo starts over


@dataclass(frozen=True)
class _Fragment:
    text: Keyed
    max_gap: int  # key characters allowed between the previous fragment and this one


@dataclass(frozen=True)
class _Compiled:
    spec: PhraseSpec
    variants: tuple[_Variant, ...]
    short: Keyed | None  # set for phrases of <= SHORT_LEN characters without slots
    grams: frozenset[str]  # of all variants together: what the index files the phrase under
    # Per variant: (its own bigrams, its characters), so that the index asks of
    # a text only what one variant needs (a slot value or a final particle less).
    variant_sizes: tuple[tuple[int, int], ...]
    exclusions: tuple[Keyed, ...]  # the legit contexts
    # Contexts that are the phrase less a word or two (请问有… for 请问还有…): a
    # garbled text that lacks those words is better explained by the context.
    fuzzy_exclusions: tuple[Keyed, ...]


def _bigrams(codes: str) -> set[str]:
    return {codes[i:i + 2] for i in range(len(codes) - 1)} if len(codes) > 1 else {codes}


def _expand(text: str, closed: Mapping[str, Sequence[str]]) -> list[str]:
    """Closed slots replaced by each of their values; open slots stay."""
    found = next((m for m in SLOT_RE.finditer(text) if m.group(1) in closed), None)
    if found is None:
        return [text]
    head, tail = text[:found.start()], text[found.end():]
    return [v for value in closed[found.group(1)] for v in _expand(head + value + tail, closed)]


@dataclass(frozen=True)
class _Variant:
    fragments: tuple[_Fragment, ...]
    lead_slot: str | None  # a slot before the first fragment
    trail_slot: str | None  # a slot after the last fragment


def _variant(text: str) -> _Variant:
    parts = [p for p in re.split(r"(\{\w+\})", text) if keyed(p).key or p.startswith("{")]
    frags: list[_Fragment] = []
    gap = 0
    for part in parts:
        slot = re.fullmatch(r"\{(\w+)\}", part)
        if slot:
            gap += OPEN_SLOT_GAP.get(slot.group(1), OTHER_SLOT_GAP)
            continue
        k = keyed(part)
        if k.key:
            frags.append(_Fragment(k, gap + (FRAGMENT_SLACK if gap else 0)))
            gap = 0
    slot = [m.group(1) if (m := re.fullmatch(r"\{(\w+)\}", p)) else None for p in parts[:1] + parts[-1:]]
    return _Variant(tuple(frags), slot[0] if parts else None, slot[-1] if parts else None)


def _without_final_particle(text: str) -> str | None:
    """The phrase less its sentence-final particle, when what is left is long enough."""
    m = FINAL_PARTICLE_RE.search(text)
    if m is None or len(keyed(text[:m.start()]).key) < MIN_STRIPPED_CHARS:
        return None
    return text[:m.start()]


@lru_cache(maxsize=4096)
def _compile(spec: PhraseSpec, closed: tuple[tuple[str, tuple[str, ...]], ...]) -> _Compiled:
    texts = _expand(spec.text, dict(closed))
    texts += [t for text in texts if (t := _without_final_particle(text))]
    variants = tuple(v for text in texts if (v := _variant(text)).fragments)
    grams: set[str] = set()
    sizes = []
    for v in variants:
        own = set().union(*(_bigrams(frag.text.near) for frag in v.fragments))
        sizes.append((len(own), sum(len(f.text.key) for f in v.fragments)))
        grams |= own
    short = None
    only = variants[0] if len(variants) == 1 else None
    if only and len(only.fragments) == 1 and not (only.lead_slot or only.trail_slot) \
            and len(only.fragments[0].text.key) <= SHORT_LEN:
        short = only.fragments[0].text
    exclusions = tuple(k for e in spec.exclusions if (k := keyed(e)).key)
    whole = ["".join(f.text.near for f in v.fragments) for v in variants]
    fuzzy = tuple(e for e in exclusions if any(_subsequence(e.near, w) for w in whole))
    return _Compiled(spec, variants, short, frozenset(grams), tuple(sizes), exclusions, fuzzy)


def _subsequence(short: str, long: str) -> bool:
    rest = iter(long)
    return len(short) < len(long) and all(ch in rest for ch in short)


@dataclass(frozen=True)
class _Index:
    compiled: tuple[_Compiled, ...]
    by_gram: dict[str, tuple[int, ...]]
    gram_set: frozenset[str]
    own_roles: bool  # some phrase carries its own roles
    memo: dict = field(default_factory=dict, compare=False, repr=False)  # see reuse_utterance_work


@lru_cache(maxsize=256)
def _index(phrases: tuple[PhraseSpec, ...], closed: tuple[tuple[str, tuple[str, ...]], ...]) -> _Index:
    compiled = tuple(_compile(p, closed) for p in phrases)
    by_gram: dict[str, list[int]] = {}
    for i, c in enumerate(compiled):
        for gram in c.grams:
            by_gram.setdefault(gram, []).append(i)
    return _Index(compiled, {g: tuple(v) for g, v in by_gram.items()}, frozenset(by_gram),
                  any(c.spec.roles for c in compiled))


@lru_cache(maxsize=8192)
def _tokens(key: str) -> tuple[frozenset[int], dict[tuple[int, int], str]]:
    import logging

    import jieba  # loading its dictionary takes about a second: only when a short phrase hits

    jieba.setLogLevel(logging.WARNING)
    bounds, words = {0}, {}
    for word, start, end in jieba.tokenize(key):
        bounds.add(end)
        words[(start, end)] = word
    return frozenset(bounds), words


def prepare(groups: Iterable[Sequence[PhraseSpec]], slots: Mapping[str, Sequence[str]] | None = None) -> None:
    """Compile phrase groups now, and load jieba if a short phrase will need it.

    For a process about to fork workers: they inherit the work instead of each
    repeating it (jieba's dictionary takes seconds to load).
    """
    closed = _closed(slots)
    indexes = [_lookup_index(g, closed) for g in groups]
    if any(c.short is not None and len(c.short.key) > 1 for index in indexes for c in index.compiled):
        _tokens("你好")


def _in_dictionary(word: str) -> bool:
    import jieba

    return jieba.dt.FREQ.get(word, 0) > 0


def _excluded(c: _Compiled, k: Keyed, start: int, end: int, similarity: float | None = None) -> bool:
    """The hit lies inside a legit context: found as is (near-homophones), or, for
    a fuzzy hit of `similarity`, a context that is the phrase less some words
    and explains the same text at least as well as the phrase does."""
    for context in c.exclusions:
        at = k.near.find(context.near)  # a misheard legit context still excuses
        while at != -1:
            if at - EXCLUSION_SLACK <= start and end <= at + len(context.near) + EXCLUSION_SLACK:
                return True
            at = k.near.find(context.near, at + 1)
    if similarity is None:
        return False
    for context in c.fuzzy_exclusions:
        reach = len(context.key) + EXCLUSION_SLACK
        score, s, e = _align(context, k, max(0, start - reach), min(len(k.key), end + reach))
        if score >= similarity and s - EXCLUSION_SLACK <= start and end <= e + EXCLUSION_SLACK:
            return True
    return False


def _short_hit(c: _Compiled, k: Keyed) -> tuple[float, int, int] | None:
    phrase = c.short
    assert phrase is not None
    needle, hay = (phrase.key, k.key) if len(phrase.key) == 1 else (phrase.py, k.py)
    at = hay.find(needle)
    while at != -1:
        end = at + len(needle)
        exact = k.key[at:end] == phrase.key
        ok = not _excluded(c, k, at, end)
        if ok and len(needle) > 1:
            bounds, words = _tokens(k.key)
            ok = end in bounds  # 再见|面 cuts a word; 说|不清楚 still says 不清楚
            if ok and not exact and (at, end) in words:
                ok = not _in_dictionary(words[(at, end)])  # 步行 is a word, not a misheard 不行
        if ok:
            return (1.0 if exact else HOMOPHONE_SIMILARITY, at, end)
        at = hay.find(needle, at + 1)
    return None


def _align(frag: Keyed, k: Keyed, lo: int, hi: int) -> tuple[float, int, int]:
    """Best window for `frag` in key[lo:hi]: (similarity, start, end).

    The window is found on the near-homophone level (the most lenient), kept
    at the phrase's length where the text allows (a phrase cut short by the
    end of the text is not a whole phrase), then scored on all three levels.
    """
    n, hay_n = len(frag.key), hi - lo
    if hay_n <= 0:
        return (0.0, lo, lo)
    if hay_n <= n:
        s, e = lo, hi
    else:
        res = fuzz.partial_ratio_alignment(frag.near, k.near[lo:hi])
        s, e = lo + res.dest_start, lo + res.dest_end
        if e - s < n:
            s, e = (s, s + n) if s == lo else (e - n, e)
    # Indel ratio 2*LCS/(n+w) turned into LCS/n: the share of the phrase that is
    # there, so a window shorter than the phrase is not rewarded for being short
    share = (n + e - s) / (2 * n * 100.0)
    needles = (frag.key, frag.py, frag.near, "".join(frag.syllables))
    texts = (k.key[s:e], k.py[s:e], k.near[s:e], "".join(k.syllables[s:e]))
    score = share * sum(w * fuzz.ratio(needle, text) for w, needle, text in zip(LEVEL_WEIGHTS, needles, texts) if w)
    wanted = set(frag.near)
    while s < e and k.near[s] not in wanted:
        s += 1
    while e > s and k.near[e - 1] not in wanted:
        e -= 1
    return (score, s, e)


def _fuzzy_hit(c: _Compiled, k: Keyed) -> tuple[float, int, int] | None:
    best: tuple[float, int, int] | None = None
    for variant in c.variants:
        total = weight = 0.0
        start, pos = None, 0
        for i, frag in enumerate(variant.fragments):
            lo, hi = (0, len(k.key)) if i == 0 else (pos, min(len(k.key), pos + frag.max_gap + len(frag.text.key) + FRAGMENT_SLACK))
            score, s, e = _align(frag.text, k, lo, hi)
            total += score * len(frag.text.key)
            weight += len(frag.text.key)
            if e > s:
                start = s if start is None else start
                pos = e
        if start is not None and weight and (best is None or total / weight > best[0]):
            if variant.lead_slot == "agent_no":
                while start > 0 and k.key[start - 1] in _AGENT_NO_CHARS:
                    start -= 1
            if variant.trail_slot == "agent_no":
                while pos < len(k.key) and k.key[pos] in _AGENT_NO_CHARS:
                    pos += 1
            best = (total / weight, start, pos)
    if best is not None and _excluded(c, k, best[1], best[2], best[0]):
        return None
    return best


def _times(u: Utterance, k: Keyed, start: int, end: int) -> tuple[float, float]:
    """Seconds of key characters [start, end): from the words, else proportional."""
    n = max(len(k.key), 1)
    if u.words:
        owner = [i for i, w in enumerate(u.words) for _ in keyed(w.text).key]
        if owner:
            scale = len(owner) / n  # 1.0 when the words spell the utterance
            first = owner[min(len(owner) - 1, int(start * scale))]
            last = owner[min(len(owner) - 1, max(0, math.ceil(end * scale) - 1))]
            return u.words[first].start_s, max(u.words[last].end_s, u.words[first].start_s)
    dur = u.end_s - u.start_s
    return u.start_s + dur * start / n, u.start_s + dur * end / n


def _dedupe(matches: list[Match]) -> list[Match]:
    """Keep the best of overlapping hits in one utterance (a longer phrase wins a tie)."""
    kept: list[Match] = []
    # Ties end on the span and the phrase itself: the hits come in the order of a set of strings,
    # which differs from process to process, and a worker must score a call as any other does.
    for m in sorted(matches, key=lambda m: (-m.similarity, -(m.span[1] - m.span[0]), len(m.phrase), m.span[0],
                                            m.phrase)):
        if not any(o.span[0] < m.span[1] and m.span[0] < o.span[1] for o in kept):
            kept.append(m)
    return sorted(kept, key=lambda m: m.span[0])


_memo_on = 0  # depth of reuse_utterance_work()
_memo_used: dict[int, _Index] = {}  # indexes whose memo holds something
_recent: dict[tuple[int, tuple], tuple[Sequence[PhraseSpec], _Index]] = {}  # by id(phrases): no hashing of specs


@contextmanager
def reuse_utterance_work() -> Iterator[None]:
    """Within this block `find` remembers the hits of each utterance text and reuses them.

    The hits of a text depend only on the text, its speaker's role, the phrase
    group and the settings, so the results are the same with or without it.
    """
    global _memo_on
    _memo_on += 1
    try:
        yield
    finally:
        _memo_on -= 1
        if not _memo_on:
            for index in _memo_used.values():
                index.memo.clear()
            _memo_used.clear()


def _closed(slots: Mapping[str, Sequence[str]] | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(sorted((name, tuple(v)) for name, v in (slots or {}).items() if name not in OPEN_SLOT_GAP and v))


def _lookup_index(phrases: Sequence[PhraseSpec], closed: tuple) -> _Index:
    key = (id(phrases), closed)
    entry = _recent.get(key)
    if entry is not None and entry[0] is phrases:
        return entry[1]
    index = _index(tuple(phrases), closed)
    if isinstance(phrases, tuple):  # immutable: its id stands for its content while we hold it
        if len(_recent) > 512:
            _recent.clear()
        _recent[key] = (phrases, index)
    return index


_Hit = tuple  # (phrase, display text, span, similarity, key start, key end)


def _utterance_hits(index: _Index, k: Keyed, role: str, roles: Sequence[str] | None,
                    threshold: float) -> list[_Hit]:
    """The phrases of `index` found in one utterance, overlaps reduced to the best."""
    counts: dict[int, int] = {}
    for gram in k.grams & index.gram_set:  # unigrams serve one-character phrases
        for i in index.by_gram[gram]:
            counts[i] = counts.get(i, 0) + 1
    found: list[Match] = []
    keys: dict[int, tuple[int, int]] = {}
    if not PREFILTER:
        counts = {i: len(index.compiled[i].grams) for i in range(len(index.compiled))}
    for i, hits in counts.items():
        c = index.compiled[i]
        scope = c.spec.roles or roles
        if scope is not None and role not in scope:
            continue
        if c.short is not None:
            hit = _short_hit(c, k) if hits >= len(c.grams) else None
        else:
            # Each error breaks about two bigrams; a margin of three keeps the
            # index a pure speed-up (bench/phrases.py measures it against no index).
            needed = max(1, min(g - 3 * round(n * (1 - threshold)) for g, n in c.variant_sizes))
            hit = _fuzzy_hit(c, k) if hits >= needed else None
        if hit is None or hit[0] < threshold:
            continue
        sim, s, e = hit
        span = k.span(s, e)
        m = Match(phrase=c.spec.text, text=k.display[span[0]:span[1]], utterance_idx=0, span=span,
                  similarity=round(sim, 4), start_s=0.0, end_s=0.0, role=role)
        keys[id(m)] = (s, e)
        found.append(m)
    kept = _dedupe(found) if len(found) > 1 else found
    return [(m.phrase, m.text, m.span, m.similarity) + keys[id(m)] for m in kept]


def find(
    phrases: Sequence[PhraseSpec],
    utterances: Sequence[Utterance],
    *,
    roles: Sequence[str] | None = None,
    min_similarity: float | None = None,
    slots: Mapping[str, Sequence[str]] | None = None,
) -> list[Match]:
    """Every phrase found in the utterances spoken by `roles` (None = anyone).

    A phrase's own roles, when set, replace `roles`. Overlapping hits in one
    utterance are reduced to the best. Spans are offsets in the utterance's
    normalized text (normalize_text), times come from its words.
    """
    threshold = DEFAULT_MIN_SIMILARITY if min_similarity is None else min_similarity
    index = _lookup_index(phrases, _closed(slots))
    roles = tuple(roles) if roles is not None else None
    memo = index.memo if _memo_on else None
    if memo is not None:
        _memo_used[id(index)] = index
        if len(memo) > MEMO_LIMIT:
            memo.clear()
    matches: list[Match] = []
    for u_idx, u in enumerate(utterances):
        if roles is not None and not index.own_roles and u.role not in roles:
            continue
        if memo is None:
            k = keyed(u.text)
            hits = _utterance_hits(index, k, u.role, roles, threshold) if k.key else []
        else:
            mkey = (u.text, u.role, roles, threshold, PREFILTER)
            hits = memo.get(mkey)
            if hits is None:
                k = keyed(u.text)
                hits = memo[mkey] = _utterance_hits(index, k, u.role, roles, threshold) if k.key else []
            if hits:
                k = keyed(u.text)
        for phrase, text, span, sim, s, e in hits:
            start_s, end_s = _times(u, k, s, e)
            matches.append(Match(phrase=phrase, text=text, utterance_idx=u_idx, span=span, similarity=sim,
                                 start_s=start_s, end_s=end_s, role=u.role))
    return matches
