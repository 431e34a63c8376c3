"""Phrase library: find a phrase in every transcript (also misheard), play, open and export clips.

The selection belongs to one search: a new search starts with nothing ticked,
and an archive prepared for one selection is never offered for another.
"""

from __future__ import annotations

import hashlib
import html
from pathlib import Path

import pandas as pd
import streamlit as st

import auth
from common import date_range, query, rulebook, scored_page, viewer
from qa.scoring.clips import Clip, ClipError, clip_row, clips_csv, clips_zip, cut_clip
from qa.scoring.queries_phrases import legitimate_contexts
from ui import _, fmt_time, term

SHOWN_HITS = 20  # hits listed with their sentence, player and link


def fingerprint(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:12]


def marked(text: str, match: str) -> str:
    """The sentence with the matched words marked."""
    if match and match in text:
        at = text.index(match)
        return f"{html.escape(text[:at])}<mark>{html.escape(match)}</mark>{html.escape(text[at + len(match):])}"
    return html.escape(text)


def hit_clips(hits: pd.DataFrame, phrase: str) -> list[Clip]:
    """The hits as clips to export: masked text, and the personal numbers' times to tone over."""
    return [Clip(call_id=h.call_id, path=h.path or "", start_s=float(h.clip_start_s), end_s=float(h.clip_end_s),
                 text=h.masked_text, agent_id=h.agent_id or "", started_at=str(h.started_at), role=h.role, phrase=phrase,
                 similarity=float(h.similarity), hidden=tuple(map(tuple, h.hidden)))
            for h in hits.itertuples(index=False)]


@st.cache_data(ttl=300, show_spinner=False, max_entries=200)
def clip_audio(path: str, start_s: float, end_s: float, pad_s: float, hidden: tuple) -> bytes | str:
    """The hit's clip as WAV, personal numbers toned over (never the whole recording); the problem as text."""
    try:
        return cut_clip(path, start_s, end_s, pad_s, hidden)
    except ClipError as exc:
        return str(exc)


options, first, last = scored_page(_("Phrase library"))
c1, c2, c3 = st.columns([3, 2, 2])
phrase = c1.text_input(_("Phrase"), placeholder=_("e.g. 不知道 or 欢迎致电"), key="lib_phrase").strip()
roles = c2.multiselect(_("Spoken by"), ["agent", "customer", "unknown"], default=["agent"], key="lib_roles",
                       format_func=lambda r: term("role", r), placeholder=_("(any)"))
if first is not None:
    date_from, date_to = date_range(c3.date_input(_("Date range"), value=(first, last), min_value=first,
                                                  max_value=last, key="lib_dates"), first, last)
else:
    date_from = date_to = None
c1, c2, c3, c4, c5 = st.columns(5)
fuzzy = c1.toggle(_("Also by sound (misheard)"), value=True, key="lib_fuzzy",
                  help=_("Finds 支店 for 致电: compares tone-less pinyin as well as characters"))
misheard_only = c2.toggle(_("Only misheard"), value=False, key="lib_misheard", disabled=not fuzzy)
min_similarity = c3.slider(_("Min similarity"), 0.5, 1.0, 0.8, 0.05, key="lib_min_sim")
limit = c4.selectbox(_("Max hits"), [50, 100, 200, 500], index=1, key="lib_limit")
refine = c5.toggle(_("Rulebook matcher"), value=False, key="lib_refine",
                   help=_("Re-check the hits with the matcher the rules use (near-homophones, word boundaries); slower"))

if not phrase:
    st.info(_("Type a phrase to search every transcript."))
    st.stop()

hits = query("search_phrases", phrase, roles=tuple(roles), date_from=date_from, date_to=date_to, fuzzy=fuzzy,
             misheard_only=misheard_only and fuzzy, min_similarity=min_similarity, limit=limit, refine=refine)
if hits.empty:
    st.warning(_("No utterance matches 「{phrase}」 with these filters.").format(phrase=phrase))
    st.stop()

book, _problem = rulebook()
legit = legitimate_contexts(book, phrase, hits["text"])
search = fingerprint(phrase, tuple(roles), date_from, date_to, fuzzy, misheard_only, min_similarity, limit, refine)
n_legit = sum(c is not None for c in legit)
st.caption(_("{n} hits, best first. Tick rows to play and export them.").format(n=len(hits))
           + (" " + _("{n} of them lie inside a context the rulebook allows (marked).").format(n=n_legit)
              if n_legit else ""))
