"""Shared helpers of the dashboard pages: the store, caching, bad states.

Every read is one short read-only session (`qa.scoring.db.reading`) inside a
cached function with a short TTL, so the nightly batch can write between two
page loads and fresh rows appear within CACHE_TTL_S (or at once with the
sidebar's refresh button). No connection outlives a function call.
"""

from __future__ import annotations

import html
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import streamlit as st

import auth
from player import seek_link
from qa.access import accounts, audit
from qa.access.roles import AccessDenied, Viewer, can, require
from qa.i18n import LANGUAGES, Explained
from qa.scoring import coaching, queries, queries_phrases, queries_queue, queries_reviews, rulebooks, sampling, verdicts
from qa.scoring.db import StoreBusyError, StoreError, reading, writing
from qa.words_layout import words_from_json
from ui import LANGUAGE_KEY, _, apply_style, explain, fmt_time, term

CACHE_TTL_S = 30
READ_TIMEOUT_S = 10.0
_SESSION_LOCK = auth.SESSION_LOCK  # one lock with the sign-in and the audit log's writes

QUERIES: dict[str, Callable[..., Any]] = {
    name: getattr(queries, name)
    for name in (
        "overview", "night_trend", "group_trend", "most_failed_rules", "rule_precision", "filter_options",
        "list_calls", "is_empty",
    )
}
QUERIES["search_phrases"] = queries_phrases.search_phrases
QUERIES["call_detail"] = queries_reviews.call_detail
QUERIES.update(audit_log=audit.audit_log, accounts=lambda con, viewer: _accounts(con, viewer),
               inspector_names=accounts.inspector_names)
QUERIES["rulebook_history"] = rulebooks.rulebook_history
QUERIES["stored_rulebook"] = rulebooks.stored_rulebook
QUERIES["detached_verdicts"] = verdicts.detached_verdicts
QUERIES["next_finding"] = queries_queue.next_finding
QUERIES["queue_progress"] = queries_queue.queue_progress
QUERIES.update(plans=sampling.plans, plan_progress=sampling.plan_progress, agreement=sampling.agreement,
               scorecard=coaching.scorecard, scorecard_calls=coaching.scorecard_calls)
# queries that do not take the viewer: nothing in them belongs to a call
UNSCOPED = {"is_empty", "rulebook_history", "stored_rulebook", "detached_verdicts"}


def _accounts(con: Any, viewer: Viewer) -> pd.DataFrame:
    require(viewer, "accounts")
    return accounts.accounts(con)


db_path = auth.db_path


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _cached(name: str, path: str, viewer: Viewer | None, args: tuple, kwargs: tuple) -> Any:
    with _SESSION_LOCK, reading(path, timeout_s=READ_TIMEOUT_S) as con:
        if viewer is None:
            return QUERIES[name](con, *args, **dict(kwargs))
        return QUERIES[name](con, viewer, *args, **dict(kwargs))


def viewer() -> Viewer:
    """The signed-in viewer (the sign-in form stops the page until there is one)."""
    return auth.current()


def may(action: str) -> bool:
    return can(viewer(), action)


def query(name: str, *args: Any, **kwargs: Any) -> Any:
    """Run a named query from QUERIES as the signed-in viewer; store problems stop the page with a notice."""
    who = None if name in UNSCOPED else viewer()
    try:
        return _cached(name, db_path(), who, args, tuple(sorted(kwargs.items())))
    except StoreBusyError:
        st.warning(_("The nightly batch is writing to the database right now. Wait a moment and press Refresh."))
        st.stop()
    except StoreError as exc:
        st.error(_("Cannot read the database: {problem}").format(problem=exc))
        st.stop()
    except AccessDenied as exc:
        st.error(explain(exc))
        st.stop()


def store_exists() -> bool:
    return Path(db_path()).exists()


def require_scored_calls() -> None:
    """Stop the page with instructions when there is no database or no call in it."""
    path = db_path()
    how = f"```\ncallqa score DIR --db {path}\n```"
    if not store_exists():
        st.info(_("No database at `{path}` yet. Score some calls first:").format(path=path) + "\n\n" + how + "\n\n"
                + _("then start the dashboard with `callqa dashboard --db {path}`.").format(path=path))
        st.stop()
    if query("is_empty"):
        st.info(_("`{path}` holds no scored calls yet. Score some calls first:").format(path=path) + "\n\n" + how)
        st.stop()


def language_picker() -> None:
    with st.sidebar:
        st.selectbox("语言 / Language", list(LANGUAGES), format_func=LANGUAGES.get, key=LANGUAGE_KEY)


def sidebar(who: Viewer) -> None:
    """Who is signed in, refresh and data age; drawn by the entry page, so they survive page changes."""
    with st.sidebar:
        auth.signed_in_box(who)
        if st.button(_("Refresh data"), help=_("Data is cached for {ttl} s; this reloads it now").format(ttl=CACHE_TTL_S)):
            st.cache_data.clear()
        st.caption(_("Loaded {time}; refreshes every {ttl} s").format(time=f"{datetime.now():%H:%M:%S}", ttl=CACHE_TTL_S))
        st.caption(_("Database: `{path}`").format(path=db_path()))


