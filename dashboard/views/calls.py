"""Call list: filter, sort and page through scored calls; open one."""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import streamlit as st

from common import date_range, query, scored_page, stored_titles
from qa.scoring.queries import REVIEW_STATUSES, SORT_COLUMNS, CallFilter
from ui import _, term

options, first, last = scored_page(_("Calls"))
titles = stored_titles()
with st.expander(_("Filters"), expanded=False):
    c1, c2, c3 = st.columns(3)
    if first is not None:
        date_from, date_to = date_range(c1.date_input(_("Date range"), value=(first, last), min_value=first,
                                                      max_value=last, key="calls_dates"), first, last)
    else:
        date_from = date_to = None
    agents = c2.multiselect(_("Agent"), options["agents"], key="calls_agents", placeholder=_("(any)"))
    teams = c3.multiselect(_("Team"), options["teams"], key="calls_teams", placeholder=_("(any)"))
    c1, c2, c3 = st.columns(3)
    score_min, score_max = c1.slider(_("Score"), 0.0, 100.0, (0.0, 100.0), step=1.0, format="%d", key="calls_score")
    failed_rule = c2.selectbox(_("Failed rule"), [""] + options["rules"], key="calls_rule",
                               format_func=lambda r: titles.get(r, r) if r else _("(any)"))
    review_status = c3.selectbox(_("Review status"), REVIEW_STATUSES, key="calls_review",
                                 format_func=lambda v: term("review_status", v))
    c1, c2, c3 = st.columns(3)
    sort = c1.selectbox(_("Sort by"), list(SORT_COLUMNS), key="calls_sort", format_func=lambda v: term("column", v))
    descending = c2.toggle(_("Descending"), value=True, key="calls_desc")
    page_size = c3.selectbox(_("Rows per page"), [25, 50, 100, 200], index=1, key="calls_page_size")

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
left, right = st.columns([1, 4], vertical_alignment="bottom")
left.number_input(_("Page (of {pages:,})").format(pages=pages), min_value=1, max_value=pages, key="calls_page")
right.caption(_("{total:,} calls match; showing {shown} from #{first:,}. Select a row to open it.")
           .format(total=total, shown=len(calls), first=page * page_size + 1))

# most important first: at 1024 px the right-hand columns are the ones that scroll away
table = pd.DataFrame({
    "call_id": calls["call_id"], "score": calls["score"],
    "reviewed": [f"{j}/{n}" for j, n in zip(calls["judged"], calls["findings"])],
    "agent_id": calls["agent_id"], "team": calls["team"], "started_at": calls["started_at"],
    "failed_rules": [", ".join(titles.get(r, r) for r in s.split(", ") if r) for s in calls["failed_rules"]],
    "duration_s": calls["duration_s"], "status": [term("status", s) for s in calls["status"]],
})
picked = st.dataframe(
    table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key="calls_table",
    column_config={
        "call_id": st.column_config.TextColumn(_("Call"), pinned=True),
        "score": st.column_config.ProgressColumn(_("Score"), min_value=0, max_value=100, format="%.0f", width="small"),
        "reviewed": st.column_config.TextColumn(_("Judged findings"), width="small",
                                                help=_("Findings with a verdict / findings of the call")),
        "agent_id": st.column_config.TextColumn(_("Agent"), width="small"),
        "team": st.column_config.TextColumn(_("Team"), width="small"),
        "started_at": st.column_config.DatetimeColumn(_("Started"), format="YYYY-MM-DD HH:mm"),
        "failed_rules": st.column_config.TextColumn(_("Failed rules")),
        "duration_s": st.column_config.NumberColumn(_("Duration (s)"), format="%.0f", width="small"),
        "status": st.column_config.TextColumn(_("Status"), width="small"),
    },
)
rows = picked.selection.rows if picked is not None else []
if rows:
    call_id = calls.iloc[rows[0]]["call_id"]
    st.page_link("views/call.py", label=_("Open {call}").format(call=call_id), icon=":material/play_arrow:", query_params={"call_id": call_id})
