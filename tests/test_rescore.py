"""Rescore: the bulk, pooled, memoized path gives exactly the rows of the plain per-call path.

The database is built from varied calls: the golden transcript lines (mandated
phrases, recognition errors, forbidden words and their innocent contexts),
stereo and mono, late and timely answers, holds, silent lines, double talk,
with word timestamps, so every check kind and both matcher levels are used.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from qa.phrases import load_rulebook
from qa.records import CallResult, Interval, Overlap, Timeline, Transcript, Utterance, Word
from qa.scoring import store
from qa.scoring.db import reading, writing
from qa.scoring.rescore import run_rescore, run_rescore_per_call

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.txt"))
CUSTOMER_LINES = ("我想查一下这个月的话费", "喂,你好", "我不清楚该问哪个部门", "好的谢谢", "没有了",
                  "你们这是什么服务态度", "喂喂,能听到吗", "我要投诉")


def golden_lines() -> list[tuple[str, str]]:
    lines = []
    for path in GOLDEN:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                role, _, text = line.partition("  # ")[0].partition("|")
                lines.append((role.strip(), text.strip()))
    return lines


def _words(text: str, start: float, end: float) -> tuple[Word, ...]:
    chunks = [text[i:i + 2] for i in range(0, len(text), 2)]
    step = (end - start) / max(len(chunks), 1)
    return tuple(Word(c, round(start + i * step, 3), round(start + (i + 1) * step, 3), 0.9)
                 for i, c in enumerate(chunks))


def varied_call(rng: random.Random, n: int, lines: list[tuple[str, str]]) -> CallResult:
    stereo = rng.random() < 0.7
    silent = rng.random() < 0.15
    rings = rng.choice([0, 0, 1, 2, 3, 4, 5, 6])
    t = 0.5 + 5.0 * rings + rng.uniform(0.0, 2.0)
    answer = t if rings else None
    utts: list[Utterance] = []
    speech: dict[str, list[Interval]] = {"agent": [], "customer": []}
    for _ in range(rng.randint(1, 9)):
        if silent or rng.random() < 0.55:
            role, text = rng.choice(lines)
            role = role if role in ("agent", "customer") else "agent"
        else:
            role, text = "customer", rng.choice(CUSTOMER_LINES)
        if silent:
            role = "agent"
        dur = round(0.18 * len(text) * rng.uniform(0.5, 1.4), 2)
        start = round(t, 2)
        end = round(start + dur, 2)
        words = _words(text, start, end) if rng.random() < 0.8 else ()
        utts.append(Utterance(role if stereo else rng.choice([role, "unknown"]), 0 if role == "agent" else 1,
                              start, end, text, words))
        speech[role].append(Interval(start, end))
        t = end + rng.choice([0.3, 0.8, 1.5, 2.5, 6.0, 12.0, 16.0])
    duration = round(t + rng.uniform(0.0, 8.0), 2)
    overlaps = ()
    if stereo and len(speech["agent"]) and len(speech["customer"]) and rng.random() < 0.3:
        c = speech["customer"][0]
        a = Interval(c.start_s + 0.2, min(c.end_s + 2.0, duration))
        speech["agent"].append(a)
        overlaps = (Overlap(a.start_s, min(a.end_s, c.end_s), "agent", "customer"),)
    if not stereo:
        speech = {"unknown": speech["agent"] + speech["customer"]}
    tl = Timeline(duration, {r: tuple(sorted(v, key=lambda i: i.start_s)) for r, v in speech.items()}, (),
                  overlaps, tuple(Interval(0.5 + 5 * i, 1.5 + 5 * i) for i in range(rings)), rings, answer,
                  rng.choice(["detected", "metadata"]) if rings else "none", stereo)
    call_id = f"day{n % 3}/call{n:04d}"
    transcript = Transcript(f"/calls/{call_id}.wav", duration, 8000, 2 if stereo else 1, tuple(utts), timeline=tl)
    return CallResult(call_id, f"/calls/{call_id}.wav", f"sha{n}", transcript, (), 100.0, True, "v-old",
                      {"agent_id": f"A{n % 7}"})


def build_db(path: Path, n_calls: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    lines = golden_lines()
    with writing(path) as con:  # one transaction: the per-call writer's speed is not under test
        for n in range(n_calls):
            store.write_call(con, varied_call(rng, n, lines))
        store.write_call(con, CallResult("bad/broken", "/calls/bad.wav", "x", None, status="error",
                                         error="/calls/bad.wav: truncated", rulebook_version="v-old"))


def dump(db: Path) -> dict[str, list[tuple]]:
    with reading(db) as con:
        return {
            "rule_results": con.execute("SELECT * FROM rule_results ORDER BY call_id, rule_id").fetchall(),
            "findings": con.execute("SELECT * FROM findings ORDER BY finding_id").fetchall(),
            "scores": con.execute("SELECT * FROM scores ORDER BY call_id").fetchall(),
            "calls": con.execute("SELECT call_id, status, rulebook_version FROM calls ORDER BY call_id").fetchall(),
            "utterances": con.execute("SELECT count(*), sum(hash(text || coalesce(words_json, ''))) "
                                      "FROM utterances").fetchall(),
        }


@pytest.fixture(scope="module")
def varied_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rescore") / "varied.duckdb"
    build_db(path, 260)
    return path


@pytest.mark.parametrize("workers, chunk", [(1, 2000), (2, 70)])
def test_fast_rescore_gives_the_rows_of_the_per_call_path(varied_db, tmp_path, monkeypatch, workers, chunk):
    from qa.scoring import rescore

    monkeypatch.setattr(rescore, "MIN_POOL_CALLS", 0)
    monkeypatch.setattr(rescore, "TASK", 40)
    book = load_rulebook()
    reference, fast = tmp_path / "reference.duckdb", tmp_path / "fast.duckdb"
    shutil.copy(varied_db, reference)
    shutil.copy(varied_db, fast)
    slow = run_rescore_per_call(reference, book)
    quick = run_rescore(fast, book, workers=workers, chunk=chunk)
    expected, got = dump(reference), dump(fast)
    assert slow.rescored == quick.rescored == 260 and not slow.errors and not quick.errors
    assert (slow.passed, slow.scores) == (quick.passed, quick.scores)
    for table in expected:
        assert got[table] == expected[table], table
    # the rules really ran, and differently per call: not a table of identical rows
    outcomes = {(r[1], r[2]) for r in got["rule_results"]}
    assert len(outcomes) >= 15 and len(got["findings"]) > 260
    assert {r[2] for r in got["calls"]} == {book.version, "v-old"}  # the broken call keeps its version
    assert len({round(r[2]) for r in got["scores"]}) >= 5


def test_a_call_the_rules_cannot_read_keeps_its_old_rows(varied_db, tmp_path):
    import duckdb

    db = tmp_path / "damaged.duckdb"
    shutil.copy(varied_db, db)
    con = duckdb.connect(str(db))
    con.execute("UPDATE calls SET timeline_json = '{\"no\": 1}' WHERE call_id = 'day1/call0001'")
    before = con.execute("SELECT score, rulebook_version FROM scores WHERE call_id = 'day1/call0001'").fetchall()
    con.close()
    summary = run_rescore(db, load_rulebook(), workers=1)
    assert [c for c, _ in summary.errors] == ["day1/call0001"] and "KeyError" in summary.errors[0][1]
    assert summary.rescored == 259
    with reading(db) as con:
        after = con.execute("SELECT score, rulebook_version FROM scores WHERE call_id = 'day1/call0001'").fetchall()
        version = con.execute("SELECT rulebook_version FROM calls WHERE call_id = 'day1/call0001'").fetchone()[0]
    assert after == before == [(100.0, "v-old")] and version == "v-old"


def test_matcher_memo_gives_the_same_matches():
    from qa.phrases import find, matcher

    book = load_rulebook()
    utts = [Utterance(r if r in ("agent", "customer") else "agent", 0, 5.0 * i, 5.0 * i + 4, text,
                      _words(text, 5.0 * i, 5.0 * i + 4) if i % 2 else ())
            for i, (r, text) in enumerate(golden_lines() * 2)]
    groups = [(r, g) for r in book.rules.values() for g in r.phrases.values()]
    plain = [find(g, utts, roles=r.roles, slots=book.slots) for r, g in groups]
    with matcher.reuse_utterance_work():
        first = [find(g, utts, roles=r.roles, slots=book.slots) for r, g in groups]
        again = [find(g, utts, roles=r.roles, slots=book.slots) for r, g in groups]
        assert any(i.memo for _, i in matcher._recent.values())
    assert plain == first == again and sum(map(len, plain)) > 50
    assert not any(i.memo for _, i in matcher._recent.values())  # forgotten after the block
