"""Shared helpers of the dashboard pages: the store, caching, bad states.

Every read is one short read-only session (`qa.scoring.db.reading`) inside a
cached function with a short TTL, so the nightly batch can write between two
page loads and fresh rows appear within CACHE_TTL_S (or at once with the
sidebar's refresh button). No connection outlives a function call.
"""

from __future__ import annotations

import html
import os
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import streamlit as st

from qa.scoring import queries, queries_phrases, queries_reviews, rulebooks, verdicts
from qa.scoring.db import StoreBusyError, StoreError, reading, writing
from qa.words_layout import words_from_json

DB_ENV = "CALLQA_DB"
CACHE_TTL_S = 30
READ_TIMEOUT_S = 10.0
# DuckDB refuses a read-only and a read-write connection to one file in one
# process; reviews are written from this process, so sessions take turns.
_SESSION_LOCK = threading.Lock()

QUERIES: dict[str, Callable[..., Any]] = {
    name: getattr(queries, name)
    for name in (
        "overview", "night_trend", "group_trend", "most_failed_rules", "rule_precision", "filter_options",
        "list_calls", "is_empty",
    )
}
QUERIES["search_phrases"] = queries_phrases.search_phrases
QUERIES["call_detail"] = queries_reviews.call_detail
QUERIES["rulebook_history"] = rulebooks.rulebook_history
QUERIES["stored_rulebook"] = rulebooks.stored_rulebook
QUERIES["detached_verdicts"] = verdicts.detached_verdicts


def db_path() -> str:
    return os.environ.get(DB_ENV, "callqa.duckdb")


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _cached(name: str, path: str, args: tuple, kwargs: tuple) -> Any:
    with _SESSION_LOCK, reading(path, timeout_s=READ_TIMEOUT_S) as con:
        return QUERIES[name](con, *args, **dict(kwargs))


def query(name: str, *args: Any, **kwargs: Any) -> Any:
    """Run a named query from QUERIES; store problems stop the page with a notice."""
    try:
        return _cached(name, db_path(), args, tuple(sorted(kwargs.items())))
    except StoreBusyError:
        st.warning("The nightly batch is writing to the database right now. Wait a moment and press Refresh.")
        st.stop()
    except StoreError as exc:
        st.error(f"Cannot read the database: {exc}")
        st.stop()


def store_exists() -> bool:
    return Path(db_path()).exists()


def require_scored_calls() -> None:
    """Stop the page with instructions when there is no database or no call in it."""
    path = db_path()
    if not store_exists():
        st.info(
            f"No database at `{path}` yet. Score some calls first:\n\n"
            f"```\ncallqa score DIR --db {path}\n```\n\nthen start the dashboard with "
            f"`callqa dashboard --db {path}`."
        )
        st.stop()
    if query("is_empty"):
        st.info(f"`{path}` holds no scored calls yet. Score some calls first:\n\n```\ncallqa score DIR --db {path}\n```")
        st.stop()


def sidebar() -> str:
    """Refresh button, data age and the reviewer's name (returned)."""
    with st.sidebar:
        st.caption(f"Database: `{db_path()}`")
        if st.button("Refresh data", help=f"Data is cached for {CACHE_TTL_S} s; this reloads it now"):
            st.cache_data.clear()
        st.caption(f"Loaded {datetime.now():%H:%M:%S}; refreshes every {CACHE_TTL_S} s")
        default = st.session_state.get("reviewer") or os.environ.get("USER", "")
        return st.text_input("Reviewer", value=default, key="reviewer", help="Stored with every verdict")


def save_review(**fields: Any) -> int | None:
    """Store one verdict; shows the reason and returns None when it is refused."""
    try:
        with _SESSION_LOCK, writing(db_path(), timeout_s=READ_TIMEOUT_S) as con:
            review_id = queries_reviews.record_review(con, **fields)
    except queries_reviews.ReviewError as exc:
        st.error(str(exc))
        return None
    except StoreBusyError:
        st.warning("The nightly batch holds the database; your verdict was not saved. Try again in a moment.")
        return None
    st.cache_data.clear()
    return review_id


def date_range(picked: Any, first: date, last: date) -> tuple[date | None, date | None]:
    """A st.date_input range as (from, to) for the queries; the whole range means no filter."""
    if isinstance(picked, (tuple, list)):
        picked = tuple(picked) if len(picked) == 2 else (tuple(picked) * 2)[:2] if picked else (first, last)
    else:
        picked = (picked, picked) if picked else (first, last)
    return (None, None) if picked == (first, last) else picked


def fmt_time(seconds: float | None) -> str:
    if seconds is None or pd.isna(seconds):
        return "-"
    minutes, secs = divmod(max(0.0, float(seconds)), 60)  # word times can start a hair before 0
    return f"{int(minutes):02d}:{secs:04.1f}"


def _marked_words(words_json: str | None, text: str, spans: list[tuple[float, float]]) -> str:
    """The utterance as HTML with the words inside any of `spans` marked."""
    if not spans:
        return html.escape(text)
    words = words_from_json(words_json)
    if not words:  # no word times: mark the whole line
        return f"<mark>{html.escape(text)}</mark>"
    parts = []
    for word in words:
        middle = (word.start_s + word.end_s) / 2
        piece = html.escape(word.text)
        hit = any(start - 0.05 <= middle <= end + 0.05 for start, end in spans)
        parts.append(f"<mark>{piece}</mark>" if hit else piece)
    return "".join(parts)


def transcript_html(utterances: pd.DataFrame, findings: pd.DataFrame) -> str:
    """Both parties interleaved by time; words a phrase finding matched are highlighted."""
    phrase_findings = findings[findings["matched_phrase"].notna()] if not findings.empty else findings
    rows = []
    for u in utterances.itertuples(index=False):
        spans = [
            (f.start_s, f.end_s)
            for f in phrase_findings.itertuples(index=False)
            if f.role in (u.role, None) and f.start_s < u.end_s + 0.05 and f.end_s > u.start_s - 0.05
        ]
        colour = {"agent": "#1f77b4", "customer": "#d62728"}.get(u.role, "#555")
        rows.append(
            f"<tr><td style='white-space:nowrap;color:#666'>{fmt_time(u.start_s)}</td>"
            f"<td style='color:{colour};font-weight:600'>{html.escape(u.role)}</td>"
            f"<td>{_marked_words(u.words_json, u.text, spans)}</td></tr>"
        )
    return "<table class='transcript' style='width:100%'>" + "".join(rows) + "</table>"


@st.cache_data(ttl=300, show_spinner=False)
def rulebook() -> tuple[Any, str]:
    """(the rulebook on disk, "") or (None, why it cannot be loaded); not necessarily the one
    that scored the calls (those are in the store: query "stored_rulebook")."""
    from qa.phrases import RulebookError, load_rulebook

    try:
        return load_rulebook(), ""
    except (RulebookError, OSError) as exc:
        return None, str(exc)


def scored_page(page_title: str, title: str) -> tuple[dict, date, date]:
    """The top of a page over scored calls: config, title, sidebar, the empty-store
    notice, then the filter options with the first and last call dates."""
    st.set_page_config(page_title=page_title, layout="wide")
    st.title(title)
    sidebar()
    require_scored_calls()
    options = query("filter_options")
    return options, options["first_call"].date(), options["last_call"].date()

