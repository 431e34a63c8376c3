"""Phrase library: find a phrase in every transcript (also misheard), play and export clips."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from common import date_range, fmt_time, query, scored_page
from qa.scoring.clips import Clip, clips_csv, clips_zip

_, first, last = scored_page("callqa phrase library", "Phrase library")
c1, c2, c3 = st.columns([3, 2, 2])
phrase = c1.text_input("Phrase", placeholder="e.g. 不知道 or 欢迎致电", key="lib_phrase").strip()
roles = c2.multiselect("Spoken by", ["agent", "customer", "unknown"], default=["agent"], key="lib_roles")
date_from, date_to = date_range(
    c3.date_input("Date range", value=(first, last), min_value=first, max_value=last, key="lib_dates"), first, last
)
c1, c2, c3, c4, c5 = st.columns(5)
fuzzy = c1.toggle("Also by sound (misheard)", value=True, key="lib_fuzzy",
                  help="Finds 支店 for 致电: compares tone-less pinyin as well as characters")
misheard_only = c2.toggle("Only misheard", value=False, key="lib_misheard", disabled=not fuzzy)
min_similarity = c3.slider("Min similarity", 0.5, 1.0, 0.8, 0.05, key="lib_min_sim")
limit = c4.selectbox("Max hits", [50, 100, 200, 500], index=1, key="lib_limit")
refine = c5.toggle("Rulebook matcher", value=False, key="lib_refine",
                   help="Re-check the hits with the matcher the rules use (near-homophones, word boundaries); slower")

if not phrase:
    st.info("Type a phrase to search every transcript.")
    st.stop()

hits = query("search_phrases", phrase, roles=tuple(roles), date_from=date_from, date_to=date_to, fuzzy=fuzzy,
             misheard_only=misheard_only and fuzzy, min_similarity=min_similarity, limit=limit, refine=refine)
if hits.empty:
    st.warning(f"No utterance matches 「{phrase}」 with these filters.")
    st.stop()

st.caption(f"{len(hits)} hits, best first. Tick rows to play and export them.")
table = hits.assign(
    select=False, at=[fmt_time(t) for t in hits["clip_start_s"]],
    started_at=pd.to_datetime(hits["started_at"]),
)[["select", "similarity", "matched_by", "match_text", "before", "text", "after", "call_id", "agent_id",
   "team", "role", "at", "started_at"]]
edited = st.data_editor(
    table, hide_index=True, width="stretch", key="lib_table",
    disabled=[c for c in table.columns if c != "select"],
    column_config={
        "select": st.column_config.CheckboxColumn("select"),
        "similarity": st.column_config.NumberColumn(format="%.2f"),
        "started_at": st.column_config.DatetimeColumn("call started", format="YYYY-MM-DD HH:mm"),
    },
)
selected = hits[edited["select"].to_numpy()]

pad_s = st.slider("Clip padding (s)", 0.0, 3.0, 0.5, 0.25, key="lib_pad")
st.subheader("Play")
to_play = selected if not selected.empty else hits.head(1)
for hit in to_play.head(20).itertuples(index=False):
    st.markdown(f"**{hit.call_id}** at {fmt_time(hit.clip_start_s)} ({hit.role}): {hit.text}")
    if hit.path and Path(hit.path).is_file():
        st.audio(hit.path, start_time=max(0.0, hit.clip_start_s - pad_s), end_time=hit.clip_end_s + pad_s)
    else:
        st.caption(f"Audio file not found: `{hit.path}`")

st.subheader("Export")
if selected.empty:
    st.caption("Tick rows in the table to export their clips.")
else:
    clips = [
        Clip(call_id=h.call_id, path=h.path or "", start_s=float(h.clip_start_s), end_s=float(h.clip_end_s),
             text=h.text, agent_id=h.agent_id or "", started_at=str(h.started_at), role=h.role)
        for h in selected.itertuples(index=False)
    ]
    if st.button(f"Prepare {len(clips)} clips", key="lib_prepare"):
        archive, problems = clips_zip(clips, pad_s=pad_s)
        st.session_state["lib_zip"] = archive
        for problem in problems:
            st.warning(f"Left out: {problem}")
    if st.session_state.get("lib_zip"):
        st.download_button("Download clips.zip", st.session_state["lib_zip"], file_name="phrase_clips.zip",
                           mime="application/zip", key="lib_download_zip")
    rows = [{"clip": "", "call_id": c.call_id, "agent_id": c.agent_id, "started_at": c.started_at,
             "start_s": f"{c.start_s:.2f}", "end_s": f"{c.end_s:.2f}", "role": c.role, "text": c.text, "error": ""}
            for c in clips]
    st.download_button("Download CSV only", "\ufeff" + clips_csv(rows), file_name="phrase_hits.csv",
                       mime="text/csv", key="lib_download_csv")