select_all = st.toggle(_("Select all"), value=False, key=f"lib_all_{search}")
table = pd.DataFrame({
    "select": select_all, "text": hits["text"], "similarity": hits["similarity"],
    "context": [_("allowed: {context}").format(context=c) if c else "" for c in legit],
    "call_id": hits["call_id"], "at": [fmt_time(t) for t in hits["clip_start_s"]],
    "role": [term("role", r) for r in hits["role"]], "agent_id": hits["agent_id"],
    "started_at": pd.to_datetime(hits["started_at"]),
})
# the editor's key belongs to the search: a new search starts with its own, empty selection
st.session_state["lib_editor"] = f"lib_table_{search}_{select_all}"
edited = st.data_editor(
    table, hide_index=True, width="stretch", key=st.session_state["lib_editor"],
    disabled=[c for c in table.columns if c != "select"],
    column_config={
        "select": st.column_config.CheckboxColumn(_("Select"), width="small", pinned=True),
        "text": st.column_config.TextColumn(_("Sentence"), width="large"),
        "similarity": st.column_config.NumberColumn(_("Similarity"), format="%.2f", width="small"),
        "context": st.column_config.TextColumn(_("Legitimate context")),
        "call_id": st.column_config.TextColumn(_("Call")),
        "at": st.column_config.TextColumn(_("At"), width="small"),
        "role": st.column_config.TextColumn(_("Speaker"), width="small"),
        "agent_id": st.column_config.TextColumn(_("Agent"), width="small"),
        "started_at": st.column_config.DatetimeColumn(_("Call started"), format="YYYY-MM-DD HH:mm"),
    },
)
picked = edited["select"].to_numpy()
selected = hits[picked]

pad_s = st.slider(_("Clip padding (s)"), 0.0, 3.0, 0.5, 0.25, key="lib_pad")
st.subheader(_("Hits"))
to_show = selected if not selected.empty else hits.head(3)
for hit, context in zip(to_show.head(SHOWN_HITS).itertuples(index=False),
                        [legit[i] for i in to_show.head(SHOWN_HITS).index]):
    with st.container(border=True):
        allowed = _("allowed: {context}").format(context=context) if context else ""
        note = f" <span class='callqa-legit'>· {html.escape(allowed)}</span>" if context else ""
        similarity = _("similarity")
        st.html(f"<b>{html.escape(hit.call_id)}</b> {fmt_time(hit.clip_start_s)} ({html.escape(term('role', hit.role))}, "
                f"{similarity} {hit.similarity:.2f}){note}<br>{marked(hit.text, hit.match_text or '')}")
        left, right = st.columns([4, 1])
        if hit.path and Path(hit.path).is_file():
            audio = clip_audio(hit.path, float(hit.clip_start_s), float(hit.clip_end_s), pad_s,
                               tuple(map(tuple, hit.hidden)))
            if isinstance(audio, bytes):
                left.audio(audio, format="audio/wav")
                served = st.session_state.setdefault("audited_clips", set())
                if (hit.call_id, hit.clip_start_s) not in served:
                    auth.audit(viewer(), "play_clip", call_id=hit.call_id, detail=f"{hit.clip_start_s:.2f} s")
                    served.add((hit.call_id, hit.clip_start_s))
            else:
                left.caption(audio)
        else:
            left.caption(_("Audio file not found: `{path}`").format(path=hit.path))
        if viewer().rights.calls != "none":
            right.page_link("views/call.py", label=_("Open the call here"), icon=":material/open_in_new:",
                            query_params={"call_id": hit.call_id, "t": f"{max(0.0, hit.clip_start_s - pad_s):.2f}"})

st.subheader(_("Export"))
if selected.empty:
    st.caption(_("Tick rows in the table to export their clips."))
    st.stop()
clips = hit_clips(selected, phrase)
chosen = fingerprint(search, tuple(selected.index), pad_s)
if st.button(_("Prepare {n} clips").format(n=len(clips)), key="lib_prepare"):
    archive, problems = clips_zip(clips, pad_s=pad_s)
    st.session_state["lib_zip"] = (chosen, archive, problems)
prepared = st.session_state.get("lib_zip")
if prepared and prepared[0] == chosen:  # an archive of another selection is never served
    for problem in prepared[2]:
        st.warning(_("Left out: {problem}").format(problem=problem))
    st.download_button(_("Download clips.zip"), prepared[1], file_name="phrase_clips.zip", mime="application/zip",
                       key="lib_download_zip", on_click=auth.audit, args=(viewer(), "export_clips"),
                       kwargs={"detail": f"{len(clips)} clips of 「{phrase}」"})
elif prepared:
    st.caption(_("The selection changed since the clips were prepared; prepare them again."))
st.download_button(_("Download CSV only"), "\ufeff" + clips_csv([clip_row(c) for c in clips]),
                   file_name="phrase_hits.csv", mime="text/csv", key="lib_download_csv", on_click=auth.audit,
                   args=(viewer(), "export_clips"), kwargs={"detail": f"CSV of {len(clips)} hits of 「{phrase}」"})
