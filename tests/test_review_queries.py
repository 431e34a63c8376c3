"""The review workspace's queries: the queue, when a call counts as reviewed, undated calls,
precision intervals, legitimate contexts, the clip index and what the browser is given to play."""

from __future__ import annotations

import io
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for bench.make_db

from bench.make_db import make_db  # noqa: E402
from viewers import SUPERVISOR, as_viewer  # noqa: E402
from qa.phrases import load_rulebook  # noqa: E402
from qa.scoring import queries as q  # noqa: E402
from qa.scoring.clips import Clip, clip_row  # noqa: E402
from qa.scoring.db import reading, writing  # noqa: E402
from qa.scoring.playback import envelope, playable  # noqa: E402
from qa.scoring.queries_phrases import legitimate_contexts  # noqa: E402
from qa.scoring.queries_queue import QueueFilter, next_finding, queue_progress  # noqa: E402
from qa.scoring.queries_reviews import record_review  # noqa: E402

SEVERITY = {"critical": 0, "major": 1, "minor": 2}


@pytest.fixture()
def store(tmp_path) -> Path:
    path = tmp_path / "calls.duckdb"
    make_db(path, n_calls=30, findings_per_call=3, seed=9, nights=3)
    return path


def _findings(path: Path):
    with reading(path) as con:
        return con.execute(
            "SELECT f.*, s.passed, c.started_at, c.agent_id, c.team FROM findings f JOIN scores s USING (call_id) "
            "JOIN calls c USING (call_id)").df()


def test_the_queue_walks_failed_calls_then_severity_and_never_repeats(store):
    findings = _findings(store)
    expected = findings.assign(rank=findings["severity"].map(SEVERITY)).sort_values(
        ["passed", "rank", "started_at", "call_id", "start_s", "rule_id"])["finding_id"].tolist()
    seen, skip = [], ()
    with writing(store) as con:
        while (current := next_finding(con, SUPERVISOR, QueueFilter(), skip)) is not None:
            seen.append(current["finding_id"])
            if len(seen) % 3 == 0:  # every third is skipped, the others judged
                skip += (current["finding_id"],)
            else:
                record_review(con, as_viewer("li"), call_id=current["call_id"], finding_id=current["finding_id"],
                              verdict="confirmed")
        progress = queue_progress(con, SUPERVISOR, QueueFilter())
    assert seen == expected
    assert progress == {"judged": len(seen) - len(skip), "waiting": len(skip), "total": len(seen)}


def test_the_queue_filters_by_rule_agent_and_team(store):
    findings = _findings(store)
    rule, agent = findings["rule_id"].iloc[0], findings["agent_id"].iloc[0]
    wanted = set(findings[(findings["rule_id"] == rule) & (findings["agent_id"] == agent)]["finding_id"])
    got, skip = set(), ()
    with reading(store) as con:
        while (current := next_finding(con, SUPERVISOR, QueueFilter(rules=(rule,), agents=(agent,)), skip)) is not None:
            got.add(current["finding_id"])
            skip += (current["finding_id"],)
        assert next_finding(con, SUPERVISOR, QueueFilter(teams=("no such team",))) is None
    assert got == wanted and got


def test_a_call_is_reviewed_only_when_every_finding_has_a_verdict(store):
    findings = _findings(store)
    call = findings.groupby("call_id").size().idxmax()
    mine = findings[findings["call_id"] == call]
    assert len(mine) >= 2

    def status_of() -> set[str]:
        with reading(store) as con:
            return {s for s in ("unreviewed", "partly_reviewed", "reviewed")
                    if call in set(q.list_calls(con, SUPERVISOR, q.CallFilter(review_status=s, page_size=500))[0]["call_id"])}

    assert status_of() == {"unreviewed"}
    with writing(store) as con:
        record_review(con, as_viewer("li"), call_id=call, finding_id=mine["finding_id"].iloc[0], verdict="confirmed")
    assert status_of() == {"partly_reviewed"}
    with writing(store) as con:
        for finding_id in mine["finding_id"].iloc[1:]:
            record_review(con, as_viewer("li"), call_id=call, finding_id=finding_id, verdict="false_positive")
    assert status_of() == {"reviewed"}
    with reading(store) as con:
        page, _ = q.list_calls(con, SUPERVISOR, q.CallFilter(review_status="reviewed", page_size=500))
    row = page.set_index("call_id").loc[call]
    assert (row["judged"], row["findings"]) == (len(mine), len(mine))


