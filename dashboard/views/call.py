"""One call: its timeline and audio, both parties' transcript, and a verdict on each finding."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from common import call_rulebook, may, opened, query, require_scored_calls, save_review, transcript_html, viewer
from player import call_player
from qa.phrases import Rulebook
from qa.scoring.verdicts import DetachedVerdict
from review import bulk_verdicts, finding_card
from ui import _, apply_style, fmt_time, rule_title, term


def show_detached(book: Rulebook | None, detached: list[DetachedVerdict]) -> None:
    """What each detached verdict judged, as it was when given."""
    st.subheader(_("Verdicts that no longer match a finding ({n})").format(n=len(detached)))
    st.caption(_("The rule or the transcript changed since these verdicts were given, so no finding of the "
                 "current score matches them. They are kept, not counted, and come back if the finding does."))
    st.dataframe(
        pd.DataFrame([{_("Rule"): rule_title(book, d.rule_id), _("Span"): f"{fmt_time(d.start_s)}–{fmt_time(d.end_s)}",
                       _("Verdict"): term("verdict", d.verdict), _("Reviewer"): d.reviewer,
                       _("Evidence"): d.evidence or "-", _("Rulebook"): d.rulebook_version or "-"} for d in detached]),
        hide_index=True, width="stretch",
    )


def header(call: dict, reviewed: float | None, findings: pd.DataFrame) -> None:
    st.title(_("Call {call}").format(call=call["call_id"]))
    rings = "-" if call["ring_count"] is None else f'{call["ring_count"]} ({term("ring_source", call["ring_source"])})'
    st.caption(_("agent {agent} · team {team} · started {started} · {duration} · rings {rings} · answered at "
                 "{answered} · rulebook {version}").format(
        agent=call["agent_id"] or "-", team=call["team"] or "-", started=call["started_at"] or _("unknown date"),
        duration=fmt_time(call["duration_s"]), rings=rings, answered=fmt_time(call["answer_onset_s"]),
        version=call["rulebook_version"] or "-"))
    if call["status"] == "error":
        st.error(_("This call could not be scored: {problem}").format(problem=call["error"]))
    cols = st.columns(3)
    cols[0].metric(_("Automatic score"), "-" if call["score"] is None else f"{call['score']:.0f}",
                   help=_("passed") if call["passed"] else _("failed"))
    cols[1].metric(_("Reviewed score"), "-" if reviewed is None else f"{reviewed:.0f}",
                   delta=None if reviewed is None or call["score"] is None or reviewed == call["score"]
                   else f"{reviewed - call['score']:+.0f}",
                   help=_("after inspectors' verdicts: false positives give points back, missed violations take them"))
    judged = int(findings["verdict"].notna().sum()) if not findings.empty else 0
    cols[2].metric(_("Judged"), f"{judged}/{len(findings)}",
                   help=_("The call is reviewed when every finding has a verdict"))


def missed_form(book: Rulebook | None, call: dict) -> None:
    st.subheader(_("Report a missed violation"))
    # the rules that scored this call; a disabled one counted for nothing, so it is not offered
    rule_ids = (sorted(r.rule_id for r in book.rules.values() if r.enabled) if book
                else sorted(query("filter_options")["rules"]))
    with st.form(key="missed", clear_on_submit=True):
        rule_id = st.selectbox(_("Rule"), rule_ids, format_func=lambda r: rule_title(book, r), key="missed_rule")
        at_s = st.number_input(_("At second"), min_value=0.0, max_value=float(call["duration_s"] or 0.0) or None,
                               value=0.0, step=0.5, key="missed_at")
        comment = st.text_area(_("What was missed"), key="missed_comment")
        if st.form_submit_button(_("Report missed violation")):
            if save_review(call_id=call["call_id"], verdict="missed", rule_id=rule_id, comment=comment, start_s=at_s):
                st.toast(_("Reported a missed {rule}").format(rule=rule_title(book, rule_id)))
                st.rerun()


def history_table(book: Rulebook | None, reviews: pd.DataFrame, findings: pd.DataFrame) -> pd.DataFrame:
    """The call's verdicts, newest first, naming each finding by its rule and time, not its id."""
    at = {f.finding_id: f"{fmt_time(f.start_s)}–{fmt_time(f.end_s)}" for f in findings.itertuples(index=False)}
    return pd.DataFrame({
        _("When"): reviews["created_at"], _("Reviewer"): reviews["reviewer"],
        _("Verdict"): [term("verdict", v) for v in reviews["verdict"]],
        _("Rule"): [rule_title(book, r) if isinstance(r, str) else "-" for r in reviews["rule_id"]],
        _("Finding"): [at.get(f, fmt_time(s) if not pd.isna(s) else "-") for f, s in
                       zip(reviews["finding_id"], reviews["start_s"])],
        _("Comment"): reviews["comment"].fillna(""),
    })


viewer()  # the sign-in first
apply_style()
require_scored_calls()
with st.sidebar:  # out of the way of the call; the Calls page and the queue open calls by link
    call_id = st.text_input(_("Call id"), value=st.query_params.get("call_id", ""), key="detail_call_id").strip()
if not call_id:
    st.info(_("Pick a call on the Calls page or from the review queue, or enter a call id in the sidebar."))
    st.stop()
st.query_params["call_id"] = call_id
detail = query("call_detail", call_id)
if detail is None:  # not there, or not the viewer's to open: the same answer
    st.error(_("No call {call!r} that you may open.").format(call=call_id))
    st.stop()
opened(call_id)
book = call_rulebook(detail)  # the one this call was scored with
call, findings, utterances = detail["call"], detail["findings"], detail["utterances"]
header(call, detail["reviewed_score"], findings)

start = None
if st.query_params.get("t"):  # opened at a moment (a phrase hit): play from it once
    try:
        at = float(st.query_params["t"])
        start = (f"{call_id}@{at}", at, None)
    except ValueError:
        pass
call_player(call, utterances, findings, book, start=start)

left, right = st.columns([5, 4])
with left:
    st.subheader(_("Transcript"))
    if utterances.empty:
        st.info(_("No speech was transcribed in this call."))
    else:
        st.html(transcript_html(utterances, findings))
with right:
    st.subheader(_("Findings ({n})").format(n=len(findings)))
    if findings.empty:
        st.success(_("No findings: every rule passed or did not apply."))
    bulk_verdicts(findings, book, call_id)
    for f in findings.itertuples(index=False):
        finding_card(f, book, call_id, detail["reviews"])
    if detail["detached"]:
        show_detached(book, detail["detached"])
    if may("judge"):
        missed_form(book, call)

with st.expander(_("Rule outcomes")):
    results = detail["rule_results"]
    st.dataframe(pd.DataFrame({_("Rule"): [rule_title(book, r) for r in results["rule_id"]],
                               _("Outcome"): [term("outcome", o) for o in results["outcome"]],
                               _("Points deducted"): results["points"], _("Detail"): results["detail"]}),
                 hide_index=True, width="stretch")
with st.expander(_("Review history")):
    st.dataframe(history_table(book, detail["reviews"], findings), hide_index=True, width="stretch")
