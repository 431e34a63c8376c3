"""The dashboard's queries on a generated store, checked against plain pandas."""

from __future__ import annotations

import io
import sys
import wave
import zipfile
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for bench.make_db

from bench.make_db import RULES as SYNTHETIC, make_db, write_tone_wav  # noqa: E402
from viewers import SUPERVISOR, as_viewer  # noqa: E402
from qa.access.roles import AccessDenied  # noqa: E402
from qa.scoring import queries as q  # noqa: E402
from qa.scoring.clips import Clip, ClipError, clips_zip, cut_clip  # noqa: E402
from qa.scoring.db import reading, writing  # noqa: E402
from qa.scoring.queries_phrases import search_phrases  # noqa: E402
from qa.scoring.queries_reviews import ReviewError, call_detail, record_review, reviewed_score  # noqa: E402


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("store") / "calls.duckdb"
    make_db(path, n_calls=400, findings_per_call=2.5, seed=11, nights=7)
    return path


@pytest.fixture()
def fresh(tmp_path) -> Path:
    path = tmp_path / "calls.duckdb"
    make_db(path, n_calls=60, findings_per_call=3, seed=5, nights=3)
    return path


def _frame(path: Path, sql: str) -> pd.DataFrame:
    with reading(path) as con:
        return con.execute(sql).df()


def _all_pages(path: Path, flt: q.CallFilter) -> pd.DataFrame:
    pages, page = [], 0
    with reading(path) as con:
        while True:
            frame, total = q.list_calls(con, SUPERVISOR, q.CallFilter(**{**flt.__dict__, "page": page, "page_size": 37}))
            if frame.empty:
                break
            pages.append(frame)
            page += 1
    return pd.concat(pages, ignore_index=True), total