def test_calls_without_a_start_time_sit_in_the_unknown_date_bucket(store):
    with writing(store) as con:
        undated = [r[0] for r in con.execute("SELECT call_id FROM calls ORDER BY call_id LIMIT 4").fetchall()]
        con.execute("UPDATE calls SET started_at = NULL WHERE list_contains(?, call_id)", [undated])
        dated_last = con.execute("SELECT max(started_at) FROM calls").fetchone()[0]
    with reading(store) as con:
        nights = q.night_trend(con, SUPERVISOR)
        options = q.filter_options(con, SUPERVISOR)
        in_range, _ = q.list_calls(con, SUPERVISOR, q.CallFilter(date_from=date(2000, 1, 1), date_to=date(2100, 1, 1),
                                                     page_size=500))
    assert int(nights[nights["night"].isna()]["calls"].iloc[0]) == 4
    assert pd.Timestamp(nights["night"].dropna().max()).date() <= dated_last.date() < date.today()  # not at today
    assert options["last_call"] == dated_last
    assert not set(undated) & set(in_range["call_id"])


@pytest.mark.parametrize(("successes", "n", "low", "high"), [
    (1, 1, 0.2065, 1.0), (0, 1, 0.0, 0.7935), (8, 10, 0.4902, 0.9433), (50, 100, 0.4038, 0.5962)])
def test_the_wilson_interval_matches_published_values(successes, n, low, high):
    assert q.wilson_interval(successes, n) == pytest.approx((low, high), abs=1e-4)


def test_no_verdicts_give_no_interval_rather_than_a_rate():
    assert q.wilson_interval(0, 0) == (None, None)


def test_hits_inside_a_legitimate_context_are_named():
    book = load_rulebook()
    texts = ["如果您还有不清楚的地方,欢迎随时来电", "这个我不清楚", "您好,请问有什么可以帮您"]
    found = legitimate_contexts(book, "不清楚", texts)
    assert found[0] is not None and "不清楚的地方" in found[0]
    assert found[1:] == [None, None]
    assert legitimate_contexts(book, "欢迎致电", texts) == [None, None, None]


def test_the_clip_index_records_the_search_and_the_similarity():
    row = clip_row(Clip(call_id="c1", path="/x.wav", start_s=1.0, end_s=2.5, text="我不知道", phrase="不知道",
                        similarity=0.93), name="001_c1_1.0s.wav")
    assert (row["phrase"], row["similarity"], row["clip"]) == ("不知道", "0.930", "001_c1_1.0s.wav")


def _tone(seconds: float, rate: int, level: float) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_the_envelope_follows_each_channel(tmp_path):
    rate = 8000
    left = np.concatenate([_tone(1.0, rate, 0.5), np.zeros(rate, np.float32)])
    right = np.concatenate([np.zeros(rate, np.float32), _tone(1.0, rate, 0.05)])
    path = tmp_path / "two.wav"
    sf.write(path, np.stack([left, right], axis=1), rate, subtype="PCM_16")
    env = envelope(path, buckets=20)
    assert len(env.levels) == 2 and env.duration_s == pytest.approx(2.0)
    first, second = np.array(env.levels[0]), np.array(env.levels[1])
    assert first[:9].min() > 0.8 and first[11:].max() == 0.0  # -6 dB, then silence
    assert second[:9].max() == 0.0 and 0.55 < second[11:].min() < 0.58  # -26 dB: 34/60


def test_a_browser_gets_pcm_wav_as_it_is_and_other_codecs_as_wav(tmp_path):
    rate = 8000
    pcm = tmp_path / "pcm.wav"
    sf.write(pcm, _tone(0.5, rate, 0.3), rate, subtype="PCM_16")
    assert playable(pcm) == (str(pcm), "audio/wav")
    ulaw = tmp_path / "ulaw.wav"  # G.711 mu-law: what recorders write, what browsers do not all decode
    sf.write(ulaw, _tone(0.5, rate, 0.3), rate, subtype="ULAW")
    data, mime = playable(ulaw)
    assert mime == "audio/wav" and isinstance(data, bytes)
    decoded, got_rate = sf.read(io.BytesIO(data))
    assert got_rate == rate and len(decoded) == int(0.5 * rate)


