"""The agent scorecard: its figures against plain pandas, the calls behind them, the workbook."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for bench.make_db

from bench.make_db import make_db  # noqa: E402
from viewers import SUPERVISOR, as_viewer  # noqa: E402
from qa.scoring.coaching import scorecard, scorecard_calls, workbook  # noqa: E402
from qa.scoring.db import reading, writing  # noqa: E402
from qa.scoring.queries_reviews import record_review  # noqa: E402

TEXT = {k: k for k in ("summary", "weeks", "rules", "examples", "name", "calls", "mean_score", "pass_rate", "week",
                       "unknown_date", "rule", "failed_calls", "share_of_calls", "call", "start_s", "end_s",
                       "evidence", "verdict")}


@pytest.fixture()
def store(tmp_path) -> Path:
    path = tmp_path / "calls.duckdb"
    make_db(path, n_calls=120, findings_per_call=2, seed=17, nights=20)
    return path


def _agent(path: Path) -> tuple[str, pd.DataFrame]:
    with reading(path) as con:
        calls = con.execute("SELECT c.call_id, c.agent_id, c.started_at, s.score, s.passed FROM calls c "
                            "JOIN scores s USING (call_id)").df()
    agent = calls["agent_id"].value_counts().index[0]
    return agent, calls[calls["agent_id"] == agent]


def test_the_scorecard_matches_the_store(store):
    agent, mine = _agent(store)
    with writing(store) as con:  # two of the agent's calls lose their start time
        undated = list(mine["call_id"].iloc[:2])
        con.execute("UPDATE calls SET started_at = NULL WHERE list_contains(?, call_id)", [undated])
    with reading(store) as con:
        card = scorecard(con, SUPERVISOR, "agent", agent)
        failed = con.execute("SELECT r.rule_id, count(*) FROM rule_results r JOIN calls c USING (call_id) "
                             "WHERE c.agent_id = ? AND r.outcome = 'fail' GROUP BY 1", [agent]).fetchall()
    assert card.summary["calls"] == len(mine)
    assert card.summary["mean_score"] == pytest.approx(mine["score"].mean())
    assert int(card.weeks["calls"].sum()) == len(mine)
    assert int(card.weeks[card.weeks["week"].isna()]["calls"].iloc[0]) == 2  # the unknown-date row
    assert dict(zip(card.rules["rule_id"], card.rules["failed_calls"])) == dict(failed)
    with reading(store) as con:
        rule = card.rules["rule_id"].iloc[0]
        behind = scorecard_calls(con, SUPERVISOR, "agent", agent, failed_rule=rule)
        undated_calls = scorecard_calls(con, SUPERVISOR, "agent", agent, undated=True)
    assert len(behind) == int(card.rules["failed_calls"].iloc[0])
    assert set(undated_calls["call_id"]) == set(undated)


def test_examples_prefer_confirmed_findings_and_leave_out_false_positives(store):
    agent, mine = _agent(store)
    with reading(store) as con:
        findings = con.execute("SELECT finding_id, call_id FROM findings WHERE list_contains(?, call_id) "
                               "ORDER BY finding_id", [list(mine["call_id"])]).fetchall()
    confirmed, dismissed = findings[0], findings[1]
    with writing(store) as con:
        record_review(con, as_viewer("li"), call_id=confirmed[1], finding_id=confirmed[0], verdict="confirmed")
        record_review(con, as_viewer("li"), call_id=dismissed[1], finding_id=dismissed[0], verdict="false_positive")
    with reading(store) as con:
        card = scorecard(con, SUPERVISOR, "agent", agent, examples=50)
        ids = {(r[0], r[1]) for r in con.execute("SELECT call_id, start_s FROM findings WHERE finding_id = ?",
                                                  [dismissed[0]]).fetchall()}
    assert card.examples["verdict"].iloc[0] == "confirmed"
    assert not ids & set(zip(card.examples["call_id"], card.examples["start_s"]))


def test_the_workbook_holds_the_scorecard(store):
    agent, mine = _agent(store)
    with reading(store) as con:
        card = scorecard(con, SUPERVISOR, "agent", agent)
    book = load_workbook(io.BytesIO(workbook(card, {"phrase.forbidden": "服务忌语"}, TEXT)))
    assert book.sheetnames == ["summary", "weeks", "rules", "examples"]
    summary = [c.value for c in book["summary"][2]]
    assert summary[:2] == [agent, len(mine)] and summary[2] == pytest.approx(mine["score"].mean(), abs=0.01)
    rules = {row[0].value: row[1].value for row in book["rules"].iter_rows(min_row=2)}
    titled = {("服务忌语" if r == "phrase.forbidden" else r): n for r, n in zip(card.rules["rule_id"],
                                                                           card.rules["failed_calls"])}
    assert rules == titled
    assert book["examples"].max_row == len(card.examples) + 1
