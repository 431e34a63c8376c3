"""The agent scorecard (the coaching view): an agent's or a team's score by week, the rules
they fail most, example findings to listen to, and the calls behind each figure.

Weeks are by the call's start; calls without a start time are one "unknown
date" row, never placed at the week they were scored. Examples prefer findings
an inspector confirmed, then the most severe. `workbook` writes the same as an
Excel file (openpyxl) for a team lead's coaching session.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from qa.access.roles import Viewer, require
from qa.scoring.queries import LATEST_VERDICTS, scoped

__all__ = ["Scorecard", "scorecard", "scorecard_calls", "workbook"]


@dataclass(frozen=True)
class Scorecard:
    who: str  # "agent" or "team"
    name: str
    summary: dict[str, Any]  # calls, mean_score, pass_rate
    weeks: pd.DataFrame  # week (NaT: unknown date), calls, mean_score, pass_rate
    rules: pd.DataFrame  # rule_id, failed_calls, share_of_calls
    examples: pd.DataFrame  # call_id, rule_id, start_s, end_s, evidence, severity, verdict, path


def _where(viewer: Viewer, who: str, name: str, date_from: date | None, date_to: date | None
           ) -> tuple[str, list[Any]]:
    require(viewer, "scorecard")
    column = {"agent": "c.agent_id", "team": "c.team"}[who]
    mine, params = scoped(viewer, date_from, date_to)
    return f"{column} = ? AND c.status = 'scored' AND {mine}", [name] + params


def scorecard(con: duckdb.DuckDBPyConnection, viewer: Viewer, who: str, name: str, date_from: date | None = None,
              date_to: date | None = None, examples: int = 10) -> Scorecard:
    """One agent's or team's figures over the viewer's calls; the examples' evidence has personal
    numbers masked (the scorecard is exported)."""
    where, params = _where(viewer, who, name, date_from, date_to)
    base = f"FROM calls c JOIN scores s USING (call_id) WHERE {where}"
    calls, mean, rate = con.execute(
        f"SELECT count(*), avg(s.score), avg(CASE WHEN s.passed THEN 1.0 ELSE 0.0 END) {base}", params).fetchone()
    weeks = con.execute(
        f"""SELECT CAST(date_trunc('week', c.started_at) AS DATE) AS week, count(*) AS calls,
                   round(avg(s.score), 2) AS mean_score, round(avg(CASE WHEN s.passed THEN 1.0 ELSE 0.0 END), 4) AS pass_rate
            {base} GROUP BY week ORDER BY week NULLS LAST""", params).df()
    rules = con.execute(
        f"""SELECT r.rule_id, count(*) AS failed_calls, round(count(*) / ?, 4) AS share_of_calls
            FROM rule_results r JOIN calls c USING (call_id) JOIN scores s USING (call_id)
            WHERE r.outcome = 'fail' AND {where} GROUP BY r.rule_id ORDER BY failed_calls DESC, r.rule_id""",
        [max(1, calls)] + params).df()
    picked = con.execute(
        f"""WITH latest AS ({LATEST_VERDICTS})
            SELECT f.call_id, f.rule_id, f.start_s, f.end_s, coalesce(f.evidence_redacted, f.evidence) AS evidence,
                   f.severity, l.verdict, c.path
            FROM findings f JOIN calls c USING (call_id) JOIN scores s USING (call_id)
            LEFT JOIN latest l USING (finding_id)
            WHERE {where} AND coalesce(l.verdict, '') <> 'false_positive'
            ORDER BY l.verdict = 'confirmed' DESC NULLS LAST,
                     CASE f.severity WHEN 'critical' THEN 0 WHEN 'major' THEN 1 ELSE 2 END, c.started_at DESC, f.start_s
            LIMIT ?""", params + [examples]).df()
    summary = {"calls": int(calls), "mean_score": mean, "pass_rate": rate}
    return Scorecard(who, name, summary, weeks, rules, picked)


def scorecard_calls(con: duckdb.DuckDBPyConnection, viewer: Viewer, who: str, name: str,
                    date_from: date | None = None, date_to: date | None = None, week: date | None = None,
                    undated: bool = False, failed_rule: str | None = None) -> pd.DataFrame:
    """The calls behind one figure of the scorecard: a week (or the undated ones), a failed rule."""
    where, params = _where(viewer, who, name, date_from, date_to)
    if week is not None:
        where += " AND CAST(date_trunc('week', c.started_at) AS DATE) = ?"
        params.append(week)
    elif undated:
        where += " AND c.started_at IS NULL"
    if failed_rule:
        where += (" AND EXISTS (SELECT 1 FROM rule_results r WHERE r.call_id = c.call_id AND r.rule_id = ? "
                  "AND r.outcome = 'fail')")
        params.append(failed_rule)
    return con.execute(
        f"""SELECT c.call_id, c.started_at, c.agent_id, c.team, s.score, s.passed
            FROM calls c JOIN scores s USING (call_id) WHERE {where} ORDER BY c.started_at DESC NULLS LAST, c.call_id""",
        params).df()


def _sheet(book: Workbook, title: str, header: list[str], rows: list[list[Any]]) -> None:
    sheet = book.create_sheet(title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([None if (not isinstance(v, str) and pd.isna(v)) else v for v in row])
    for n, name in enumerate(header, start=1):  # wide enough for the header and the longest value
        longest = max([len(str(name))] + [len(str(r[n - 1])) for r in rows if r[n - 1] is not None] + [4])
        sheet.column_dimensions[get_column_letter(n)].width = min(60, longest * 1.6 + 2)
    sheet.freeze_panes = "A2"


def workbook(card: Scorecard, titles: dict[str, str], text: dict[str, str]) -> bytes:
    """The scorecard as .xlsx bytes; `titles` names the rules, `text` holds the sheet and column
    names in the interface language (keys as below)."""
    book = Workbook()
    book.remove(book.active)
    s = card.summary
    _sheet(book, text["summary"], [text["name"], text["calls"], text["mean_score"], text["pass_rate"]],
           [[card.name, s["calls"], None if s["mean_score"] is None else round(s["mean_score"], 2),
             None if s["pass_rate"] is None else round(s["pass_rate"], 4)]])
    _sheet(book, text["weeks"], [text["week"], text["calls"], text["mean_score"], text["pass_rate"]],
           [[text["unknown_date"] if pd.isna(w.week) else pd.Timestamp(w.week).date(), w.calls, w.mean_score,
             w.pass_rate] for w in card.weeks.itertuples(index=False)])
    _sheet(book, text["rules"], [text["rule"], text["failed_calls"], text["share_of_calls"]],
           [[titles.get(r.rule_id, r.rule_id), r.failed_calls, r.share_of_calls] for r in card.rules.itertuples()])
    _sheet(book, text["examples"], [text["call"], text["rule"], text["start_s"], text["end_s"], text["evidence"],
                                    text["verdict"]],
           [[e.call_id, titles.get(e.rule_id, e.rule_id), round(e.start_s, 2), round(e.end_s, 2), e.evidence,
             e.verdict] for e in card.examples.itertuples(index=False)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
