"""The rulebook in force: each rule's clause, points, thresholds and phrases."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from common import rulebook, sidebar

st.set_page_config(page_title="callqa rulebook", layout="wide")
st.title("Rulebook")
sidebar()

book, problem = rulebook()
if book is None:
    st.error(f"The rulebook cannot be loaded: {problem}")
    st.stop()
st.caption(f"{book.name} · version {book.version} · from {', '.join(book.sources)}")
rules = list(book.rules.values())
st.dataframe(
    pd.DataFrame(
        [{"rule": r.rule_id, "title": r.title, "enabled": r.enabled, "points": r.points, "critical": r.critical,
          "severity": r.severity, "roles": ", ".join(r.roles), "kind": r.kind,
          "thresholds": ", ".join(f"{k}={v}" for k, v in r.params.items()), "clause": r.source} for r in rules]
    ),
    hide_index=True, width="stretch",
)
for rule in rules:
    with st.expander(f"{rule.rule_id} · {rule.title}{'' if rule.enabled else ' (disabled)'}"):
        st.markdown(f"**Clause:** {rule.source}")
        st.markdown(f"**Points:** {rule.points:g}{' · critical: a failure fails the call' if rule.critical else ''}"
                    f" · **severity** {rule.severity} · **roles** {', '.join(rule.roles) or 'any'}")
        if rule.params:
            st.markdown("**Thresholds:** " + ", ".join(f"`{k}` = {v}" for k, v in rule.params.items()))
        for group, phrases in rule.phrases.items():
            st.markdown(f"**{group}**")
            st.dataframe(
                pd.DataFrame([{"phrase": p.text, "severity": p.severity, "roles": ", ".join(p.roles),
                               "exclusions": " / ".join(p.exclusions)} for p in phrases]),
                hide_index=True, width="stretch",
            )
if book.slots:
    with st.expander("Slots (company names, holidays, ...)"):
        st.json({k: list(v) for k, v in book.slots.items()})
