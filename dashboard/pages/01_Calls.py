"""Call list: filter, sort and page through scored calls; open one."""

from __future__ import annotations

import math
from dataclasses import replace

import streamlit as st

from common import date_range, query, scored_page
from qa.scoring.queries import REVIEW_STATUSES, SORT_COLUMNS, CallFilter

options, first, last = scored_page("callqa calls", "Calls")
with st.expander("Filters", expanded=True):
    c1, c2, c3 = st.columns(3)
    date_from, date_to = date_range(
        c1.date_input("Date range", value=(first, last), min_value=first, max_value=last, key="calls_dates"), first, last
    )
    agents = c2.multiselect("Agent", options["agents"], key="calls_agents")
    teams = c3.multiselect("Team", options["teams"], key="calls_teams")
    c1, c2, c3 = st.columns(3)
    score_min, score_max = c1.slider("Score", 0.0, 100.0, (0.0, 100.0), step=1.0, key="calls_score")
    failed_rule = c2.selectbox("Failed rule", [""] + options["rules"], format_func=lambda r: r or "(any)", key="calls_rule")
    review_status = c3.selectbox("Review status", REVIEW_STATUSES, key="calls_review")
    c1, c2, c3 = st.columns(3)
    sort = c1.selectbox("Sort by", list(SORT_COLUMNS), key="calls_sort")
    descending = c2.toggle("Descending", value=True, key="calls_desc")
    page_size = c3.selectbox("Rows per page", [25, 50, 100, 200], index=1, key="calls_page_size")

base = CallFilter(
    date_from=date_from, date_to=date_to, agents=tuple(agents), teams=tuple(teams),
    score_min=None if score_min <= 0 else score_min, score_max=None if score_max >= 100 else score_max,
    failed_rule=failed_rule or None, review_status=review_status, sort=sort, descending=descending,
    page_size=page_size,
)
page = max(0, int(st.session_state.get("calls_page", 1)) - 1)
calls, total = query("list_calls", replace(base, page=page))
pages = max(1, math.ceil(total / page_size))
if page >= pages:  # the filters shrank the list under the page shown
    page = pages - 1
    st.session_state["calls_page"] = pages
    calls, total = query("list_calls", replace(base, page=page))
st.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, key="calls_page")
st.caption(f"{total:,} calls match; showing {len(calls)} from #{page * page_size + 1:,}. Select a row to open it.")

picked = st.dataframe(
    calls, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key="calls_table",
    column_config={
        "score": st.column_config.ProgressColumn("score", min_value=0, max_value=100, format="%.0f"),
        "duration_s": st.column_config.NumberColumn("duration (s)", format="%.1f"),
        "started_at": st.column_config.DatetimeColumn("started", format="YYYY-MM-DD HH:mm"),
    },
)
rows = picked.selection.rows if picked is not None else []
if rows:
    call_id = calls.iloc[rows[0]]["call_id"]
    st.page_link("pages/02_Call_detail.py", label=f"Open {call_id}", icon="▶", query_params={"call_id": call_id})
