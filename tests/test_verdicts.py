"""Verdicts stay with what they judged across rule changes and re-transcription.

One call built in code breaks many rules of the default rulebook (a late
answer without apology, no greeting, a hold without request or thanks, two
服务忌语, no closing). Every finding gets a verdict; then each window setting
is changed, or the words are re-timed as another model would, and the call is
written again through the real store. Every verdict whose finding still
exists must be on it, and every other one listed as detached, never moved to
another finding.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from built_calls import conversation, utt
from viewers import as_viewer  # noqa: E402
from qa.phrases import load_rulebook
from qa.records import CallResult, Transcript, Utterance, Word
from qa.scoring import store
from qa.scoring.db import reading, writing
from qa.scoring.queries_reviews import record_review
from qa.scoring.rescore import run_rescore
from qa.scoring.score import apply_rules
from qa.scoring.verdicts import detached_verdicts

LINES = [
    utt("agent", 21.0, 24.0, "喂,你好,有什么事"),  # late (5 rings), no apology, no greeting; 喂 is a 服务忌语
    utt("customer", 25.0, 29.0, "我想查一下我的快递到哪里了"),
    utt("agent", 30.0, 33.0, "这个我不清楚,我查一下"),  # no wait request before the hold
    utt("agent", 46.0, 49.0, "查到了,明天送达"),  # no thanks after the 13 s hold
    utt("customer", 50.0, 52.0, "那地址能改吗"),
    utt("agent", 53.0, 56.0, "这个我也不清楚"),  # the same 服务忌语 again, later
    utt("customer", 57.0, 58.0, "好吧"),
    utt("agent", 59.0, 60.5, "嗯,好的"),  # no closing lines
]


def _timed(lines, shift_s: float = 0.0):
    """Utterances with one word per character, times shifted as a re-transcription would."""
    out = []
    for u in lines:
        step = (u.end_s - u.start_s) / max(len(u.text), 1)
        words = tuple(Word(ch, u.start_s + shift_s + i * step, u.start_s + shift_s + (i + 1) * step)
                      for i, ch in enumerate(u.text))
        out.append(Utterance(u.role, u.channel, u.start_s + shift_s, u.end_s + shift_s, u.text, words))
    return out


def _result(book, lines, call_id="c1", shift_s=0.0) -> CallResult:
    utts = _timed(lines, shift_s)
    tl = conversation(utts, duration=64.0, rings=5, ring_source="detected", answer=21.0)
    transcript = Transcript(f"/calls/{call_id}.wav", tl.duration_s, 8000, 2, tuple(utts), timeline=tl)
    return apply_rules(call_id, transcript.path, f"sha-{call_id}", transcript, {}, book)


def _override(tmp_path: Path, text: str):
    path = tmp_path / f"r{abs(hash(text))}.toml"
    path.write_text(text, encoding="utf-8")
    return load_rulebook(path)


def _judge_every_finding(db) -> dict[str, tuple]:
    """A verdict on each finding; returns finding id -> (rule, message, phrase) as judged."""
    with reading(db) as con:
        found = con.execute("SELECT finding_id, call_id, rule_id, message, matched_phrase FROM findings").fetchall()
    with writing(db) as con:
        for i, (fid, cid, *_rest) in enumerate(found):
            record_review(con, as_viewer("王质检"), call_id=cid, finding_id=fid, verdict=("confirmed", "false_positive")[i % 2])
    return {fid: (rule, message, phrase) for fid, _, rule, message, phrase in found}


def _check(db, judged: dict[str, tuple]) -> tuple[set[str], set[str]]:
    """Every verdict is on a finding of what it judged, or listed as detached; returns (kept, detached)."""
    with reading(db) as con:
        now = {fid: (rule, message, phrase) for fid, rule, message, phrase in con.execute(
            "SELECT finding_id, rule_id, message, matched_phrase FROM findings").fetchall()}
        detached = {v.finding_id for v in detached_verdicts(con)}
        unique = con.execute("SELECT count(*) = count(DISTINCT finding_id) FROM findings").fetchone()[0]
    kept = set(judged) & set(now)
    assert unique and all(now[fid] == judged[fid] for fid in kept)  # never moved to another kind of finding
    assert detached == set(judged) - kept  # the rest are listed, none lost
    return kept, detached


@pytest.fixture
def judged(tmp_path):
    db = tmp_path / "qa.duckdb"
    book = load_rulebook()
    store.save_call(db, _result(book, LINES))
    return db, _judge_every_finding(db)


def test_the_built_call_breaks_the_rules_it_should(judged):
    _, found = judged
    rules = {rule for rule, _, _ in found.values()}
    assert {"answer.late_apology", "greeting.opening", "hold.procedure", "phrase.forbidden",
            "closing.farewell"} <= rules
    assert sum(1 for r, _, p in found.values() if r == "phrase.forbidden" and p == "我不清楚") == 1
    assert len(found) >= 8


@pytest.mark.parametrize("override", [
    '[rules."closing.farewell".params]\nwindow_s = 20.0\n',
    '[rules."closing.farewell".params]\nwindow_s = 45.0\n',
    '[rules."greeting.opening".params]\nwindow_s = 12.0\n',
    '[rules."greeting.opening".params]\nwindow_s = 4.0\n',
    '[rules."hold.procedure".params]\nwindow_s = 15.0\n',
    '[rules."hold.procedure".params]\nwindow_s = 5.0\n',
    '[rules."answer.late_apology".params]\nwindow_s = 8.0\n',
    '[kinds.closing.params]\nwindow_s = 10.0\n[kinds.hold.params]\nwindow_s = 20.0\n',
])
def test_verdicts_survive_a_changed_window(judged, tmp_path, override):
    db, found = judged
    summary = run_rescore(db, _override(tmp_path, override), workers=1)
    kept, detached = _check(db, found)
    assert kept == set(found) and not detached  # a window setting moves no finding's identity
    assert summary.verdicts.kept == len(found) and not summary.verdicts.detached


def test_a_rule_change_that_drops_findings_lists_their_verdicts_and_brings_them_back(judged, tmp_path):
    db, found = judged
    longer_hold = _override(tmp_path, '[rules."hold.procedure".params]\nmin_hold_s = 20.0\n')
    summary = run_rescore(db, longer_hold, workers=1)  # a 13 s wait is no hold now
    kept, detached = _check(db, found)
    holds = {fid for fid, (rule, _, _) in found.items() if rule == "hold.procedure"}
    assert detached == holds and kept == set(found) - holds
    assert {v.finding_id for v in summary.verdicts.detached} == holds
    run_rescore(db, load_rulebook(), workers=1)
    assert _check(db, found) == (set(found), set())


def test_verdicts_survive_a_retranscription_and_never_pass_to_a_like_finding(judged):
    db, found = judged
    book = load_rulebook()
    store.save_call(db, _result(book, LINES, shift_s=0.2))  # another model: every word 0.2 s later
    assert _check(db, found) == (set(found), set())
    # re-transcribed again, and this time the first 不清楚 is heard as something else
    heard = list(LINES)
    heard[2] = utt("agent", 30.0, 33.0, "这个我看一下,我查一下")
    carried = store.save_call(db, _result(book, heard, shift_s=-0.1))
    kept, detached = _check(db, found)
    first = [fid for fid, (rule, _, phrase) in found.items() if rule == "phrase.forbidden" and phrase == "我不清楚"]
    assert detached == set(first) and {v.finding_id for v in carried.detached} == set(first)
    with reading(db) as con:  # the later 我也不清楚 keeps its own verdict, not the first one's
        later = con.execute("SELECT f.finding_id, f.start_s FROM findings f WHERE f.matched_phrase = '不清楚'"
                            ).fetchall()
    assert later and all(fid in found and fid not in first for fid, _ in later)


def test_a_fresh_finding_never_takes_an_id_a_verdict_names(judged, tmp_path):
    db, found = judged
    book = load_rulebook()
    with writing(db) as con:  # a detached verdict whose finding id is what a fresh hash would give
        con.execute("DELETE FROM findings WHERE rule_id = 'talk.speech_rate'")
    store.save_call(db, _result(book, LINES))
    kept, detached = _check(db, found)
    assert kept == set(found) and not detached


def test_two_rules_of_one_kind_are_independent(tmp_path):
    book = _override(tmp_path, '''
[rules."closing.short"]
kind = "closing"
title = "结束语(短窗口)"
source = "centre-b 4.5"
points = 0
critical = false
severity = "minor"
roles = ["agent"]
params = { window_s = 1.0 }
phrases = { offer_help = ["您还需要什么帮助吗"], farewell = ["嗯,好的"] }

[rules."silent_line.strict"]
kind = "silent_line"
title = "无声电话(5秒)"
source = "001 第五篇 3"
points = 0
critical = false
severity = "minor"
roles = ["agent"]
params = { pause_s = 5.0, max_customer_speech_s = 100.0 }
phrases = { greeting = ["喂,你好"], silent_closing = ["嗯,好的"], threat = ["再不说话我就挂了"] }
''')
    results = {r.rule_id: r for r in _result(book, LINES).rule_results}
    default = {r.rule_id: r for r in _result(load_rulebook(), LINES).rule_results}
    # the default closing and silent-line rules judge as if the new ones were not there
    for rule_id in ("closing.farewell", "silent_line.procedure", "hold.procedure"):
        assert results[rule_id] == default[rule_id]
    assert results["closing.farewell"].outcome == "fail" and len(results["closing.farewell"].findings) == 2
    short = results["closing.short"]  # only its farewell is in its own 1 s window
    assert short.outcome == "fail" and [f.message for f in short.findings] == ["closing.no_offer_help"]
    strict = results["silent_line.strict"]  # its own 100 s limit makes this call a silent line for it alone
    assert default["silent_line.procedure"].outcome == "na" and strict.outcome == "fail"
