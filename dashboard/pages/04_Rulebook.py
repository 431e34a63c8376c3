"""The rulebooks that scored the calls: their history, each version's rules and sources, and
what changed between two versions. A store from before rulebooks were kept shows the one on disk."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from common import query, rulebook, sidebar, store_exists
from qa.phrases import Rulebook
from qa.scoring.rulebooks import rulebook_diff

TEXT = {
    "history": "Rulebooks that scored calls",
    "version": "Version",
    "compare": "Compare with",
    "identical": "The two versions have the same settings.",
    "sources": "Source files (TOML, as read)",
    "no_card": "This version has no score card settings.",
    "disk_note": ("No rulebook is stored in this database (a store from before rulebooks were kept, or none "
                  "scored yet). Shown is the rulebook on disk: not necessarily the one the calls were scored with."),
    "unloadable": "The rulebook cannot be loaded: {}",
}


def show_rules(book: Rulebook) -> None:
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


def show_scorecard(book: Rulebook) -> None:
    card = book.scorecard
    if card is None:
        st.caption(TEXT["no_card"])
        return
    st.markdown(f"**Score card:** full marks {card.full_marks:g} · pass mark {card.pass_mark:g} · "
                f"points {card.points} · critical fails the call: {'yes' if card.critical_fails_call else 'no'}")


def show_sources(book: Rulebook) -> None:
    with st.expander(TEXT["sources"]):
        for source, text in zip(book.sources, book.texts):
            st.caption(source)
            st.code(text, language="toml")


def show_history(history: pd.DataFrame) -> None:
    st.subheader(TEXT["history"])
    st.dataframe(
        pd.DataFrame({"version": history["version"], "name": history["name"],
                      "first used": history["first_used_at"], "calls": history["calls"],
                      "source files": [", ".join(json.loads(s)) for s in history["sources_json"]]}),
        hide_index=True, width="stretch",
    )


def show_compare(versions: list[str], picked: str) -> None:
    """The diff from the older of the two versions to the newer (`versions` is newest first)."""
    others = [v for v in versions if v != picked]
    below = versions[versions.index(picked) + 1:]
    # default: the version just before the picked one (just after it when it is the oldest)
    default = others.index(below[0]) if below else len(others) - 1
    other = st.selectbox(TEXT["compare"], others, index=default, key="rb_compare")
    older, newer = sorted([picked, other], key=versions.index, reverse=True)
    diff = rulebook_diff(query("stored_rulebook", older), query("stored_rulebook", newer))
    if diff:
        st.code(diff, language="diff")
    else:
        st.info(TEXT["identical"])


def show_book(book: Rulebook) -> None:
    st.caption(f"{book.name} · version {book.version} · from {', '.join(book.sources)}")
    show_scorecard(book)
    show_rules(book)
    show_sources(book)


def show_stored(history: pd.DataFrame) -> None:
    show_history(history)
    versions = list(history["version"])
    picked = st.selectbox(TEXT["version"], versions, key="rb_version")  # newest first: the default
    if len(versions) > 1:
        show_compare(versions, picked)
    show_book(query("stored_rulebook", picked))


def show_disk() -> None:
    book, problem = rulebook()
    if book is None:
        st.error(TEXT["unloadable"].format(problem))
        st.stop()
    st.warning(TEXT["disk_note"])
    show_book(book)


st.set_page_config(page_title="callqa rulebook", layout="wide")
st.title("Rulebook")
sidebar()
stored = query("rulebook_history") if store_exists() else None
if stored is None or stored.empty:
    show_disk()
else:
    show_stored(stored)
