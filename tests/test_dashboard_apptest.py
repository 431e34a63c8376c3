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
from qa.phrases import load_rulebook  # noqa: E402
from qa.scoring.db import reading, writing  # noqa: E402
from qa.scoring.queries_reviews import record_review  # noqa: E402
from qa.scoring.rulebooks import store_rulebook  # noqa: E402

PAGES = ["Home.py", "pages/01_Calls.py", "pages/02_Call_detail.py", "pages/03_Phrase_library.py", "pages/04_Rulebook.py"]


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


def app(page: str, db: Path, monkeypatch, **params: str) -> AppTest:
    monkeypatch.setenv("CALLQA_DB", str(db))
    at = AppTest.from_file(str(APP / page), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def _call_with_phrase_finding(db: Path) -> tuple[str, str, float]:
    with reading(db) as con:
        return con.execute(
            "SELECT call_id, finding_id, start_s FROM findings WHERE matched_phrase IS NOT NULL ORDER BY call_id LIMIT 1"
        ).fetchone()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_error(store, monkeypatch, page):
    at = app(page, store, monkeypatch)
    assert not at.exception, at.exception
    assert not at.error


@pytest.mark.parametrize("page", PAGES[:4])
def test_missing_database_says_how_to_score(tmp_path, monkeypatch, page):
    at = app(page, tmp_path / "none.duckdb", monkeypatch)
    assert not at.exception
    assert "callqa score DIR --db" in at.info[0].value
    assert not (tmp_path / "none.duckdb").exists()  # looking never creates a store


def test_empty_database_says_how_to_score(tmp_path, monkeypatch):
    db = tmp_path / "empty.duckdb"
    with writing(db):
        pass
    at = app("Home.py", db, monkeypatch)
    assert not at.exception and "holds no scored calls" in at.info[0].value


def test_overview_metrics_match_the_store(store, monkeypatch):
    at = app("Home.py", store, monkeypatch)
    with reading(store) as con:
        n, mean = con.execute("SELECT count(*), avg(score) FROM scores").fetchone()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Calls scored"] == f"{n:,}" and metrics["Mean score"] == f"{mean:.1f}"
    assert not at.info  # no detached verdicts: nothing about them


def test_call_list_filters_by_team(store, monkeypatch):
    at = app("pages/01_Calls.py", store, monkeypatch)
    with reading(store) as con:
        team, n = con.execute("SELECT team, count(*) FROM calls GROUP BY team ORDER BY team LIMIT 1").fetchone()
    assert at.caption[0].value.startswith("120 calls match")
    at.multiselect(key="calls_teams").set_value([team]).run()
    assert not at.exception
    assert at.caption[0].value.startswith(f"{n} calls match")


def test_call_detail_plays_from_a_finding_and_stores_a_verdict(store, monkeypatch):
    call_id, finding_id, start_s = _call_with_phrase_finding(store)
    at = app("pages/02_Call_detail.py", store, monkeypatch, call_id=call_id)
    assert not at.exception and at.title[0].value == call_id
    assert not any("no longer match" in h.value for h in at.subheader)
    assert "<mark>" in at.markdown[0].value or any("<mark>" in m.value for m in at.markdown)
    at.button(key=f"play::{finding_id}").click().run()
    assert any(c.value.startswith("Playing from") for c in at.caption)
    assert at.session_state[f"play_from::{call_id}"] == pytest.approx(max(0.0, start_s - 0.5))
    at.text_input(key="reviewer").set_value("inspector-zhang").run()
    at.radio(key=f"verdict_choice::{finding_id}").set_value("false_positive")
    at.text_input(key=f"verdict_comment::{finding_id}").set_value("客户说的,不是坐席")
    at.button(key=f"FormSubmitter:verdict::{finding_id}-Save verdict").click().run()
    assert not at.exception and not at.error
    with reading(store) as con:
        row = con.execute(
            "SELECT verdict, reviewer, comment, call_id FROM reviews WHERE finding_id = ? ORDER BY review_id DESC",
            [finding_id],
        ).fetchone()
    assert row == ("false_positive", "inspector-zhang", "客户说的,不是坐席", call_id)


def test_missed_violation_report_is_stored(store, monkeypatch):
    call_id, _, _ = _call_with_phrase_finding(store)
    at = app("pages/02_Call_detail.py", store, monkeypatch, call_id=call_id)
    at.text_input(key="reviewer").set_value("inspector-li").run()
    at.selectbox(key="missed_rule").set_value("hold.procedure")
    at.number_input(key="missed_at").set_value(4.5)
    at.text_area(key="missed_comment").set_value("让客户等待前没有征求意见")
    at.button(key="FormSubmitter:missed-Report missed violation").click().run()
    assert not at.exception and not at.error
    with reading(store) as con:
        row = con.execute("SELECT rule_id, start_s, reviewer, finding_id FROM reviews WHERE verdict = 'missed'").fetchone()
    assert row == ("hold.procedure", 4.5, "inspector-li", None)


def test_verdict_without_reviewer_is_refused(store, monkeypatch):
    call_id, finding_id, _ = _call_with_phrase_finding(store)
    at = app("pages/02_Call_detail.py", store, monkeypatch, call_id=call_id)
    at.text_input(key="reviewer").set_value("").run()
    with reading(store) as con:
        before = con.execute("SELECT count(*) FROM reviews").fetchone()[0]
    at.button(key=f"FormSubmitter:verdict::{finding_id}-Save verdict").click().run()
    assert "reviewer" in at.error[0].value
    with reading(store) as con:
        assert con.execute("SELECT count(*) FROM reviews").fetchone()[0] == before


def test_missing_audio_shows_the_transcript_with_a_notice(tmp_path, monkeypatch):
    db = tmp_path / "noaudio.duckdb"
    make_db(db, n_calls=5, findings_per_call=2, seed=1)  # paths point at /recordings, which is absent
    with reading(db) as con:
        call_id = con.execute("SELECT call_id FROM calls LIMIT 1").fetchone()[0]
    at = app("pages/02_Call_detail.py", db, monkeypatch, call_id=call_id)
    assert not at.exception
    assert "Audio file not found" in at.warning[0].value
    assert at.get("audio") == []
    assert any("<table class='transcript'" in m.value for m in at.markdown)


def test_unknown_call_is_reported(store, monkeypatch):
    at = app("pages/02_Call_detail.py", store, monkeypatch, call_id="no/such/call")
    assert not at.exception and "No call" in at.error[0].value


def test_phrase_library_search_select_and_export(store, monkeypatch):
    at = app("pages/03_Phrase_library.py", store, monkeypatch)
    at.text_input(key="lib_phrase").set_value("欢迎致电").run()
    assert not at.exception
    assert "hits, best first" in at.caption[0].value
    # tick the first two rows the way the data editor reports edits
    at.session_state["lib_table"] = {"edited_rows": {0: {"select": True}, 1: {"select": True}},
                                     "added_rows": [], "deleted_rows": []}
    at.run()
    at.button(key="lib_prepare").click().run()
    assert not at.exception
    with zipfile.ZipFile(io.BytesIO(at.session_state["lib_zip"])) as z:
        names = z.namelist()
        assert "clips.csv" in names and len([n for n in names if n.endswith(".wav")]) == 2


def test_rulebook_page_on_an_old_store_shows_the_disk_rulebook_with_a_note(store, monkeypatch):
    at = app("pages/04_Rulebook.py", store, monkeypatch)  # make_db stores no rulebook
    book = load_rulebook()
    assert len(at.expander) >= len(book.rules)
    assert book.version in at.caption[0].value
    assert "not necessarily the one the calls were scored with" in at.warning[0].value


def _diff(at: AppTest) -> str:
    return next(c.value for c in at.code if c.language == "diff")


def test_rulebook_page_shows_the_stored_history_and_a_diff(versioned, monkeypatch):
    db, old, new, _ = versioned
    at = app("pages/04_Rulebook.py", db, monkeypatch)
    assert not at.exception and not at.warning
    history = at.dataframe[0].value
    assert list(history["version"]) == [new.version, old.version] and list(history["calls"]) == [1, 5]
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
        record_review(con, call_id=call_id, finding_id=finding_id, verdict="confirmed", reviewer="inspector-wang")
        con.execute("DELETE FROM findings WHERE finding_id = ?", [finding_id])  # the rescore found it no more

    at = app("pages/02_Call_detail.py", db, monkeypatch, call_id=call_id)
    assert not at.exception
    assert f"answer.rings · {OVERRIDE_TITLE}" in at.selectbox(key="missed_rule").options
    assert any(h.value == "Verdicts that no longer match a finding (1)" for h in at.subheader)
    detached = next(d.value for d in at.dataframe if "rulebook" in d.value.columns)
    row = detached.iloc[0]
    assert row["rule"].startswith(rule_id) and row["verdict"] == "confirmed" and row["reviewer"] == "inspector-wang"
    assert row["evidence"] == (evidence or "-") and row["rulebook"] == new.version

    at = app("Home.py", db, monkeypatch)
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
        at = app("Home.py", store, monkeypatch)
        waited = time.monotonic() - started
    finally:
        proc.wait(timeout=30)
    assert not at.exception and not at.error and not at.warning
    assert {m.label for m in at.metric} >= {"Calls scored", "Mean score"}
    assert waited > 0.5  # it really met the lock
