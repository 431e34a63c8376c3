"""The interface language and the texts every page shares.

`_("Calls")` looks a text up in the catalog of the language picked in the
sidebar (Simplified Chinese unless changed); `term("verdict", v)` translates a
stored value (a verdict, a role, an outcome). Rule titles come from the
rulebook that scored the call, never from the rule id.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from qa.i18n import DEFAULT_LANGUAGE, LANGUAGES, Explained, translations

LANGUAGE_KEY = "language"


def _p(context: str, value: str) -> tuple[str, str]:
    """Marks a stored value for extraction into the catalog (keyword `_p:1c,2` in babel.cfg)."""
    return context, value


# The stored values the interface translates with `term`; listed so the catalog holds them.
TERMS = (
    _p("verdict", "confirmed"), _p("verdict", "false_positive"), _p("verdict", "missed"),
    _p("verdict", "appeal"), _p("verdict", "upheld"), _p("verdict", "overturned"),
    _p("role", "agent"), _p("role", "customer"), _p("role", "unknown"),
    _p("severity", "critical"), _p("severity", "major"), _p("severity", "minor"),
    _p("outcome", "pass"), _p("outcome", "fail"), _p("outcome", "na"),
    _p("status", "scored"), _p("status", "error"),
    _p("review_status", "any"), _p("review_status", "unreviewed"), _p("review_status", "partly_reviewed"),
    _p("review_status", "reviewed"), _p("review_status", "disputed"), _p("review_status", "appealed"),
    _p("review_status", "missed"),
    _p("column", "started_at"), _p("column", "score"), _p("column", "duration_s"), _p("column", "agent_id"),
    _p("column", "team"), _p("column", "call_id"),
    _p("ring_source", "detected"), _p("ring_source", "metadata"), _p("ring_source", "none"),
    _p("account_role", "admin"), _p("account_role", "supervisor"), _p("account_role", "inspector"),
    _p("account_role", "team_lead"), _p("account_role", "trainer"),
    _p("audit", "sign_in"), _p("audit", "sign_in_failed"), _p("audit", "sign_out"), _p("audit", "open_call"),
    _p("audit", "play_clip"), _p("audit", "export_clips"), _p("audit", "export_scorecard"), _p("audit", "verdict"),
    _p("audit", "make_plan"), _p("audit", "account_added"), _p("audit", "account_disabled"),
    _p("audit", "account_enabled"), _p("audit", "password_changed"), _p("audit", "identity_changed"),
)


def language() -> str:
    picked = st.session_state.get(LANGUAGE_KEY, DEFAULT_LANGUAGE)
    return picked if picked in LANGUAGES else DEFAULT_LANGUAGE


def _(text: str) -> str:
    return translations(language()).gettext(text)


def term(context: str, value: Any) -> str:
    """A stored value shown in the interface language; an unknown one as it is."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "-"
    translated = translations(language()).pgettext(context, str(value))
    return translated if translated != str(value) or language() == "en" else str(value).replace("_", " ")


def explain(error: Exception) -> str:
    """A library error in the interface language (`qa.i18n.Explained`); any other as it reads."""
    return error.in_language(translations(language())) if isinstance(error, Explained) else str(error)


def rule_title(book: Any, rule_id: str) -> str:
    """The rule's title in `book` (the rulebook that scored the call); the id when it has none."""
    rule = book.rules.get(rule_id) if book is not None else None
    return rule.title if rule is not None and rule.title else rule_id


def fmt_time(seconds: float | None) -> str:
    if seconds is None or pd.isna(seconds):
        return "-"
    minutes, secs = divmod(max(0.0, float(seconds)), 60)  # word times can start a hair before 0
    return f"{int(minutes):02d}:{secs:04.1f}"


# Pages are wide; the player stays in view while the findings scroll under it.
STYLE = """
<style>
/* the keyed container sits in a wrapper of its own height: the wrapper is what sticks */
div[data-testid="stLayoutWrapper"]:has(> .st-key-callqa_player), .st-key-callqa_player {
  position: sticky; top: 2.9rem; z-index: 990; background-color: white; }
/* at 1024 px the pages need the width more than the sidebar does (it still collapses) */
@media (max-width: 1100px) {
  section[data-testid="stSidebar"] { width: 13.5rem !important; min-width: 13.5rem !important; }
  [data-testid="stMetricValue"] { font-size: 1.6rem; }
}
.st-key-callqa_player { padding: 0.3rem 0 0.2rem; border-bottom: 1px solid #ddd; }
.callqa-seek { cursor: pointer; color: #1f5fbf; text-decoration: none; white-space: nowrap; }
.callqa-seek:hover { text-decoration: underline; }
table.transcript td { padding: 2px 6px; vertical-align: top; }
mark { background: #ffe066; padding: 0 1px; }
.callqa-legit { color: #2b8a3e; }
.callqa-verdict-confirmed { color: #c92a2a; font-weight: 600; }
.callqa-verdict-false_positive { color: #2b8a3e; font-weight: 600; }
</style>
"""


def apply_style() -> None:
    st.html(STYLE)
