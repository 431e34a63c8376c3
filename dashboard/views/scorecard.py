"""The agent scorecard (坐席成绩单): an agent's or a team's score by week, the rules failed
most, examples to listen to, the calls behind each bar, and the same as an Excel workbook."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

import auth
from common import date_range, query, scored_page, stored_titles, viewer
from qa.scoring.clips import safe_stem
from qa.scoring.coaching import workbook
from ui import _, fmt_time, term

options, first, last = scored_page(_("Agent scorecard"))
titles = stored_titles()
c1, c2, c3 = st.columns([1, 2, 2])
who = c1.radio(_("For"), ["agent", "team"], format_func=lambda w: term("column", f"{w}_id" if w == "agent" else w),
               horizontal=True, key="coach_who")
names = options["agents"] if who == "agent" else options["teams"]
if not names:
    st.info(_("No call has an agent or team yet: they come from the metadata CSV of `callqa score`."))
    st.stop()
name = c2.selectbox(term("column", "agent_id") if who == "agent" else term("column", "team"), names, key="coach_name")
if first is not None:
    date_from, date_to = date_range(c3.date_input(_("Date range"), value=(first, last), min_value=first,
                                                  max_value=last, key="coach_dates"), first, last)
else:
    date_from = date_to = None

card = query("scorecard", who, name, date_from, date_to)
cols = st.columns(3)
cols[0].metric(_("Calls scored"), f"{card.summary['calls']:,}")
cols[1].metric(_("Mean score"), "-" if card.summary["mean_score"] is None else f"{card.summary['mean_score']:.1f}")
cols[2].metric(_("Pass rate"), "-" if card.summary["pass_rate"] is None else f"{card.summary['pass_rate']:.1%}")

drill: dict = {}
left, right = st.columns(2)
with left:
    st.subheader(_("Score by week"))
    weeks = card.weeks.assign(label=[_("unknown date") if pd.isna(w) else pd.Timestamp(w).strftime("%Y-%m-%d")
                                     for w in card.weeks["week"]])
    pick_week = alt.selection_point(name="week", fields=["label"])
    chart = alt.Chart(weeks).mark_line(point=alt.OverlayMarkDef(size=80)).encode(
        x=alt.X("label:N", title=_("Week"), sort=None), y=alt.Y("mean_score:Q", title=_("Mean score")),
        tooltip=["label", "calls", "mean_score", "pass_rate"]).add_params(pick_week)
    event = st.altair_chart(chart, on_select="rerun", key="coach_week_chart", width="stretch")
    picked = (event.selection.get("week") or [{}])[0].get("label") if event else None
    if picked:
        drill = {"undated": True} if picked == _("unknown date") else {"week": pd.Timestamp(picked).date()}
with right:
    st.subheader(_("Rules failed most"))
    rules = card.rules.assign(title=[titles.get(r, r) for r in card.rules["rule_id"]])
    pick_rule = alt.selection_point(name="rule", fields=["rule_id"])
    chart = alt.Chart(rules).mark_bar().encode(
        y=alt.Y("title:N", title=None, sort="-x"), x=alt.X("failed_calls:Q", title=_("Failed calls"), axis=alt.Axis(tickMinStep=1, format="d")),
        tooltip=["title", "failed_calls", "share_of_calls"]).add_params(pick_rule)
    event = st.altair_chart(chart, on_select="rerun", key="coach_rule_chart", width="stretch")
    rule = (event.selection.get("rule") or [{}])[0].get("rule_id") if event else None
    if rule:
        drill["failed_rule"] = rule

if drill:
    st.subheader(_("The calls behind the chosen bar"))
    calls = query("scorecard_calls", who, name, date_from, date_to, drill.get("week"), drill.get("undated", False),
                  drill.get("failed_rule"))
    for row in calls.head(50).itertuples(index=False):
        st.page_link("views/call.py", label=f"{row.call_id} · {row.score:.0f}", icon=":material/open_in_new:",
                     query_params={"call_id": row.call_id})
else:
    st.caption(_("Click a week or a rule in the charts to list its calls."))

st.subheader(_("Examples to listen to"))
for e in card.examples.itertuples(index=False):
    with st.container(border=True):
        st.markdown(f"**{titles.get(e.rule_id, e.rule_id)}** · {e.call_id} · {fmt_time(e.start_s)} · "
                    f"{term('verdict', e.verdict) if isinstance(e.verdict, str) else _('not judged yet')}")
        st.caption(e.evidence or "-")
        a, b = st.columns([4, 1])
        if e.path and Path(e.path).is_file():
            a.audio(e.path, start_time=float(e.start_s), end_time=float(e.end_s) + 0.5)
        b.page_link("views/call.py", label=_("Open the call here"), icon=":material/open_in_new:",
                    query_params={"call_id": e.call_id, "t": f"{e.start_s:.2f}"})

SHEETS = {"summary": _("Summary"), "weeks": _("By week"), "rules": _("Rules failed most"),
          "examples": _("Examples to listen to"), "name": _("Name"), "calls": _("Calls"), "mean_score": _("Mean score"),
          "pass_rate": _("Pass rate"), "week": _("Week"), "unknown_date": _("unknown date"), "rule": _("Rule"),
          "failed_calls": _("Failed calls"), "share_of_calls": _("Share of calls"), "call": _("Call"),
          "start_s": _("From (s)"), "end_s": _("To (s)"), "evidence": _("Evidence"), "verdict": _("Verdict")}
shown = replace(card, examples=card.examples.assign(
    verdict=[term("verdict", v) if isinstance(v, str) else _("not judged yet") for v in card.examples["verdict"]]))
st.download_button(_("Download as Excel"), workbook(shown, titles, SHEETS),
                   file_name=f"scorecard_{who}_{safe_stem(name)[0]}.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="coach_excel",
                   on_click=auth.audit, args=(viewer(), "export_scorecard"), kwargs={"detail": f"{who} {name}"})
