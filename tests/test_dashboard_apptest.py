"""Each dashboard page run headless with streamlit's AppTest on a real DuckDB file."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import time
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(APP))  # streamlit puts the app's folder on the path; AppTest of a page does not

from bench.make_db import make_db  # noqa: E402
from qa.access.roles import Viewer  # noqa: E402
from qa.phrases import load_rulebook  # noqa: E402
from qa.scoring.db import reading, writing  # noqa: E402
from qa.scoring.queries_reviews import record_review  # noqa: E402
from qa.scoring.rulebooks import store_rulebook  # noqa: E402

from qa.i18n import translations  # noqa: E402

PAGES = ["views/overview.py", "views/calls.py", "views/call.py", "views/queue.py", "views/sampling.py", "views/scorecard.py",
         "views/phrases.py", "views/rulebook.py"]
zh = translations("zh_CN").gettext  # the default interface language


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dash")
    path = folder / "calls.duckdb"
    make_db(path, n_calls=120, findings_per_call=3, seed=3, nights=5, audio_dir=folder / "audio")
    return path


OVERRIDE_TITLE = "三声以内接听(试行)"
OVERRIDE = f'[rules."answer.rings"]\ntitle = "{OVERRIDE_TITLE}"\n\n[rules."answer.rings".params]\nmax_rings = 4\n'


@pytest.fixture
def versioned(tmp_path):
    """A store with two stored rulebooks: the default scored every call but one, an override that one.

    Returns (path, default book, override book, the call scored with the override)."""
    path = tmp_path / "versioned.duckdb"
    make_db(path, n_calls=6, findings_per_call=3, seed=5)
    override = tmp_path / "override.toml"
    override.write_text(OVERRIDE, encoding="utf-8")
    old, new = load_rulebook(), load_rulebook(override)
    store_rulebook(path, old)
    store_rulebook(path, new)
    with writing(path) as con:
        for day, book in ((1, old), (2, new)):  # pinned, so "newest first" does not hang on clock ticks
            con.execute("UPDATE rulebooks SET first_used_at = ? WHERE version = ?",
                        [datetime(2026, 11, day), book.version])
        call_id = con.execute("SELECT min(call_id) FROM findings").fetchone()[0]
        for table in ("calls", "scores"):
            con.execute(f"UPDATE {table} SET rulebook_version = ?", [old.version])
            con.execute(f"UPDATE {table} SET rulebook_version = ? WHERE call_id = ?", [new.version, call_id])
    return path, old, new, call_id


@pytest.fixture(autouse=True)
def fresh_cache():
    import streamlit as st

    st.cache_data.clear()
    yield
    st.cache_data.clear()


def app(page: str, db: Path, monkeypatch, reviewer: str | None = None, language: str | None = None,
        role: str = "supervisor", **params: str) -> AppTest:
    """The dashboard as Streamlit serves it (the entry page, then `page`), on store `db`; `reviewer` signed
    in with `role` (None: nobody signed in, the local user of a store without accounts)."""
    monkeypatch.setenv("CALLQA_DB", str(db))
    at = AppTest.from_file(str(APP / "app.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    if reviewer is not None:
        at.session_state["viewer"] = Viewer(reviewer, role)
    if language is not None:
        at.session_state["language"] = language
    return at.switch_page(page).run()


def _call_with_phrase_finding(db: Path) -> tuple[str, str, float]:
    with reading(db) as con:
        return con.execute(
            "SELECT call_id, finding_id, start_s FROM findings WHERE matched_phrase IS NOT NULL ORDER BY call_id LIMIT 1"
        ).fetchone()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_error(store, monkeypatch, page):
    at = app(page, store, monkeypatch, reviewer="inspector-zhang")
    assert not at.exception, at.exception
    assert not at.error


@pytest.mark.parametrize("page", ["views/overview.py", "views/calls.py", "views/queue.py", "views/phrases.py"])
def test_missing_database_says_how_to_score(tmp_path, monkeypatch, page):
    at = app(page, tmp_path / "none.duckdb", monkeypatch)
    assert not at.exception
    assert "callqa score DIR --db" in at.info[0].value
    assert not (tmp_path / "none.duckdb").exists()  # looking never creates a store


def test_empty_database_says_how_to_score(tmp_path, monkeypatch):
    db = tmp_path / "empty.duckdb"
    with writing(db):
        pass
    at = app("views/overview.py", db, monkeypatch)
    assert not at.exception and zh("`{path}` holds no scored calls yet. Score some calls first:").format(
        path=db) in at.info[0].value


def test_overview_metrics_match_the_store(store, monkeypatch):
    at = app("views/overview.py", store, monkeypatch)
    with reading(store) as con:
        n, mean = con.execute("SELECT count(*), avg(score) FROM scores").fetchone()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[zh("Calls scored")] == f"{n:,}" and metrics[zh("Mean score")] == f"{mean:.1f}"
    assert not at.info  # no detached verdicts: nothing about them


def test_the_interface_speaks_english_when_asked(store, monkeypatch):
    at = app("views/overview.py", store, monkeypatch, language="en")
    assert at.title[0].value == "Call quality overview"
    assert {"Calls scored", "Mean score"} <= {m.label for m in at.metric}
    at = app("views/overview.py", store, monkeypatch)
    assert at.title[0].value == "通话质量总览"


def test_call_list_filters_by_team(store, monkeypatch):
    at = app("views/calls.py", store, monkeypatch)
    with reading(store) as con:
        team, n = con.execute("SELECT team, count(*) FROM calls GROUP BY team ORDER BY team LIMIT 1").fetchone()
    assert at.caption[0].value.startswith("共120通符合")
    at.multiselect(key="calls_teams").set_value([team]).run()
    assert not at.exception
    assert at.caption[0].value.startswith(f"共{n}通符合")


def test_call_detail_shows_titles_and_stores_a_verdict_without_preselecting_one(store, monkeypatch):
    call_id, finding_id, start_s = _call_with_phrase_finding(store)
    at = app("views/call.py", store, monkeypatch, reviewer="inspector-zhang", call_id=call_id)
    assert not at.exception and at.title[0].value == zh("Call {call}").format(call=call_id)
    shown = " ".join(h.value for h in at.get("html"))
    assert "<mark>" in shown and f'data-seek="{start_s:.3f}"' in shown  # the finding plays from its own second
    assert zh("not judged yet") in shown
    with reading(store) as con:
        rule_ids = {r[0] for r in con.execute("SELECT rule_id FROM findings WHERE call_id = ?", [call_id]).fetchall()}
    for rule_id in rule_ids:  # titles, never ids
        assert f">{rule_id}<" not in shown and load_rulebook().rules[rule_id].title in shown
    at.text_input(key=f"comment_{finding_id}").set_value("客户说的,不是坐席")
    at.button(key=f"fp_{finding_id}").click().run()
    assert not at.exception and not at.error
    with reading(store) as con:
        row = con.execute(
            "SELECT verdict, reviewer, comment, call_id FROM reviews WHERE finding_id = ? ORDER BY review_id DESC",
            [finding_id],
        ).fetchone()
    assert row == ("false_positive", "inspector-zhang", "客户说的,不是坐席", call_id)
    shown = " ".join(h.value for h in at.get("html"))
    assert "callqa-verdict-false_positive" in shown and "inspector-zhang" in shown  # the saved verdict, as saved


def test_missed_violation_report_is_stored(store, monkeypatch):
    call_id, _, _ = _call_with_phrase_finding(store)
    at = app("views/call.py", store, monkeypatch, reviewer="inspector-li", call_id=call_id)
    at.selectbox(key="missed_rule").set_value("hold.procedure")
    at.number_input(key="missed_at").set_value(4.5)
    at.text_area(key="missed_comment").set_value("让客户等待前没有征求意见")
    at.button(key=f"FormSubmitter:missed-{zh('Report missed violation')}").click().run()
    assert not at.exception and not at.error
    with reading(store) as con:
        row = con.execute("SELECT rule_id, start_s, reviewer, finding_id FROM reviews WHERE verdict = 'missed'").fetchone()
    assert row == ("hold.procedure", 4.5, "inspector-li", None)


def test_a_team_lead_sees_no_verdict_buttons_and_cannot_open_another_teams_call(store, monkeypatch):
    with reading(store) as con:
        team, other = [r[0] for r in con.execute("SELECT DISTINCT team FROM calls ORDER BY team LIMIT 2").fetchall()]
        mine = con.execute("SELECT min(call_id) FROM findings JOIN calls USING (call_id) WHERE team = ?",
                           [team]).fetchone()[0]
        theirs = con.execute("SELECT min(call_id) FROM calls WHERE team = ?", [other]).fetchone()[0]
    monkeypatch.setenv("CALLQA_DB", str(store))

    def open_call(call_id: str) -> AppTest:
        at = AppTest.from_file(str(APP / "app.py"), default_timeout=60)
        at.session_state["viewer"] = Viewer("lead-zhou", "team_lead", team)
        at.query_params["call_id"] = call_id
        return at.switch_page("views/call.py").run()

    at = open_call(mine)
    assert not at.exception and not at.error
    assert not [b for b in at.button if b.key and b.key.startswith(("confirm_", "fp_"))]
    assert zh("No call {call!r} that you may open.").format(call=theirs) in open_call(theirs).error[0].value


def _judging(at: AppTest) -> str:
    """The finding the queue shows now (its comment field is keyed by its id)."""
    (key,) = [t.key for t in at.text_input if t.key and t.key.startswith("comment_")]
    return key.removeprefix("comment_")


def test_the_queue_serves_failed_calls_first_and_moves_on_after_a_verdict(tmp_path, monkeypatch):
    db = tmp_path / "queue.duckdb"
    make_db(db, n_calls=8, findings_per_call=2, seed=7)
    with reading(db) as con:
        first = con.execute(
            "SELECT f.finding_id FROM findings f JOIN scores s USING (call_id) JOIN calls c USING (call_id) "
            "ORDER BY s.passed, CASE f.severity WHEN 'critical' THEN 0 WHEN 'major' THEN 1 ELSE 2 END, "
            "c.started_at, f.call_id, f.start_s, f.rule_id LIMIT 2").fetchall()
        total = con.execute("SELECT count(*) FROM findings").fetchone()[0]
    at = app("views/queue.py", db, monkeypatch, reviewer="inspector-zhang")
    assert not at.exception
    assert _judging(at) == first[0][0]
    at.button(key="queue_confirm").click().run()
    assert not at.exception and not at.error
    assert _judging(at) == first[1][0]  # the next one, without a click on "next"
    at.button(key="queue_next").click().run()  # skipped: stays unjudged
    with reading(db) as con:
        verdicts = con.execute("SELECT finding_id, verdict, reviewer FROM reviews").fetchall()
    assert verdicts == [(first[0][0], "confirmed", "inspector-zhang")]
    assert zh("{judged} of {total} findings judged; {waiting} waiting").format(
        judged=1, total=total, waiting=total - 1) == at.get("progress")[0].proto.text


def test_a_trainer_has_no_queue(store, monkeypatch):
    at = app("views/queue.py", store, monkeypatch, reviewer="trainer-sun", role="trainer")
    assert not at.exception and at.title[0].value == zh("Phrase library")  # not in its navigation: the first page
    page = AppTest.from_file(str(APP / "views" / "queue.py"), default_timeout=60)  # the page run on its own
    page.session_state["viewer"] = Viewer("trainer-sun", "trainer")
    page.run()
    assert not page.exception and not [b for b in page.button if b.key and b.key.startswith("queue_")]
    assert zh("Your role does not give verdicts, so it has no review queue.") in page.error[0].value


def test_missing_audio_shows_the_transcript_with_a_notice(tmp_path, monkeypatch):
    db = tmp_path / "noaudio.duckdb"
    make_db(db, n_calls=5, findings_per_call=2, seed=1)  # paths point at /recordings, which is absent
    with reading(db) as con:
        call_id = con.execute("SELECT call_id FROM calls LIMIT 1").fetchone()[0]
    at = app("views/call.py", db, monkeypatch, call_id=call_id)
    assert not at.exception
    assert zh("Audio file not found: `{path}`. The transcript and findings are shown without it.").split("`")[0] \
        in at.warning[0].value
    assert at.get("audio") == []
    assert any("<table class='transcript'" in h.value for h in at.get("html"))


def test_unknown_call_is_reported(store, monkeypatch):
    at = app("views/call.py", store, monkeypatch, call_id="no/such/call")
    assert not at.exception and "no/such/call" in at.error[0].value


def _tick(at: AppTest, rows: list[int]) -> None:
    """Tick rows the way the data editor reports edits."""
    at.session_state[at.session_state["lib_editor"]] = {"edited_rows": {r: {"select": True} for r in rows}, "added_rows": [], "deleted_rows": []}
    at.run()


def test_phrase_library_exports_only_the_current_searchs_selection(store, monkeypatch):
    at = app("views/phrases.py", store, monkeypatch)
    at.text_input(key="lib_phrase").set_value("欢迎致电").run()
    assert not at.exception
    assert "条命中" in at.caption[0].value
    _tick(at, [0, 1])
    at.button(key="lib_prepare").click().run()
    assert not at.exception
    with zipfile.ZipFile(io.BytesIO(at.session_state["lib_zip"][1])) as z:
        names = z.namelist()
        assert "clips.csv" in names and len([n for n in names if n.endswith(".wav")]) == 2
        index = z.read("clips.csv").decode("utf-8-sig")
    assert index.splitlines()[0].startswith("clip,phrase,similarity") and ",欢迎致电," in index

    at.text_input(key="lib_phrase").set_value("不知道").run()  # a new search: nothing ticked, no stale zip
    assert not at.exception and not any(b.label == zh("Download clips.zip") for b in at.get("download_button"))
    _tick(at, [0])
    assert not any(b.label == zh("Download clips.zip") for b in at.get("download_button"))
    at.button(key="lib_prepare").click().run()
    with zipfile.ZipFile(io.BytesIO(at.session_state["lib_zip"][1])) as z:
        assert len([n for n in z.namelist() if n.endswith(".wav")]) == 1
        assert ",不知道," in z.read("clips.csv").decode("utf-8-sig")


def test_rulebook_page_on_an_old_store_shows_the_disk_rulebook_with_a_note(store, monkeypatch):
    at = app("views/rulebook.py", store, monkeypatch, language="en")  # make_db stores no rulebook
    book = load_rulebook()
    assert len(at.expander) >= len(book.rules)
    assert book.version in at.caption[0].value
    assert "not necessarily the one the calls were scored with" in at.warning[0].value


def _diff(at: AppTest) -> str:
    return next(c.value for c in at.code if c.language == "diff")


def test_rulebook_page_shows_the_stored_history_and_a_diff(versioned, monkeypatch):
    db, old, new, _ = versioned
    at = app("views/rulebook.py", db, monkeypatch, language="en")
    assert not at.exception and not at.warning
    history = at.dataframe[0].value
    assert list(history["Version"]) == [new.version, old.version] and list(history["Calls"]) == [1, 5]
    assert at.selectbox(key="rb_version").value == new.version  # the newest by default
    assert at.selectbox(key="rb_compare").value == old.version
    diff = _diff(at)
    assert f"+rules.answer.rings.title = {OVERRIDE_TITLE}" in diff
    assert "-rules.answer.rings.params.max_rings = 3" in diff and "+rules.answer.rings.params.max_rings = 4" in diff
    assert any(c.language == "toml" and "max_rings = 4" in c.value for c in at.code)
    assert any(OVERRIDE_TITLE in e.label for e in at.expander)

    at.selectbox(key="rb_version").set_value(old.version).run()
    assert not at.exception and at.selectbox(key="rb_compare").value == new.version
    assert _diff(at) == diff  # always from the older version to the newer
    assert not any(OVERRIDE_TITLE in e.label for e in at.expander)


def test_call_detail_uses_the_calls_rulebook_and_lists_detached_verdicts(versioned, monkeypatch):
    db, _, new, call_id = versioned
    with reading(db) as con:
        finding_id, rule_id, evidence = con.execute(
            "SELECT finding_id, rule_id, evidence FROM findings WHERE call_id = ? ORDER BY start_s LIMIT 1", [call_id]
        ).fetchone()
    with writing(db) as con:
        record_review(con, Viewer("inspector-wang", "supervisor"), call_id=call_id, finding_id=finding_id,
                      verdict="confirmed")
        con.execute("DELETE FROM findings WHERE finding_id = ?", [finding_id])  # the rescore found it no more

    at = app("views/call.py", db, monkeypatch, language="en", call_id=call_id)
    assert not at.exception
    assert OVERRIDE_TITLE in at.selectbox(key="missed_rule").options
    assert any(h.value == "Verdicts that no longer match a finding (1)" for h in at.subheader)
    detached = next(d.value for d in at.dataframe if "Rulebook" in d.value.columns)
    row = detached.iloc[0]
    title = (new.rules[rule_id].title if rule_id in new.rules else rule_id)
    assert row["Rule"] == title and row["Verdict"] == "confirmed" and row["Reviewer"] == "inspector-wang"
    assert row["Evidence"] == (evidence or "-") and row["Rulebook"] == new.version

    at = app("views/overview.py", db, monkeypatch, language="en")
    assert not at.exception and at.info[0].value.startswith("1 inspector verdict(s) no longer match a finding")


def test_pages_wait_for_the_batch_instead_of_failing(store, monkeypatch):
    """A writer holding DuckDB's lock delays the page; no lock error reaches the user."""
    holder = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from qa.scoring.db import writing
        with writing({str(store)!r}) as con:
            print("locked", flush=True)
            time.sleep(2.0)
    """)
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        started = time.monotonic()
        at = app("views/overview.py", store, monkeypatch, language="en")
        waited = time.monotonic() - started
    finally:
        proc.wait(timeout=30)
    assert not at.exception and not at.error and not at.warning
    assert {m.label for m in at.metric} >= {"Calls scored", "Mean score"}
    assert waited > 0.5  # it really met the lock


def test_an_appeal_filed_and_overturned_on_the_page_restores_the_score(tmp_path, monkeypatch):
    db = tmp_path / "appeal.duckdb"
    make_db(db, n_calls=6, findings_per_call=2, seed=4)
    with reading(db) as con:
        call_id, finding_id = con.execute(
            "SELECT f.call_id, any_value(f.finding_id) FROM findings f JOIN rule_results r USING (call_id, rule_id) "
            "WHERE r.outcome = 'fail' AND r.points > 0 GROUP BY f.call_id, f.rule_id HAVING count(*) = 1 "
            "ORDER BY 1 LIMIT 1").fetchone()

    def reviewed(at: AppTest) -> str:
        return next(m.value for m in at.metric if m.label == zh("Reviewed score"))

    at = app("views/call.py", db, monkeypatch, reviewer="inspector-li", call_id=call_id)
    at.button(key=f"confirm_{finding_id}").click().run()
    before = reviewed(at)
    with reading(db) as con:
        team = con.execute("SELECT team FROM calls WHERE call_id = ?", [call_id]).fetchone()[0]
    at.session_state["viewer"] = Viewer("lead-wang", "team_lead", team)
    at.text_input(key=f"appeal_reason_{finding_id}").set_value("客户先说的, 坐席在复述")
    at.button(key=f"appeal_{finding_id}").click().run()
    assert not at.exception and not at.error
    assert any("客户先说的, 坐席在复述" in w.value and "lead-wang" in w.value for w in at.warning)
    at.session_state["viewer"] = Viewer("supervisor-zhao", "supervisor")
    at.run()  # the decision buttons are a supervisor's
    at.button(key=f"overturn_{finding_id}").click().run()
    assert not at.exception and not at.error
    assert float(reviewed(at)) > float(before)
    with reading(db) as con:
        trail = con.execute("SELECT verdict, reviewer, comment FROM reviews WHERE finding_id = ? ORDER BY review_id",
                            [finding_id]).fetchall()
    assert trail == [("confirmed", "inspector-li", None), ("appeal", "lead-wang", "客户先说的, 坐席在复述"),
                     ("overturned", "supervisor-zhao", None)]


def test_a_sampling_plan_drawn_on_the_page_feeds_its_inspectors_queue(tmp_path, monkeypatch):
    db = tmp_path / "plan.duckdb"
    make_db(db, n_calls=30, findings_per_call=2, seed=6, nights=3)
    at = app("views/sampling.py", db, monkeypatch, reviewer="li")
    assert not at.exception
    fields = {t.label: t for t in at.text_input}
    fields[zh("Name")].set_value("第48周抽检")
    fields[zh("Inspectors, comma-separated, in dealing order")].set_value("li, wang")
    at.button(key="FormSubmitter:new_plan-" + zh("Draw the plan")).click().run()
    assert not at.exception and not at.error
    with reading(db) as con:
        plan_id, name, who = con.execute("SELECT plan_id, name, created_by FROM sampling_plans").fetchone()
        mine = {c for (c,) in con.execute("SELECT call_id FROM plan_calls WHERE inspector = 'li'").fetchall()}
    assert (name, who) == ("第48周抽检", "li") and mine
    progress = next(d.value for d in at.dataframe if zh("Inspector") in d.value.columns)
    assert set(progress[zh("Inspector")]) == {"li", "wang"}

    at = app("views/queue.py", db, monkeypatch, reviewer="li", plan=str(plan_id))
    assert not at.exception and zh("Sampling plan {plan}: only the calls it gave you ({who}), judged by you.").format(
        plan=plan_id, who="li") in at.info[0].value
    with reading(db) as con:
        call_of = con.execute("SELECT call_id FROM findings WHERE finding_id = ?", [_judging(at)]).fetchone()[0]
    assert call_of in mine


def test_the_scorecard_page_offers_its_workbook(store, monkeypatch):
    at = app("views/scorecard.py", store, monkeypatch)
    assert not at.exception and not at.error
    assert at.title[0].value == zh("Agent scorecard")
    assert {m.label for m in at.metric} >= {zh("Calls scored"), zh("Mean score")}
    button = next(b for b in at.get("download_button") if b.proto.label == zh("Download as Excel"))
    assert button.proto.url  # the workbook is served
    at.radio(key="coach_who").set_value("team").run()
    assert not at.exception


def test_the_call_timeline_marks_the_lines_own_sounds():
    """IVR prompts, music and key presses of a stored timeline are drawn in the events row, named."""
    import pandas as pd
    from player import call_marks, timeline_svg

    timeline = {"rings": [[20.0, 21.0]], "cues": [[0.5, 6.0, "ivr", "", 0], [7.0, 7.1, "dtmf", "1", 1],
                                                   [8.0, 18.0, "music", "", 0]]}
    empty = pd.DataFrame(columns=["role", "start_s", "end_s", "text", "rule_id"])
    marks = call_marks(timeline, empty, empty, {}, hold_min_s=6.0)
    cues = [m for m in marks if m.lane == "cue"]
    zh = translations("zh_CN").gettext  # the interface's default language
    key = zh("Key pressed: {key}").format(key="1")
    assert [(m.start_s, m.label) for m in cues] == [(0.5, zh("IVR prompt")), (7.0, key), (8.0, zh("Music"))]
    svg = timeline_svg(30.0, marks, None, ["agent", "customer"])
    assert svg.count('data-seek="0.500"') == 1 and key in svg