def _write(action: Callable[[Any], Any], refused: str, busy: str) -> Any:
    """Run `action(con)` in a write session; a refusal (`qa.i18n.Explained`) or a busy store is
    shown with `refused` / `busy` and gives None. Fresh rows show at once."""
    try:
        with _SESSION_LOCK, writing(db_path(), timeout_s=READ_TIMEOUT_S) as con:
            result = action(con)
    except Explained as exc:  # a refusal, AccessDenied included
        st.error(refused.format(problem=explain(exc)))
        return None
    except StoreBusyError:
        st.warning(busy)
        return None
    st.cache_data.clear()
    return result


def save_review(**fields: Any) -> int | None:
    """Store one verdict of the signed-in viewer; shows the reason and returns None when it is refused."""
    who = viewer()
    return _write(lambda con: queries_reviews.record_review(con, who, **fields),
                  _("The verdict was not saved: {problem}"),
                  _("The nightly batch holds the database; your verdict was not saved. Try again in a moment."))


def save_plan(plan: sampling.SamplingPlan) -> int | None:
    """Draw and store a sampling plan made by the signed-in viewer; shows the reason and returns None when it
    is refused."""
    who = viewer()
    return _write(lambda con: sampling.create_plan(con, who, plan),
                  _("The plan was not made: {problem}"),
                  _("The nightly batch holds the database; the plan was not made. Try again in a moment."))


def write_as_admin(change: Callable[[Any], Any], action: str, name: str) -> bool:
    """Change an account (`change(con)`) and log it, for a role that manages accounts; False when refused."""
    who = viewer()

    def run(con: Any) -> bool:
        require(who, "accounts")
        change(con)
        audit.record(con, who, action, detail=name)
        return True

    return bool(_write(run, _("Not changed: {problem}"),
                       _("The nightly batch holds the database; nothing was changed. Try again in a moment.")))


def date_range(picked: Any, first: date, last: date) -> tuple[date | None, date | None]:
    """A st.date_input range as (from, to) for the queries; the whole range means no filter."""
    if isinstance(picked, (tuple, list)):
        picked = tuple(picked) if len(picked) == 2 else (tuple(picked) * 2)[:2] if picked else (first, last)
    else:
        picked = (picked, picked) if picked else (first, last)
    return (None, None) if picked == (first, last) else picked


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
    """Both parties interleaved by time; words a phrase finding matched are highlighted, and
    each line's time plays the call from it."""
    phrase_findings = findings[findings["matched_phrase"].notna()] if not findings.empty else findings
    rows = []
    for u in utterances.itertuples(index=False):
        spans = [
            (f.start_s, f.end_s)
            for f in phrase_findings.itertuples(index=False)
            if f.role in (u.role, None) and f.start_s < u.end_s + 0.05 and f.end_s > u.start_s - 0.05
        ]
        colour = {"agent": "#1f77b4", "customer": "#d62728"}.get(u.role, "#555")
        link = seek_link(fmt_time(u.start_s), u.start_s, u.end_s, _("Play this line"))
        rows.append(
            f"<tr><td>{link}</td>"
            f"<td style='color:{colour};font-weight:600;white-space:nowrap'>{html.escape(term('role', u.role))}</td>"
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


def opened(call_id: str) -> None:
    """Write the viewer's opening of a call to the audit log, once per call and session."""
    seen = st.session_state.setdefault("audited_calls", set())
    if call_id not in seen:
        auth.audit(viewer(), "open_call", call_id=call_id)
        seen.add(call_id)


def scored_page(title: str) -> tuple[dict, date | None, date | None]:
    """The top of a page over scored calls: title, the empty-store notice, then the filter
    options with the first and last dated call (None when no call has a date)."""
    viewer()  # a page run on its own still asks for the sign-in first
    apply_style()
    st.title(title)
    require_scored_calls()
    options = query("filter_options")
    first, last = options["first_call"], options["last_call"]
    return options, (first.date() if first is not None else None), (last.date() if last is not None else None)


def stored_titles() -> dict[str, str]:
    """Rule id -> title, from the newest stored rulebook (the one on disk for an old store),
    for pages over many calls; a call's own page uses the rulebook that scored it."""
    history = query("rulebook_history")
    book = query("stored_rulebook", history["version"].iloc[0]) if history is not None and not history.empty else None
    if book is None:
        book, _problem = rulebook()
    return {rid: r.title for rid, r in book.rules.items()} if book is not None else {}


def call_rulebook(detail: dict) -> Any:
    """The rulebook that scored the call; for a store from before rulebooks were kept, the one on
    disk (its titles name the rules; the call's own thresholds are not known)."""
    return detail["rulebook"] if detail["rulebook"] is not None else rulebook()[0]


def agreement_table(agreed: pd.DataFrame, titles: dict[str, str]) -> None:
    """Two inspectors' agreement per rule on calibration calls (`sampling.agreement`)."""
    st.dataframe(pd.DataFrame({
        _("Rule"): [titles.get(r, r) for r in agreed["rule_id"]], _("Findings judged by both"): agreed["findings"],
        _("Agreed"): agreed["agreed"], _("Cohen's kappa"): agreed["kappa"],
    }), hide_index=True, width="stretch", column_config={_("Cohen's kappa"): st.column_config.NumberColumn(format="%.2f")})
