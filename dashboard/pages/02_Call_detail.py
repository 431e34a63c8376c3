"""One call: audio from any finding, both parties' transcript, verdicts per finding."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from common import fmt_time, query, require_scored_calls, save_review, sidebar, transcript_html
from qa.phrases import Rulebook
from qa.scoring.verdicts import DetachedVerdict

TEXT = {
    "detached": "Verdicts that no longer match a finding ({})",
    "detached_why": ("The rule or the transcript changed since these verdicts were given, so no finding of the "
                     "current score matches them. They are kept, not counted, and come back if the finding does."),
}


def rule_label(book: Rulebook | None, rule_id: str) -> str:
    """The rule id with its title in `book` (the call's own rulebook, None when not stored)."""
    rule = book.rules.get(rule_id) if book else None
    return f"{rule_id} · {rule.title}" if rule else rule_id


def show_detached(book: Rulebook | None, detached: list[DetachedVerdict]) -> None:
    """What each detached verdict judged, as it was when given."""
    st.subheader(TEXT["detached"].format(len(detached)))
    st.caption(TEXT["detached_why"])
    st.dataframe(
        pd.DataFrame([{"rule": rule_label(book, d.rule_id), "span": f"{fmt_time(d.start_s)}–{fmt_time(d.end_s)}",
                       "verdict": d.verdict, "reviewer": d.reviewer, "evidence": d.evidence or "-",
                       "rulebook": d.rulebook_version or "-"} for d in detached]),
        hide_index=True, width="stretch",
    )


st.set_page_config(page_title="callqa call", layout="wide")
reviewer = sidebar()
require_scored_calls()

call_id = st.text_input("Call id", value=st.query_params.get("call_id", ""), key="detail_call_id").strip()
if not call_id:
    st.info("Pick a call on the Calls page, or paste a call id above.")
    st.stop()
st.query_params["call_id"] = call_id
detail = query("call_detail", call_id)
if detail is None:
    st.error(f"No call {call_id!r} in the database.")
    st.stop()
book = detail["rulebook"]  # the one this call was scored with
call, findings, utterances = detail["call"], detail["findings"], detail["utterances"]

st.title(call_id)
st.caption(f"agent {call['agent_id'] or '-'} · team {call['team'] or '-'} · started {call['started_at'] or '-'} · "
           f"rulebook {call['rulebook_version'] or '-'}")
if call["status"] == "error":
    st.error(f"This call could not be scored: {call['error']}")
cols = st.columns(5)
cols[0].metric("Automatic score", "-" if call["score"] is None else f"{call['score']:.0f}",
               help="passed" if call["passed"] else "failed")
reviewed = detail["reviewed_score"]
cols[1].metric("Reviewed score", "-" if reviewed is None else f"{reviewed:.0f}",
               delta=None if reviewed is None or call["score"] is None or reviewed == call["score"]
               else f"{reviewed - call['score']:+.0f}",
               help="after inspectors' verdicts: false positives give points back, missed violations take them")
cols[2].metric("Rings", "-" if call["ring_count"] is None else call["ring_count"], help=f"source: {call['ring_source']}")
cols[3].metric("Answer onset", fmt_time(call["answer_onset_s"]))
cols[4].metric("Duration", fmt_time(call["duration_s"]))

# --- audio, starting at the chosen finding -------------------------------------------
play_key = f"play_from::{call_id}"
start_s = float(st.session_state.get(play_key, 0.0))
audio_path = Path(call["path"]) if call["path"] else None
if audio_path is not None and audio_path.is_file():
    st.audio(str(audio_path), start_time=start_s, autoplay=start_s > 0)
    st.caption(f"Playing from {fmt_time(start_s)}" if start_s > 0 else "Press ▶ on a finding to play from it.")
else:
    st.warning(f"Audio file not found: `{call['path']}`. The transcript and findings are shown without it.")

left, right = st.columns([3, 2])
with left:
    st.subheader("Transcript")
    if utterances.empty:
        st.info("No speech was transcribed in this call.")
    else:
        st.markdown(transcript_html(utterances, findings), unsafe_allow_html=True)

with right:
    st.subheader(f"Findings ({len(findings)})")
    if findings.empty:
        st.success("No findings: every rule passed or did not apply.")
    for f in findings.itertuples(index=False):
        verdict = "" if pd.isna(f.verdict) or f.verdict is None else f" · **{f.verdict}** by {f.reviewer}"
        with st.container(border=True):
            st.markdown(f"**{rule_label(book, f.rule_id)}** at {fmt_time(f.start_s)}–{fmt_time(f.end_s)} "
                        f"({f.role}, {f.severity}){verdict}")
            st.caption(f"Clause: {f.clause or '-'}")
            similarity = "" if pd.isna(f.similarity) else f" · similarity {f.similarity:.2f}"
            phrase = "" if f.matched_phrase is None or pd.isna(f.matched_phrase) else f" · matched 「{f.matched_phrase}」"
            st.markdown(f"Evidence: {f.evidence or '-'}{phrase}{similarity}")
            if st.button(f"▶ Play from {fmt_time(f.start_s)}", key=f"play::{f.finding_id}"):
                st.session_state[play_key] = max(0.0, float(f.start_s) - 0.5)
                st.rerun()
            with st.form(key=f"verdict::{f.finding_id}", clear_on_submit=True):
                choice = st.radio("Verdict", ["confirmed", "false_positive"], horizontal=True,
                                  format_func=lambda v: v.replace("_", " "), key=f"verdict_choice::{f.finding_id}")
                comment = st.text_input("Comment", key=f"verdict_comment::{f.finding_id}")
                if st.form_submit_button("Save verdict"):
                    if save_review(call_id=call_id, finding_id=f.finding_id, verdict=choice,
                                   reviewer=reviewer, comment=comment):
                        st.toast(f"Saved: {f.rule_id} {choice.replace('_', ' ')}")
                        st.rerun()

    if detail["detached"]:
        show_detached(book, detail["detached"])

    st.subheader("Report a missed violation")
    # the rules that scored this call; a disabled one counted for nothing, so it is not offered
    rule_ids = (sorted(r.rule_id for r in book.rules.values() if r.enabled) if book
                else sorted(query("filter_options")["rules"]))
    with st.form(key="missed", clear_on_submit=True):
        rule_id = st.selectbox("Rule", rule_ids, format_func=lambda r: rule_label(book, r), key="missed_rule")
        at_s = st.number_input("At second", min_value=0.0, max_value=float(call["duration_s"] or 0.0) or None,
                               value=float(start_s), step=0.5, key="missed_at")
        comment = st.text_area("What was missed", key="missed_comment")
        if st.form_submit_button("Report missed violation"):
            if save_review(call_id=call_id, verdict="missed", rule_id=rule_id, reviewer=reviewer,
                           comment=comment, start_s=at_s):
                st.toast(f"Reported missed {rule_id}")
                st.rerun()

with st.expander("Rule outcomes"):
    st.dataframe(detail["rule_results"], hide_index=True, width="stretch")
with st.expander("Review history"):
    st.dataframe(detail["reviews"], hide_index=True, width="stretch")