def test_an_overturned_appeal_gives_the_points_back_and_counts_as_a_false_positive(store):
    from qa.scoring.queries_reviews import ReviewError, reviewed_score

    findings = _findings(store)
    per_rule = findings.groupby(["call_id", "rule_id"]).size()
    call_id, rule_id = per_rule[per_rule == 1].index[0]  # the rule's only finding in the call
    finding_id = findings[(findings["call_id"] == call_id) & (findings["rule_id"] == rule_id)]["finding_id"].iloc[0]

    def review(verdict: str, who: str, comment: str | None = None) -> None:
        with writing(store) as con:
            record_review(con, as_viewer(who), call_id=call_id, finding_id=finding_id, verdict=verdict, comment=comment)

    def state():
        with reading(store) as con:
            row = q.call_findings(con, call_id).set_index("finding_id").loc[finding_id]
            precision = q.rule_precision(con, SUPERVISOR).set_index("rule_id").loc[rule_id]
            appealed = set(q.list_calls(con, SUPERVISOR, q.CallFilter(review_status="appealed", page_size=500))[0]["call_id"])
            return row["verdict"], row["appeal"], reviewed_score(con, call_id), precision["false_positive"], appealed

    with pytest.raises(ReviewError, match="only a confirmed finding"):
        review("appeal", "lead-wang", "客户先骂人")
    review("confirmed", "inspector-li")
    verdict, appeal, confirmed_score, fps, appealed = state()
    assert (verdict, appeal, call_id in appealed) == ("confirmed", None, False)
    with pytest.raises(ReviewError, match="reason"):
        review("appeal", "lead-wang", " ")
    with pytest.raises(ReviewError, match="no appeal waiting"):
        review("overturned", "supervisor-zhao")
    review("appeal", "lead-wang", "客户先骂人, 坐席是在复述")
    verdict, appeal, score, _, appealed = state()
    assert (verdict, appeal, score, call_id in appealed) == ("confirmed", "客户先骂人, 坐席是在复述", confirmed_score, True)
    with pytest.raises(ReviewError, match="still waiting"):
        review("appeal", "lead-wang", "再申诉")
    review("overturned", "supervisor-zhao", "录音核实属实")
    verdict, appeal, score, overturned_fps, appealed = state()
    assert (verdict, appeal, call_id in appealed) == ("false_positive", None, False)
    assert score > confirmed_score and overturned_fps == fps + 1
    with reading(store) as con:
        trail = con.execute("SELECT verdict, reviewer FROM reviews WHERE finding_id = ? ORDER BY review_id",
                            [finding_id]).fetchall()
    assert trail == [("confirmed", "inspector-li"), ("appeal", "lead-wang"), ("overturned", "supervisor-zhao")]


def test_an_upheld_appeal_keeps_the_finding_confirmed(store):
    findings = _findings(store)
    f = findings.iloc[0]
    with writing(store) as con:
        for verdict, who, why in (("confirmed", "li", None), ("appeal", "wang", "理由"), ("upheld", "zhao", None)):
            record_review(con, as_viewer(who), call_id=f.call_id, finding_id=f.finding_id, verdict=verdict, comment=why)
    with reading(store) as con:
        row = q.call_findings(con, f.call_id).set_index("finding_id").loc[f.finding_id]
    assert row["verdict"] == "confirmed" and row["reviewer"] == "zhao" and not isinstance(row["appeal"], str)


def test_one_decode_gives_the_browser_both_what_it_plays_and_the_envelope(tmp_path):
    from qa.scoring.playback import for_browser

    rate = 8000
    for subtype in ("PCM_16", "ULAW"):
        path = tmp_path / f"{subtype}.wav"
        sf.write(path, _tone(0.5, rate, 0.3), rate, subtype=subtype)
        data, mime, env = for_browser(path)
        assert (data, mime) == playable(path) and env == envelope(path)
