"""The audit log: who opened which call, played or exported what, gave which verdict, and when.

Rows are only ever inserted (`record`); nothing in callqa updates or deletes
them. Reading the log is an admin's right (`qa.access.roles`).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from qa.access.roles import Viewer, require

__all__ = ["ACTIONS", "audit_log", "record"]

ACTIONS = (
    "sign_in", "sign_in_failed", "sign_out", "open_call", "play_clip", "export_clips", "export_scorecard",
    "verdict", "make_plan", "account_added", "account_disabled", "account_enabled", "password_changed",
    "identity_changed",
)


def record(con: duckdb.DuckDBPyConnection, actor: Viewer | str, action: str, *, call_id: str | None = None,
           finding_id: str | None = None, detail: str | None = None) -> None:
    """Append one event (inside the caller's write session)."""
    if action not in ACTIONS:
        raise ValueError(f"audit action {action!r}: expected one of {', '.join(ACTIONS)}")
    name, role = (actor.name, actor.role) if isinstance(actor, Viewer) else (actor, None)
    con.execute("INSERT INTO audit_log (actor, role, action, call_id, finding_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
                [name, role, action, call_id, finding_id, detail])


def audit_log(con: duckdb.DuckDBPyConnection, viewer: Viewer, *, actor: str | None = None,
              action: str | None = None, call_id: str | None = None, date_from: date | None = None,
              date_to: date | None = None, limit: int = 500) -> pd.DataFrame:
    """The newest events first, filtered; only for a role that may read the log."""
    require(viewer, "audit")
    clauses, params = ["TRUE"], []
    for column, value in (("actor", actor), ("action", action), ("call_id", call_id)):
        if value:
            clauses.append(f"{column} = ?")  # column names are constants
            params.append(value)
    if date_from is not None:
        clauses.append("happened_at >= ?")
        params.append(date_from)
    if date_to is not None:
        clauses.append("happened_at < ?::DATE + 1")
        params.append(date_to)
    return con.execute(
        f"SELECT event_id, happened_at, actor, role, action, call_id, finding_id, detail FROM audit_log "
        f"WHERE {' AND '.join(clauses)} ORDER BY event_id DESC LIMIT ?", params + [limit]).df()
