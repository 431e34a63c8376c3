"""Sampling plans (抽检): draw the calls to review, deal them out, track who has done what,
and see where two inspectors judging the same calls agree."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from common import agreement_table, date_range, may, query, save_plan, scored_page, stored_titles, viewer
from qa.scoring.sampling import SamplingPlan
from ui import _

options, first, last = scored_page(_("Sampling plans"))
titles = stored_titles()


def inspectors_field(column) -> list[str]:
    """The inspectors to deal calls to: picked from the accounts that may judge, or typed without accounts."""
    names = query("inspector_names")
    if names:
        return column.multiselect(_("Inspectors, in dealing order"), names, key="plan_inspectors")
    typed = column.text_input(_("Inspectors, comma-separated, in dealing order"), value=viewer().name)
    return [i.strip() for i in typed.replace("，", ",").split(",")]


def new_plan_form() -> None:
    """Draw a new plan (for a role that makes plans)."""
    with st.expander(_("New plan"), expanded=False):
        with st.form("new_plan"):
            c1, c2 = st.columns(2)
            name = c1.text_input(_("Name"), placeholder=_("e.g. week 48 sampling"))
            if first is not None:
                picked = c2.date_input(_("Calls started"), value=(first, last), min_value=first, max_value=last)
            c1, c2, c3 = st.columns(3)
            share = c1.number_input(_("Share of each agent's calls per week (%)"), 0.0, 100.0, 5.0, 1.0)
            all_failed = c2.checkbox(_("Every auto-failed call as well"), value=True)
            calibration = c3.number_input(_("Sent to two inspectors for calibration (%)"), 0.0, 100.0, 0.0, 5.0,
                                      help=_("Needs two inspectors or more"))
            c1, c2 = st.columns([3, 1])
            inspectors = inspectors_field(c1)
            seed = c2.number_input(_("Seed"), 0, 2**31 - 1, 1, help=_("The same seed draws the same calls"))
            if st.form_submit_button(_("Draw the plan")):
                date_from, date_to = date_range(picked, first, last) if first is not None else (None, None)
                plan = SamplingPlan(name=name, inspectors=tuple(inspectors),
                                    share=share / 100, all_failed=all_failed, calibration_share=calibration / 100,
                                    seed=int(seed), date_from=date_from, date_to=date_to)
                plan_id = save_plan(plan)
                if plan_id is not None:
                    st.session_state["sampling_plan"] = plan_id
                    st.toast(_("Plan {name} drawn").format(name=name))
                    st.rerun()


if may("plans"):
    new_plan_form()

listed = query("plans")
if listed.empty:
    st.info(_("No sampling plan yet. Draw one above; its calls then wait for their inspectors in the review queue."))
    st.stop()
ids = list(listed["plan_id"])
chosen = st.session_state.get("sampling_plan")
plan_id = st.selectbox(_("Plan"), ids, index=ids.index(chosen) if chosen in ids else 0,
                       format_func=lambda i: listed.set_index("plan_id").loc[i, "name"], key="sampling_pick")
plan = listed.set_index("plan_id").loc[plan_id]
st.caption(_("by {who} at {when} · {share:.0%} of each agent's calls per week{failed} · calibration {cal:.0%} · "
             "seed {seed} · {calls} calls").format(
    who=plan["created_by"], when=pd.Timestamp(plan["created_at"]).strftime("%Y-%m-%d %H:%M"), share=plan["share"],
    failed=_(" + every auto-failed call") if plan["all_failed"] else "", cal=plan["calibration_share"],
    seed=plan["seed"], calls=plan["calls"]))

progress = query("plan_progress", int(plan_id))
st.subheader(_("Progress"))
st.dataframe(pd.DataFrame({
    _("Inspector"): progress["inspector"], _("Calls"): progress["calls"], _("Done"): progress["done"],
    _("Without findings"): progress["no_findings"], _("Findings waiting"): progress["findings_waiting"],
    _("Complete"): [d / max(1, c - n) for d, c, n in zip(progress["done"], progress["calls"], progress["no_findings"])],
}), hide_index=True, width="stretch",
    column_config={_("Complete"): st.column_config.ProgressColumn(min_value=0, max_value=1, format="percent")})
if viewer().name in json.loads(plan["inspectors"]):
    st.page_link("views/queue.py", label=_("Review my calls of this plan"), icon=":material/task_alt:",
                 query_params={"plan": str(plan_id)})

if not may("plans"):
    st.stop()
st.subheader(_("Agreement between inspectors (calibration)"))
agreed = query("agreement", int(plan_id))
if agreed.empty:
    st.caption(_("No finding of a calibration call has been judged by both of its inspectors yet."))
else:
    agreement_table(agreed, titles)
    st.caption(_("Kappa is agreement beyond chance: 1 is full agreement, 0 no better than chance. It is empty when "
                 "both inspectors gave one verdict only (agreement then says nothing beyond chance)."))
