"""Overview: how many calls were scored, how they scored, by night, agent and team."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from common import date_range, query, scored_page

TEXT = {
    "detached": ("{n} inspector verdict(s) no longer match a finding: the rule or the transcript changed since. "
                 "They are kept and listed on each call's page; precision leaves them out."),
    "detached_list": "Calls with such verdicts",
}

_, first, last = scored_page("callqa overview", "Call quality overview")
date_from, date_to = date_range(st.date_input("Nights", value=(first, last), min_value=first, max_value=last), first, last)

summary = query("overview", date_from, date_to)
cols = st.columns(4)
cols[0].metric("Calls scored", f"{summary['calls_scored']:,}")
cols[1].metric("Mean score", "-" if summary["mean_score"] is None else f"{summary['mean_score']:.1f}")
cols[2].metric("Pass rate", "-" if summary["pass_rate"] is None else f"{summary['pass_rate']:.1%}")
cols[3].metric("Failed to score", f"{summary['calls_failed_to_score']:,}")

detached = query("detached_verdicts")
if detached:  # quiet when every verdict still judges a finding
    st.info(TEXT["detached"].format(n=len(detached)))
    with st.expander(TEXT["detached_list"]):
        st.dataframe(pd.DataFrame(detached)[["call_id", "rule_id", "verdict", "reviewer", "rulebook_version"]],
                     hide_index=True, width="stretch")

nights = query("night_trend", date_from, date_to)
st.subheader("By night")
left, right = st.columns(2)
# a line needs two nights to show anything; bars show a single night too
(left.line_chart if len(nights) > 2 else left.bar_chart)(nights, x="night", y="mean_score", y_label="mean score")
right.bar_chart(nights, x="night", y="pass_rate", y_label="pass rate")

st.subheader("By agent and team")
left, right = st.columns(2)
agents = query("group_trend", "agent", date_from, date_to)
teams = query("group_trend", "team", date_from, date_to)
left.bar_chart(agents, x="agent", y="mean_score", y_label="mean score", height=300)
right.bar_chart(teams, x="team", y="mean_score", y_label="mean score", height=300)
with st.expander("Agent and team tables"):
    st.dataframe(agents, hide_index=True, width="stretch")
    st.dataframe(teams, hide_index=True, width="stretch")

left, right = st.columns(2)
with left:
    st.subheader("Most failed rules")
    failed = query("most_failed_rules", date_from, date_to)
    st.dataframe(
        failed, hide_index=True, width="stretch",
        column_config={"share_of_calls": st.column_config.ProgressColumn("share of calls", min_value=0, max_value=1, format="percent")},
    )
with right:
    st.subheader("Rule precision from inspectors' verdicts")
    st.dataframe(
        query("rule_precision"), hide_index=True, width="stretch",
        column_config={"precision": st.column_config.NumberColumn(format="percent")},
    )
    st.caption("precision = confirmed / (confirmed + false positive), latest verdict per finding; "
               "missed reports are violations the rules did not find.")
