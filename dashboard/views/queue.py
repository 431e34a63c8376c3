"""The review queue: the next finding nobody has judged, across calls, one at a time.

Failed calls come first, then the most severe findings. The finding plays as
it opens; a verdict by key (1 confirm, 2 false positive) saves and moves on,
n skips, r replays. Nothing needs the mouse.
"""

from __future__ import annotations

import streamlit as st

from common import call_rulebook, date_range, may, opened, query, scored_page, stored_titles, transcript_html, viewer
from player import call_player
from qa.scoring.queries_queue import QueueFilter
from review import finding_card
from ui import _, rule_title

def plan_param() -> int | None:
    """The sampling plan named in the page's address (?plan=3), if any."""
    try:
        return int(st.query_params["plan"]) if st.query_params.get("plan") else None
    except ValueError:
        return None


KEYS = {"1": "queue_confirm", "c": "queue_confirm", "2": "queue_fp", "f": "queue_fp", "n": "queue_next"}
CONTEXT_S = 20.0  # transcript shown around the finding
SKIPPED = "queue_skipped"

options, first, last = scored_page(_("Review queue"))
titles = stored_titles()
c1, c2, c3, c4 = st.columns([1, 1, 1, 1.4])  # the date range needs the room
rules = c1.multiselect(_("Rule"), options["rules"], format_func=lambda r: titles.get(r, r), key="q_rules",
                       placeholder=_("(any)"))
agents = c2.multiselect(_("Agent"), options["agents"], key="q_agents", placeholder=_("(any)"))
teams = c3.multiselect(_("Team"), options["teams"], key="q_teams", placeholder=_("(any)"))
if first is not None:
    date_from, date_to = date_range(c4.date_input(_("Nights"), value=(first, last), min_value=first, max_value=last,
                                                  key="q_dates"), first, last)
else:
    date_from = date_to = None
if not may("judge"):
    st.error(_("Your role does not give verdicts, so it has no review queue."))
    st.stop()
plan_id = plan_param()
flt = QueueFilter(rules=tuple(rules), agents=tuple(agents), teams=tuple(teams), date_from=date_from, date_to=date_to,
                  plan_id=plan_id)
if plan_id is not None:
    left, right = st.columns([4, 1])
    left.info(_("Sampling plan {plan}: only the calls it gave you ({who}), judged by you.").format(
        plan=plan_id, who=viewer().name))
    if right.button(_("All findings instead"), key="queue_all"):
        del st.query_params["plan"]
        st.rerun()
skipped: list[str] = st.session_state.setdefault(SKIPPED, [])
progress = query("queue_progress", flt)
st.progress(progress["judged"] / progress["total"] if progress["total"] else 1.0,
            text=_("{judged} of {total} findings judged; {waiting} waiting").format(**progress))
current = query("next_finding", flt, tuple(skipped))
if current is None and skipped:
    st.info(_("Only the {n} findings you skipped are left.").format(n=len(skipped)))
    if st.button(_("Go through the skipped findings again"), key="queue_restart"):
        skipped.clear()
        st.rerun()
    st.stop()
if current is None:
    st.success(_("Nothing left to judge under these filters."))
    st.stop()

detail = query("call_detail", current["call_id"])
opened(current["call_id"])
book, call, findings, utterances = call_rulebook(detail), detail["call"], detail["findings"], detail["utterances"]
finding = next(f for f in findings.itertuples(index=False) if f.finding_id == current["finding_id"])
left, right = st.columns([4, 1])
left.markdown(_("**{rule}** · call {call} · agent {agent} · team {team} · score {score}").format(
    rule=rule_title(book, finding.rule_id), call=call["call_id"], agent=call["agent_id"] or "-",
    team=call["team"] or "-", score="-" if call["score"] is None else f"{call['score']:.0f}"))
right.page_link("views/call.py", label=_("Open the whole call"), icon=":material/open_in_new:", query_params={"call_id": call["call_id"]})
call_player(call, utterances, findings, book, start=(finding.finding_id, float(finding.start_s), float(finding.end_s)),
            keys=KEYS)

finding_card(finding, book, call["call_id"], detail["reviews"],
             keys={"confirm": "queue_confirm", "false_positive": "queue_fp"}, focus=True)
if st.button(_("Skip to the next finding"), key="queue_next"):
    skipped.append(finding.finding_id)
    st.rerun()
st.caption(_("Keys: 1 or c confirm · 2 or f false positive · n skip · r replay · Esc leaves a text field"))

near = utterances[(utterances["end_s"] >= finding.start_s - CONTEXT_S) & (utterances["start_s"] <= finding.end_s + CONTEXT_S)]
st.subheader(_("Transcript around the finding"))
st.html(transcript_html(near, findings[findings["finding_id"] == finding.finding_id]))
