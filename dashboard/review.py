"""One finding as an inspector judges it, on the call page and in the queue.

Nothing is preselected: the saved verdict is shown as saved (with who and
when), and a new verdict is one click or one key. Every verdict is a new row
in `reviews`; the history under the finding is read from there.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
import streamlit as st

from common import may, save_review
from player import seek_link
from ui import _, fmt_time, rule_title, term

SEVERITY_COLOURS = {"critical": "#c92a2a", "major": "#e8590c", "minor": "#868e96"}


def _saved(f: Any) -> str:
    if f.verdict is None or pd.isna(f.verdict):
        return "<span style='color:#868e96'>" + html.escape(_("not judged yet")) + "</span>"
    when = pd.Timestamp(f.reviewed_at).strftime("%Y-%m-%d %H:%M") if not pd.isna(f.reviewed_at) else ""
    return (f"<span class='callqa-verdict-{html.escape(f.verdict)}'>{html.escape(term('verdict', f.verdict))}</span> "
            f"<span style='color:#666'>· {html.escape(str(f.reviewer))} · {when}</span>")


def evidence_html(f: Any) -> str:
    """The evidence, with the matched phrase marked where the text holds it."""
    text = html.escape(f.evidence or "-")
    phrase = f.matched_phrase if isinstance(f.matched_phrase, str) else ""
    if phrase and html.escape(phrase) in text:
        text = text.replace(html.escape(phrase), f"<mark>{html.escape(phrase)}</mark>", 1)
    elif phrase:
        text += " · " + html.escape(_("matched")) + f" 「<mark>{html.escape(phrase)}</mark>」"
    if isinstance(f.similarity, float) and not pd.isna(f.similarity):
        text += " <span style='color:#666'>· " + html.escape(_("similarity")) + f" {f.similarity:.2f}</span>"
    return text


def finding_card(f: Any, book: Any, call_id: str, reviews: pd.DataFrame, *, keys: dict[str, str] | None = None,
                 focus: bool = False) -> None:
    """The finding's header, evidence, clause, verdict buttons, appeal and history.

    `reviews` is the call's review history (`call_detail`); `keys` names the buttons' Streamlit keys by action ("confirm", "false_positive"),
    so the page can bind keyboard shortcuts to them.
    """
    colour = SEVERITY_COLOURS.get(f.severity, "#868e96")
    span = f"{fmt_time(f.start_s)}–{fmt_time(f.end_s)}"
    play = seek_link("▶ " + span, float(f.start_s), float(f.end_s), _("Play the finding"))
    with st.container(border=True, key=f"finding_{f.finding_id}"):
        st.html(
            f"<div style='display:flex;gap:0.6rem;align-items:baseline;flex-wrap:wrap'>"
            f"<span style='background:{colour};color:white;border-radius:3px;padding:0 5px;font-size:0.8rem'>"
            f"{html.escape(term('severity', f.severity))}</span>"
            f"<b>{html.escape(rule_title(book, f.rule_id))}</b>"
            f"{play}"
            f"<span style='color:#666'>{html.escape(term('role', f.role))}</span>"
            f"<span style='margin-left:auto'>{_saved(f)}</span></div>"
            f"<div style='margin-top:0.3rem'>{evidence_html(f)}</div>"
        )
        if f.clause:
            with st.expander(_("Clause"), expanded=focus):
                st.write(f.clause)
        keys = keys or {}
        if may("judge"):
            judge_buttons(f, book, call_id, keys, focus)
        appeal_box(f, book, call_id)
        history = reviews[reviews["finding_id"] == f.finding_id]
        if len(history) > 1 or (len(history) == 1 and focus):
            st.caption(" → ".join(
                f"{term('verdict', h.verdict)} ({h.reviewer}, {pd.Timestamp(h.created_at):%m-%d %H:%M})"
                + (f": {h.comment}" if isinstance(h.comment, str) and h.comment else "")
                for h in reversed(list(history.itertuples(index=False)))))


def judge_buttons(f: Any, book: Any, call_id: str, keys: dict[str, str], focus: bool) -> None:
    """Confirm / false positive with an optional comment."""
    c1, c2 = st.columns(2)
    confirm = c1.button(_("Confirm violation"), key=keys.get("confirm", f"confirm_{f.finding_id}"),
                        type="primary" if focus else "secondary", width="stretch")
    false_positive = c2.button(_("False positive"), key=keys.get("false_positive", f"fp_{f.finding_id}"),
                               width="stretch")
    comment = st.text_input(_("Comment"), key=f"comment_{f.finding_id}", label_visibility="collapsed",
                            placeholder=_("Comment (optional)"))
    if confirm or false_positive:
        verdict = "confirmed" if confirm else "false_positive"
        if save_review(call_id=call_id, finding_id=f.finding_id, verdict=verdict,
                       comment=comment):
            st.toast(_("Saved: {rule} {verdict}").format(rule=rule_title(book, f.rule_id),
                                                         verdict=term("verdict", verdict)))
            st.session_state["callqa_saved"] = f.finding_id
            st.rerun()


def _save(call_id: str, f: Any, verdict: str, comment: str, book: Any) -> None:
    if save_review(call_id=call_id, finding_id=f.finding_id, verdict=verdict, comment=comment):
        st.toast(_("Saved: {rule} {verdict}").format(rule=rule_title(book, f.rule_id), verdict=term("verdict", verdict)))
        st.rerun()


def appeal_box(f: Any, book: Any, call_id: str) -> None:
    """申诉: a team lead disputes a confirmed finding with a reason; a supervisor upholds or overturns it."""
    if isinstance(f.appeal, str) and may("decide"):
        when = pd.Timestamp(f.appealed_at).strftime("%Y-%m-%d %H:%M")
        st.warning(_("Appealed by {who} at {when}: {reason}").format(who=f.appealed_by, when=when, reason=f.appeal))
        comment = st.text_input(_("Decision note"), key=f"decide_comment_{f.finding_id}")
        c1, c2 = st.columns(2)
        if c1.button(_("Uphold: stays confirmed"), key=f"uphold_{f.finding_id}", width="stretch"):
            _save(call_id, f, "upheld", comment, book)
        if c2.button(_("Overturn: false positive"), key=f"overturn_{f.finding_id}", width="stretch"):
            _save(call_id, f, "overturned", comment, book)
    elif isinstance(f.appeal, str):
        when = pd.Timestamp(f.appealed_at).strftime("%Y-%m-%d %H:%M")
        st.warning(_("Appealed by {who} at {when}: {reason}").format(who=f.appealed_by, when=when, reason=f.appeal))
    elif f.verdict == "confirmed" and may("appeal"):
        with st.expander(_("Appeal (申诉)")):
            reason = st.text_input(_("Why the finding is wrong"), key=f"appeal_reason_{f.finding_id}")
            if st.button(_("File the appeal"), key=f"appeal_{f.finding_id}"):
                _save(call_id, f, "appeal", reason, book)


def bulk_verdicts(findings: pd.DataFrame, book: Any, call_id: str) -> None:
    """Give every finding of the call still without a verdict the same one."""
    waiting = findings[findings["verdict"].isna()]
    if waiting.empty or not may("judge"):
        return
    with st.expander(_("Judge all {n} findings still without a verdict").format(n=len(waiting))):
        sure = st.checkbox(_("I have listened to them"), key=f"bulk_sure_{call_id}")
        c1, c2 = st.columns(2)
        for column, verdict in ((c1, "confirmed"), (c2, "false_positive")):
            if column.button(_("All: {verdict}").format(verdict=term("verdict", verdict)), disabled=not sure,
                             key=f"bulk_{verdict}_{call_id}", width="stretch"):
                saved = sum(
                    1 for f in waiting.itertuples(index=False)
                    if save_review(call_id=call_id, finding_id=f.finding_id, verdict=verdict)
                )
                st.toast(_("Saved {n} verdicts").format(n=saved))
                st.rerun()