def test_list_filters_match_pandas(store):
    calls = _frame(store, "SELECT c.*, s.score FROM calls c JOIN scores s USING (call_id)")
    failed = _frame(store, "SELECT call_id FROM rule_results WHERE rule_id = 'phrase.forbidden' AND outcome = 'fail'")
    team = calls["team"].iloc[0]
    agents = tuple(sorted(calls["agent_id"].unique())[:5])
    day = calls["started_at"].dt.date.sort_values().iloc[len(calls) // 2]
    cases = [
        (q.CallFilter(teams=(team,)), calls["team"] == team),
        (q.CallFilter(agents=agents), calls["agent_id"].isin(agents)),
        (q.CallFilter(score_min=60, score_max=85), calls["score"].between(60, 85)),
        (q.CallFilter(failed_rule="phrase.forbidden"), calls["call_id"].isin(failed["call_id"])),
        (q.CallFilter(date_from=day, date_to=day), calls["started_at"].dt.date == day),
        (
            q.CallFilter(teams=(team,), failed_rule="phrase.forbidden", score_max=90),
            (calls["team"] == team) & calls["call_id"].isin(failed["call_id"]) & (calls["score"] <= 90),
        ),
    ]
    for flt, expected in cases:
        got, total = _all_pages(store, flt)
        assert total == int(expected.sum()) > 0, flt
        assert sorted(got["call_id"]) == sorted(calls.loc[expected, "call_id"]), flt


def test_sorting_and_paging_cover_every_call_once(store):
    got, total = _all_pages(store, q.CallFilter(sort="score", descending=False))
    assert total == len(got) == 400
    assert got["call_id"].is_unique
    assert got["score"].is_monotonic_increasing
    by_date, _ = _all_pages(store, q.CallFilter(sort="started_at", descending=True))
    assert by_date["started_at"].is_monotonic_decreasing


def test_page_rows_carry_failed_rules_and_counts(store):
    with reading(store) as con:
        page, _ = q.list_calls(con, SUPERVISOR, q.CallFilter(page_size=10))
        for row in page.itertuples(index=False):
            failed = [r for r, o in con.execute(
                "SELECT rule_id, outcome FROM rule_results WHERE call_id = ?", [row.call_id]).fetchall() if o == "fail"]
            n = con.execute("SELECT count(*) FROM findings WHERE call_id = ?", [row.call_id]).fetchone()[0]
            assert (row.failed_rules or "") == ", ".join(sorted(failed))
            assert row.findings == n


def test_bad_sort_and_status_are_refused(store):
    with reading(store) as con:
        with pytest.raises(ValueError, match="sort"):
            q.list_calls(con, SUPERVISOR, q.CallFilter(sort="score; DROP TABLE calls"))
        with pytest.raises(ValueError, match="review status"):
            q.list_calls(con, SUPERVISOR, q.CallFilter(review_status="whatever"))


def test_overview_and_trends_agree_with_pandas(store):
    calls = _frame(store, "SELECT c.*, s.score, s.passed FROM calls c JOIN scores s USING (call_id)")
    with reading(store) as con:
        summary = q.overview(con, SUPERVISOR)
        nights = q.night_trend(con, SUPERVISOR)
        teams = q.group_trend(con, SUPERVISOR, "team")
        failed = q.most_failed_rules(con, SUPERVISOR)
    assert summary["calls_scored"] == len(calls)
    assert summary["mean_score"] == pytest.approx(calls["score"].mean())
    assert summary["pass_rate"] == pytest.approx(calls["passed"].mean())
    assert nights["calls"].sum() == len(calls) and len(nights) == calls["started_at"].dt.date.nunique()
    expected = calls.groupby("team")["score"].mean().round(2)
    assert dict(zip(teams["team"], teams["mean_score"])) == pytest.approx(expected.to_dict())
    counts = _frame(store, "SELECT rule_id, count(*) n FROM rule_results WHERE outcome = 'fail' GROUP BY 1")
    assert dict(zip(failed["rule_id"], failed["failed_calls"])) == dict(zip(counts["rule_id"], counts["n"]))


def test_verdicts_latest_wins_and_give_precision(fresh):
    findings = _frame(fresh, "SELECT * FROM findings WHERE rule_id = 'phrase.forbidden' ORDER BY finding_id")
    a, b, c = findings.iloc[0], findings.iloc[1], findings.iloc[2]
    with writing(fresh) as con:
        record_review(con, as_viewer("li"), call_id=a.call_id, finding_id=a.finding_id, verdict="false_positive")
        record_review(con, as_viewer("wang"), call_id=a.call_id, finding_id=a.finding_id, verdict="confirmed")
        record_review(con, as_viewer("li"), call_id=b.call_id, finding_id=b.finding_id, verdict="false_positive")
        record_review(con, as_viewer("li"), call_id=c.call_id, finding_id=c.finding_id, verdict="confirmed",
                        comment="  rude  ")
    with reading(fresh) as con:
        precision = q.rule_precision(con, SUPERVISOR).set_index("rule_id").loc["phrase.forbidden"]
        detail = q.call_findings(con, a.call_id).set_index("finding_id").loc[a.finding_id]
        history = q.call_reviews(con, a.call_id)
        disputed, _ = q.list_calls(con, SUPERVISOR, q.CallFilter(review_status="disputed", page_size=100))
        unreviewed, n_unreviewed = q.list_calls(con, SUPERVISOR, q.CallFilter(review_status="unreviewed", page_size=100))
    assert (precision["reviewed"], precision["confirmed"], precision["false_positive"]) == (3, 2, 1)
    assert precision["precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert detail["verdict"] == "confirmed" and detail["reviewer"] == "wang"
    assert len(history[history["finding_id"] == a.finding_id]) == 2  # append-only
    assert set(disputed["call_id"]) == {b.call_id}
    assert n_unreviewed == 60 - len({a.call_id, b.call_id, c.call_id})
    assert not set(unreviewed["call_id"]) & {a.call_id, b.call_id, c.call_id}


def test_reviewed_score_restores_false_positives_and_charges_missed(fresh):
    with reading(fresh) as con:
        results = _frame(fresh, "SELECT * FROM rule_results WHERE outcome = 'fail'")
        call_id = results["call_id"].iloc[0]
        failed = results[results["call_id"] == call_id]
        rule_id, points = failed["rule_id"].iloc[0], failed["points"].iloc[0]
        auto = con.execute("SELECT score FROM scores WHERE call_id = ?", [call_id]).fetchone()[0]
        ids = con.execute("SELECT finding_id FROM findings WHERE call_id = ? AND rule_id = ?", [call_id, rule_id]).fetchall()
        assert reviewed_score(con, call_id) == auto
    from qa.phrases import load_rulebook

    book = load_rulebook()
    passed_rule = next(r for r in q_rules(fresh, call_id, "pass") if book.rules[r].points != SYNTHETIC[r][0])
    with writing(fresh) as con:
        for (fid,) in ids[:-1]:
            record_review(con, as_viewer("li"), call_id=call_id, finding_id=fid, verdict="false_positive")
    with reading(fresh) as con:
        assert reviewed_score(con, call_id) == auto  # one finding of the rule still stands
    with writing(fresh) as con:
        record_review(con, as_viewer("li"), call_id=call_id, finding_id=ids[-1][0], verdict="false_positive")
    with reading(fresh) as con:
        assert reviewed_score(con, call_id) == min(100.0, auto + points)
    with writing(fresh) as con:
        record_review(con, as_viewer("li"), call_id=call_id, verdict="missed", rule_id=passed_rule, start_s=3.0)
    with reading(fresh) as con:  # no stored rulebook: the most the store ever deducted for the rule
        most = con.execute("SELECT max(points) FROM rule_results WHERE rule_id = ? AND outcome = 'fail'",
                           [passed_rule]).fetchone()[0]
        assert reviewed_score(con, call_id) == max(0.0, min(100.0, auto + points) - most)
    from qa.scoring.rulebooks import save_rulebook

    # the call scored under a stored rulebook: that rulebook's points for the rule
    with writing(fresh) as con:
        save_rulebook(con, book)
        con.execute("UPDATE scores SET rulebook_version = ? WHERE call_id = ?", [book.version, call_id])
    with reading(fresh) as con:
        want = max(0.0, min(100.0, auto + points) - book.rules[passed_rule].points)
        assert reviewed_score(con, call_id) == want


def q_rules(path: Path, call_id: str, outcome: str) -> list[str]:
    with reading(path) as con:
        return [r[0] for r in con.execute(
            "SELECT rule_id FROM rule_results WHERE call_id = ? AND outcome = ? ORDER BY rule_id", [call_id, outcome]
        ).fetchall()]


@pytest.mark.parametrize(
    "fields, problem",
    [
        ({"verdict": "maybe"}, "verdict"),
        ({"verdict": "confirmed", "role": "trainer"}, "may not"),
        ({"verdict": "upheld", "role": "inspector"}, "may not"),
        ({"verdict": "confirmed"}, "needs the finding"),
        ({"verdict": "confirmed", "finding_id": "nope"}, "not in call"),
        ({"verdict": "missed"}, "needs the rule"),
        ({"verdict": "missed", "finding_id": "x", "rule_id": "phrase.forbidden"}, "does not point"),
        ({"verdict": "missed", "rule_id": "phrase.forbidden", "call_id": "no/such/call"}, "no call"),
    ],
)
def test_bad_verdicts_are_refused_and_nothing_is_stored(fresh, fields, problem):
    call_id = _frame(fresh, "SELECT call_id FROM calls LIMIT 1")["call_id"].iloc[0]
    args = {"call_id": call_id, **fields}
    viewer = as_viewer("li", args.pop("role", "supervisor"))
    with pytest.raises((ReviewError, AccessDenied), match=problem):
        with writing(fresh) as con:
            record_review(con, viewer, **args)
    assert _frame(fresh, "SELECT count(*) n FROM reviews")["n"].iloc[0] == 0


def test_phrase_search_finds_misheard_lines_by_sound(store):
    with reading(store) as con:
        both = search_phrases(con, SUPERVISOR, "欢迎致电", roles=("agent",), limit=1000)
        misheard = search_phrases(con, SUPERVISOR, "欢迎致电", misheard_only=True, limit=1000)
        exact = search_phrases(con, SUPERVISOR, "欢迎致电", fuzzy=False, limit=1000)
        n_exact = con.execute("SELECT count(*) FROM utterances WHERE text LIKE '%欢迎致电%'").fetchone()[0]
        n_sound = con.execute("SELECT count(*) FROM utterances WHERE text LIKE '%欢迎支店%'").fetchone()[0]
    assert len(exact) == n_exact > 0 and exact["text"].str.contains("欢迎致电").all()
    assert len(misheard) == n_sound > 0 and set(misheard["match_text"]) == {"欢迎支店"}
    assert (misheard["matched_by"] == "sound").all()
    assert len(both) == n_exact + n_sound
    assert (both["role"] == "agent").all()
    # clip times lie inside the utterance and are shorter than it
    assert (both["clip_start_s"] >= both["start_s"] - 1e-6).all() and (both["clip_end_s"] <= both["end_s"] + 1e-6).all()
    assert ((both["clip_end_s"] - both["clip_start_s"]) < (both["end_s"] - both["start_s"])).all()


def test_phrase_search_fuzzy_catches_a_dropped_syllable(store):
    with reading(store) as con:
        hits = search_phrases(con, SUPERVISOR, "为您服务", min_similarity=0.8, misheard_only=True, limit=50)
    assert not hits.empty and set(hits["match_text"]) <= {"位您府", "位您府,"}


def test_phrase_search_filters_and_context(store):
    with reading(store) as con:
        customer = search_phrases(con, SUPERVISOR, "快递", roles=("customer",), limit=500)
        one_day = search_phrases(con, SUPERVISOR, "快递", roles=("customer",), date_from=date(2026, 11, 2),
                                 date_to=date(2026, 11, 2), limit=500)
        row = customer.iloc[0]
        prev = con.execute("SELECT role, text FROM utterances WHERE call_id = ? AND idx = ?",
                           [row.call_id, int(row.idx) - 1]).fetchone()
    assert not customer.empty and (customer["role"] == "customer").all()
    assert 0 < len(one_day) < len(customer)
    assert (pd.to_datetime(one_day["started_at"]).dt.date == date(2026, 11, 2)).all()
    assert row.before == (f"{prev[0]}: {prev[1]}" if prev else "")


@pytest.mark.parametrize("text", ["%", "_", "' OR 1=1 --", "\\", "'); DROP TABLE calls; --"])
def test_phrase_search_treats_input_as_data(store, text):
    with reading(store) as con:
        hits = search_phrases(con, SUPERVISOR, text, fuzzy=False)
        assert hits.empty
        assert con.execute("SELECT count(*) FROM calls").fetchone()[0] == 400


def test_indexes_are_created_once(fresh):
    with writing(fresh) as con:
        assert set(q.ensure_indexes(con)) == set(q.INDEXES)
    with writing(fresh) as con:
        assert q.ensure_indexes(con) == []
    names = set(_frame(fresh, "SELECT index_name FROM duckdb_indexes()")["index_name"])
    assert set(q.INDEXES) <= names


def test_clips_are_cut_padded_and_zipped(tmp_path):
    audio = tmp_path / "call.wav"
    write_tone_wav(audio, 6.0, seed=1)
    data = cut_clip(audio, 2.0, 3.0, pad_s=0.5)
    with wave.open(io.BytesIO(data)) as clip:
        assert clip.getframerate() == 8000 and clip.getnchannels() == 2
        assert clip.getnframes() == 2 * 8000
    with wave.open(io.BytesIO(cut_clip(audio, 0.2, 5.9, pad_s=1.0))) as clip:
        assert clip.getnframes() == 6 * 8000  # padding stops at both ends of the file
    with pytest.raises(ClipError, match="not found"):
        cut_clip(tmp_path / "missing.wav", 0, 1)
    with pytest.raises(ClipError, match="past the end"):
        cut_clip(audio, 10.0, 11.0, pad_s=0.5)
    archive, problems = clips_zip([
        Clip("a/1", str(audio), 1.0, 2.0, text="您好", agent_id="A001"),
        Clip("a/2", str(tmp_path / "missing.wav"), 1.0, 2.0, text="再见"),
    ])
    assert len(problems) == 1 and "missing.wav" in problems[0]
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        names = z.namelist()
        index = pd.read_csv(io.BytesIO(z.read("clips.csv")), encoding="utf-8-sig", keep_default_na=False)
    assert [n for n in names if n.endswith(".wav")] == ["001_a_1_1.0s.wav"]
    assert list(index["call_id"]) == ["a/1", "a/2"] and list(index["text"]) == ["您好", "再见"]
    assert index["error"].iloc[0] == "" and "not found" in index["error"].iloc[1]


def test_phrase_search_refined_by_the_rulebook_matcher(store):
    with reading(store) as con:
        plain = search_phrases(con, SUPERVISOR, "欢迎致电", misheard_only=True, limit=20)
        refined = search_phrases(con, SUPERVISOR, "欢迎致电", misheard_only=True, limit=20, refine=True)
        short = search_phrases(con, SUPERVISOR, "工号", misheard_only=True, limit=20)
        short_refined = search_phrases(con, SUPERVISOR, "工号", misheard_only=True, limit=20, refine=True)
    assert len(plain) == 20 and set(plain["match_text"]) == {"欢迎支店"}
    assert len(refined) == 20 and set(refined["match_text"]) == {"欢迎支店"}
    assert (refined["similarity"] >= 0.8).all()
    assert (refined["clip_start_s"] >= refined["start_s"] - 1e-6).all()
    assert (refined["clip_end_s"] <= refined["end_s"] + 1e-6).all()
    # the matcher only ever removes hits: 功耗 is a word of its own, not a misheard 工号 to it
    assert set(short["match_text"]) == {"功耗"}
    assert set(zip(short_refined["call_id"], short_refined["idx"])) <= set(zip(short["call_id"], short["idx"]))


def test_one_character_is_searched_by_characters_only(store):
    with reading(store) as con:
        hits = search_phrases(con, SUPERVISOR, "喂", limit=1000)
    assert not hits.empty and hits["text"].str.contains("喂").all()


def test_call_detail_reads_one_call_in_one_session(store):
    with reading(store) as con:
        call_id = con.execute("SELECT call_id FROM findings ORDER BY call_id LIMIT 1").fetchone()[0]
        detail = call_detail(con, SUPERVISOR, call_id)
        n_utt, n_find = con.execute(
            "SELECT (SELECT count(*) FROM utterances WHERE call_id = ?), (SELECT count(*) FROM findings WHERE call_id = ?)",
            [call_id, call_id],
        ).fetchone()
        assert call_detail(con, SUPERVISOR, "no/such/call") is None
    assert detail["call"]["call_id"] == call_id
    assert len(detail["utterances"]) == n_utt and len(detail["findings"]) == n_find
    assert detail["utterances"]["start_s"].is_monotonic_increasing
    assert len(detail["rule_results"]) == 9 and detail["reviewed_score"] == detail["call"]["score"]
