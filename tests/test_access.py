"""Accounts, the role matrix in the queries, the audit log, and serving only where it is safe."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for bench.make_db

from commandline import callqa  # noqa: E402
from bench.make_db import make_db  # noqa: E402
from qa.access import accounts as acc  # noqa: E402
from qa.access.audit import audit_log  # noqa: E402
from qa.access.roles import ROLES, AccessDenied, Viewer, markdown_matrix  # noqa: E402
from qa.commands.dashboard import cookie_secret  # noqa: E402
from qa.scoring import queries as q  # noqa: E402
from qa.scoring.db import reading, writing  # noqa: E402
from qa.scoring.queries_phrases import search_phrases  # noqa: E402
from qa.scoring.queries_queue import QueueFilter, next_finding  # noqa: E402
from qa.scoring.queries_reviews import call_detail, record_review  # noqa: E402
from qa.scoring.sampling import SamplingPlan, create_plan, plans  # noqa: E402

SUPERVISOR = Viewer("zhao", "supervisor")
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("access") / "calls.duckdb"
    make_db(path, n_calls=60, findings_per_call=2, seed=11, nights=3)
    return path


def _ids(con, viewer: Viewer) -> set[str]:
    page, _ = q.list_calls(con, viewer, q.CallFilter(page_size=1000))
    return set(page["call_id"])


def test_accounts_hash_with_argon2_and_never_say_which_half_was_wrong(tmp_path):
    db = tmp_path / "a.duckdb"
    with writing(db) as con:
        acc.add_account(con, "li", "inspector", PASSWORD)
        acc.add_account(con, "zhou", "team_lead", PASSWORD, team="north")
        stored = con.execute("SELECT password_hash FROM accounts WHERE name = 'li'").fetchone()[0]
        assert stored.startswith("$argon2id$") and PASSWORD not in stored
        assert acc.sign_in(con, "li", PASSWORD) == Viewer("li", "inspector")
        assert acc.sign_in(con, "zhou", PASSWORD) == Viewer("zhou", "team_lead", "north")
        assert acc.sign_in(con, "li", "wrong password!") is None
        assert acc.sign_in(con, "nobody", PASSWORD) is None  # the same answer as a wrong password
        acc.set_disabled(con, "li")
        assert acc.sign_in(con, "li", PASSWORD) is None
        acc.set_disabled(con, "li", False)
        acc.set_password(con, "li", "another long password")
        assert acc.sign_in(con, "li", PASSWORD) is None and acc.sign_in(con, "li", "another long password")
        for bad in (lambda: acc.add_account(con, "li", "inspector", PASSWORD),  # exists
                    lambda: acc.add_account(con, "wu", "inspector", "short"),
                    lambda: acc.add_account(con, "wu", "boss", PASSWORD),
                    lambda: acc.add_account(con, "two words", "inspector", PASSWORD),
                    lambda: acc.add_account(con, "he", "team_lead", PASSWORD)):  # a team lead needs a team
            with pytest.raises(acc.AccountError):
                bad()
        assert list(acc.accounts(con)["name"]) == ["li", "zhou"] and "password_hash" not in acc.accounts(con)


def test_failed_sign_ins_make_the_next_try_wait():
    guard = acc.SignInGuard(max_failures=3, window_s=60.0, server_max=5)
    for t in range(3):
        assert guard.wait_s("li", now=100.0 + t) == 0
        guard.failed("li", now=100.0 + t)
    assert guard.wait_s("li", now=103.0) == pytest.approx(57.0)
    assert guard.wait_s("wang", now=103.0) == 0  # another name may still try
    guard.failed("wang", now=104.0)
    guard.failed("zhang", now=104.0)
    assert guard.wait_s("sun", now=105.0) > 0  # guesses over many names brake the whole server
    assert guard.wait_s("li", now=170.0) == 0  # the window passed


def test_each_role_lists_only_its_calls(store):
    with reading(store) as con:
        teams = [t for (t,) in con.execute("SELECT DISTINCT team FROM calls ORDER BY 1").fetchall()]
        every = _ids(con, SUPERVISOR)
        lead = Viewer("zhou", "team_lead", teams[0])
        team_calls = {c for (c,) in con.execute("SELECT call_id FROM calls WHERE team = ?", [teams[0]]).fetchall()}
        assert len(every) == 60 and _ids(con, Viewer("root", "admin")) == every
        assert _ids(con, lead) == team_calls and 0 < len(team_calls) < 60
        assert q.overview(con, lead)["calls_scored"] == len(team_calls)
        assert q.filter_options(con, lead)["teams"] == [teams[0]]
        assert _ids(con, Viewer("sun", "trainer")) == set()
        assert _ids(con, Viewer("li", "inspector")) == set()  # nothing assigned yet
        other = next(c for c in every - team_calls)
        assert call_detail(con, lead, other) is None and call_detail(con, SUPERVISOR, other) is not None
        found = next_finding(con, lead, QueueFilter())
        assert found is None or found["call_id"] in team_calls
        hits = search_phrases(con, lead, "欢迎致电", limit=500)
        assert set(hits["call_id"]) <= team_calls
        assert len(search_phrases(con, Viewer("sun", "trainer"), "欢迎致电", limit=500)) >= len(hits)


def test_an_inspector_sees_the_calls_a_plan_gave_them(tmp_path):
    db = tmp_path / "plan.duckdb"
    make_db(db, n_calls=40, findings_per_call=2, seed=12, nights=2)
    li, wang = Viewer("li", "inspector"), Viewer("wang", "inspector")
    with writing(db) as con:
        with pytest.raises(AccessDenied):
            create_plan(con, li, SamplingPlan(name="p", inspectors=("li",), share=0.2))
        plan_id = create_plan(con, SUPERVISOR, SamplingPlan(name="p", inspectors=("li", "wang"), share=0.2))
    with reading(db) as con:
        given = {c for (c,) in con.execute("SELECT call_id FROM plan_calls WHERE inspector = 'li'").fetchall()}
        assert given and _ids(con, li) == given
        assert list(plans(con, li)["plan_id"]) == [plan_id] and plans(con, Viewer("ma", "inspector")).empty
        call = next(iter(given))
        finding = con.execute("SELECT finding_id FROM findings WHERE call_id = ? LIMIT 1", [call]).fetchone()
    with writing(db) as con:
        if finding:
            record_review(con, li, call_id=call, finding_id=finding[0], verdict="confirmed")
            with pytest.raises(AccessDenied):  # not wang's call
                record_review(con, wang, call_id=call, finding_id=finding[0], verdict="confirmed")
        with pytest.raises(AccessDenied):
            record_review(con, li, call_id=call, finding_id=finding[0] if finding else None, verdict="upheld")


def test_plans_deal_only_to_accounts_that_may_judge_once_accounts_exist(tmp_path):
    db = tmp_path / "p.duckdb"
    make_db(db, n_calls=10, findings_per_call=1, seed=2, nights=1)
    with writing(db) as con:
        acc.add_account(con, "li", "inspector", PASSWORD)
        acc.add_account(con, "sun", "trainer", PASSWORD)
        with pytest.raises(Exception, match="may give verdicts"):
            create_plan(con, SUPERVISOR, SamplingPlan(name="p", inspectors=("li", "sun"), share=0.5))
        assert acc.inspector_names(con, SUPERVISOR) == ["li"]


def test_verdicts_and_plans_are_in_the_audit_log_which_only_an_admin_reads(tmp_path):
    db = tmp_path / "audit.duckdb"
    make_db(db, n_calls=6, findings_per_call=2, seed=3, nights=1)
    with writing(db) as con:
        call, finding = con.execute("SELECT call_id, finding_id FROM findings LIMIT 1").fetchone()
        record_review(con, SUPERVISOR, call_id=call, finding_id=finding, verdict="false_positive")
        create_plan(con, SUPERVISOR, SamplingPlan(name="w48", inspectors=("li",), share=0.5))
    with reading(db) as con:
        with pytest.raises(AccessDenied):
            audit_log(con, SUPERVISOR)
        log = audit_log(con, Viewer("root", "admin"))
    assert list(log["action"]) == ["make_plan", "verdict"]  # newest first
    assert (log.iloc[1]["actor"], log.iloc[1]["call_id"], log.iloc[1]["finding_id"]) == ("zhao", call, finding)


def test_users_command_and_serving_beyond_localhost_needs_an_account(tmp_path):
    db = tmp_path / "cli.duckdb"
    make_db(db, n_calls=3, findings_per_call=1, seed=1, nights=1)
    refused = callqa("dashboard", "--db", str(db), "--host", "0.0.0.0", "--port", "8799")
    assert refused.returncode != 0 and "no account" in refused.stderr and "callqa users add" in refused.stderr
    added = callqa("users", "add", "admin1", "--role", "admin", "--db", str(db), "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    short = callqa("users", "add", "li", "--role", "inspector", "--db", str(db), "--password-stdin", stdin="x\n")
    assert short.returncode != 0 and "at least" in short.stderr
    assert callqa("users", "disable", "admin1", "--db", str(db)).returncode == 0
    listed = callqa("users", "list", "--db", str(db))
    assert listed.stdout.split() == ["admin1", "admin", "-", "-", "disabled"]
    with reading(db) as con:
        assert [r[0] for r in con.execute("SELECT action FROM audit_log ORDER BY event_id").fetchall()] == [
            "account_added", "account_disabled"]


def test_the_cookie_secret_is_made_once_and_kept_owner_only(tmp_path):
    db = tmp_path / "s.duckdb"
    first = cookie_secret(db)
    path = tmp_path / "s.duckdb.cookie-secret"
    assert len(first) >= 40 and stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    assert cookie_secret(db) == first and stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_the_readme_shows_the_role_matrix():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert markdown_matrix() in readme, "paste `python -m qa.access.roles` into the README"
    assert set(ROLES) == {"admin", "supervisor", "inspector", "trainer", "team_lead"}
