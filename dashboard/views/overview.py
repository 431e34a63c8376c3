"""Overview: how many calls were scored, how they scored, by night, agent and team, and how
far the inspectors' verdicts bear the rules out."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from common import agreement_table, date_range, may, query, scored_page, stored_titles, viewer
from ui import _

options, first, last = scored_page(_("Call quality overview"))
if first is not None:
    date_from, date_to = date_range(
        st.date_input(_("Nights"), value=(first, last), min_value=first, max_value=last, key="ov_dates"), first, last)
else:
    date_from = date_to = None

summary = query("overview", date_from, date_to)
titles = stored_titles()
cols = st.columns(4)
cols[0].metric(_("Calls scored"), f"{summary['calls_scored']:,}")
cols[1].metric(_("Mean score"), "-" if summary["mean_score"] is None else f"{summary['mean_score']:.1f}")
cols[2].metric(_("Pass rate"), "-" if summary["pass_rate"] is None else f"{summary['pass_rate']:.1%}")
cols[3].metric(_("Failed to score"), f"{summary['calls_failed_to_score']:,}")

detached = query("detached_verdicts") if viewer().rights.calls == "all" else []  # store-wide
if detached:  # quiet when every verdict still judges a finding
    st.info(_("{n} inspector verdict(s) no longer match a finding: the rule or the transcript changed since. "
              "They are kept and listed on each call's page; precision leaves them out.").format(n=len(detached)))
    with st.expander(_("Calls with such verdicts")):
        st.dataframe(pd.DataFrame([{_("Call"): d.call_id, _("Rule"): titles.get(d.rule_id, d.rule_id),
                                    _("Verdict"): d.verdict, _("Reviewer"): d.reviewer} for d in detached]),
                     hide_index=True, width="stretch")

nights = query("night_trend", date_from, date_to)
undated = nights[nights["night"].isna()]
dated = nights[nights["night"].notna()].assign(night=lambda t: pd.to_datetime(t["night"]).dt.strftime("%Y-%m-%d")).rename(columns={"night": _("Night"), "mean_score": _("Mean score"),
                                                          "pass_rate": _("Pass rate")})
st.subheader(_("By night"))
if not undated.empty:
    st.caption(_("Unknown date: {calls} calls without a start time (mean score {score:.1f}), not plotted.")
               .format(calls=int(undated["calls"].iloc[0]), score=float(undated["mean_score"].iloc[0])))
left, right = st.columns(2)
# a line needs two nights to show anything; bars show a single night too
(left.line_chart if len(dated) > 2 else left.bar_chart)(dated, x=_("Night"), y=_("Mean score"))
right.bar_chart(dated, x=_("Night"), y=_("Pass rate"))

st.subheader(_("By agent and team"))
left, right = st.columns(2)
agents = query("group_trend", "agent", date_from, date_to)
teams = query("group_trend", "team", date_from, date_to)
group_columns = {"agent": _("Agent"), "team": _("Team"), "calls": _("Calls"), "mean_score": _("Mean score"),
                 "pass_rate": _("Pass rate")}
agents, teams = agents.rename(columns=group_columns), teams.rename(columns=group_columns)
left.bar_chart(agents, x=_("Agent"), y=_("Mean score"), height=300)
right.bar_chart(teams, x=_("Team"), y=_("Mean score"), height=300)
with st.expander(_("Agent and team tables")):
    st.dataframe(agents, hide_index=True, width="stretch")
    st.dataframe(teams, hide_index=True, width="stretch")

left, right = st.columns(2)
with left:
    st.subheader(_("Most failed rules"))
    failed = query("most_failed_rules", date_from, date_to)
    st.dataframe(
        pd.DataFrame({_("Rule"): [titles.get(r, r) for r in failed["rule_id"]], _("Failed calls"): failed["failed_calls"],
                      _("Share of calls"): failed["share_of_calls"]}),
        hide_index=True, width="stretch",
        column_config={_("Share of calls"): st.column_config.ProgressColumn(min_value=0, max_value=1, format="percent")},
    )
with right:
    st.subheader(_("Rule precision from inspectors' verdicts"))
    precision = query("rule_precision")

    def shown(row) -> str:
        judged = int(row.confirmed + row.false_positive)
        if judged == 0:
            return _("no verdicts yet")
        return _("{p:.0%} ({low:.0%}–{high:.0%}, n={n})").format(
            p=row.precision, low=row.precision_low, high=row.precision_high, n=judged)

    st.dataframe(
        pd.DataFrame({_("Rule"): [titles.get(r, r) for r in precision["rule_id"]],
                      _("Precision (95% interval, verdicts)"): [shown(r) for r in precision.itertuples()],
                      _("Findings"): precision["findings"], _("Confirmed"): precision["confirmed"],
                      _("False positives"): precision["false_positive"], _("Missed reports"): precision["missed_reports"]}),
        hide_index=True, width="stretch",
    )
    st.caption(_("Precision = confirmed / (confirmed + false positive), the latest verdict per finding, with its "
                 "95% Wilson interval: a figure from a handful of verdicts is shown as the wide range it is. "
                 "Missed reports are violations the rules did not find."))
    agreed = query("agreement") if may("plans") else pd.DataFrame()
    if not agreed.empty:
        st.subheader(_("Agreement between inspectors (calibration)"))
        agreement_table(agreed, titles)
