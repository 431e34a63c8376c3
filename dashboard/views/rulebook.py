"""The rulebooks that scored the calls: their history, each version's rules and sources, and
what changed between two versions. A store from before rulebooks were kept shows the one on disk."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from common import query, rulebook, store_exists
from qa.phrases import Rulebook
from qa.scoring.rulebooks import rulebook_diff
from ui import _, apply_style, term


def show_rules(book: Rulebook) -> None:
    rules = list(book.rules.values())
    st.dataframe(
        pd.DataFrame(
            [{_("Title"): r.title, _("Rule id"): r.rule_id, _("Enabled"): r.enabled, _("Points"): r.points,
              _("Critical"): r.critical, _("Severity"): term("severity", r.severity),
              _("Roles"): ", ".join(term("role", x) for x in r.roles), _("Kind"): r.kind,
              _("Thresholds"): ", ".join(f"{k}={v}" for k, v in r.params.items()), _("Clause"): r.source}
             for r in rules]
        ),
        hide_index=True, width="stretch",
    )
    for rule in rules:
        disabled = "" if rule.enabled else " " + _("(disabled)")
        with st.expander(f"{rule.title} ({rule.rule_id}){disabled}"):
            st.markdown(_("**Clause:** {clause}").format(clause=rule.source))
            st.markdown(_("**Points:** {points:g}").format(points=rule.points)
                        + (" · " + _("critical: a failure fails the call") if rule.critical else "")
                        + " · " + _("**Severity:** {severity}").format(severity=term("severity", rule.severity))
                        + " · " + _("**Roles:** {roles}").format(
                            roles=", ".join(term("role", x) for x in rule.roles) or _("any")))
            if rule.params:
                st.markdown(_("**Thresholds:**") + " " + ", ".join(f"`{k}` = {v}" for k, v in rule.params.items()))
            for group, phrases in rule.phrases.items():
                st.markdown(f"**{group}**")
                st.dataframe(
                    pd.DataFrame([{_("Phrase"): p.text, _("Severity"): term("severity", p.severity),
                                   _("Roles"): ", ".join(term("role", x) for x in p.roles),
                                   _("Legitimate contexts"): " / ".join(p.exclusions)} for p in phrases]),
                    hide_index=True, width="stretch",
                )
    if book.slots:
        with st.expander(_("Slots (company names, holidays, ...)")):
            st.json({k: list(v) for k, v in book.slots.items()})


def show_scorecard(book: Rulebook) -> None:
    card = book.scorecard
    if card is None:
        st.caption(_("This version has no score card settings."))
        return
    st.markdown(_("**Score card:** full marks {full:g} · pass mark {pass_mark:g} · points {points} · "
                  "critical fails the call: {critical}").format(
        full=card.full_marks, pass_mark=card.pass_mark, points=card.points,
        critical=_("yes") if card.critical_fails_call else _("no")))


def show_sources(book: Rulebook) -> None:
    with st.expander(_("Source files (TOML, as read)")):
        for source, text in zip(book.sources, book.texts):
            st.caption(source)
            st.code(text, language="toml")


def show_history(history: pd.DataFrame) -> None:
    st.subheader(_("Rulebooks that scored calls"))
    st.dataframe(
        pd.DataFrame({_("Version"): history["version"], _("Name"): history["name"],
                      _("First used"): history["first_used_at"], _("Calls"): history["calls"],
                      _("Source files"): [", ".join(json.loads(s)) for s in history["sources_json"]]}),
        hide_index=True, width="stretch",
    )


def show_compare(versions: list[str], picked: str) -> None:
    """The diff from the older of the two versions to the newer (`versions` is newest first)."""
    others = [v for v in versions if v != picked]
    below = versions[versions.index(picked) + 1:]
    # default: the version just before the picked one (just after it when it is the oldest)
    default = others.index(below[0]) if below else len(others) - 1
    other = st.selectbox(_("Compare with"), others, index=default, key="rb_compare")
    older, newer = sorted([picked, other], key=versions.index, reverse=True)
    diff = rulebook_diff(query("stored_rulebook", older), query("stored_rulebook", newer))
    if diff:
        st.code(diff, language="diff")
    else:
        st.info(_("The two versions have the same settings."))


def show_book(book: Rulebook) -> None:
    st.caption(_("{name} · version {version} · from {sources}").format(
        name=book.name, version=book.version, sources=", ".join(book.sources)))
    show_scorecard(book)
    show_rules(book)
    show_sources(book)


def show_stored(history: pd.DataFrame) -> None:
    show_history(history)
    versions = list(history["version"])
    picked = st.selectbox(_("Version"), versions, key="rb_version")  # newest first: the default
    if len(versions) > 1:
        show_compare(versions, picked)
    show_book(query("stored_rulebook", picked))


def show_disk() -> None:
    book, problem = rulebook()
    if book is None:
        st.error(_("The rulebook cannot be loaded: {problem}").format(problem=problem))
        st.stop()
    st.warning(_("No rulebook is stored in this database (a store from before rulebooks were kept, or none "
                 "scored yet). Shown is the rulebook on disk: not necessarily the one the calls were scored with."))
    show_book(book)


apply_style()
st.title(_("Rulebook"))
stored = query("rulebook_history") if store_exists() else None
if stored is None or stored.empty:
    show_disk()
else:
    show_stored(stored)
