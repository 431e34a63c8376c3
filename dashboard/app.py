"""callqa's review dashboard: the entry page Streamlit runs on every click.

It sets up what every page shares (language, who is signed in, refresh) and
then runs the page picked in the navigation, so the sidebar's values survive
page changes. The navigation lists the pages the viewer's role may use; the
queries behind each page check the role again (`qa.access`), so a page
reached by its address shows nothing it should not. Each page's url_path is
its file's name (AppTest finds pages by it).
"""

from __future__ import annotations

import streamlit as st

import auth
from common import language_picker, sidebar
from qa.access.roles import can
from ui import _

st.set_page_config(page_title="callqa", layout="wide")  # no page icon: a material one is fetched online
language_picker()
viewer = auth.known()
if viewer is None:
    # every page, hidden: the address the visitor asked for stays while they sign in
    st.navigation([st.Page(f"views/{name}.py", url_path=name) for name in
                   ("queue", "calls", "call", "sampling", "scorecard", "phrases", "rulebook", "audit", "accounts")]
                  + [st.Page("views/overview.py", default=True)], position="hidden")
    auth.sign_in_page()  # stops the run until someone signs in
sidebar(viewer)
opens_calls = viewer.rights.calls != "none"
PAGES = {
    _("Review"): [
        st.Page("views/queue.py", title=_("Review queue"), icon=":material/task_alt:", url_path="queue")
        if can(viewer, "judge") else None,
        st.Page("views/calls.py", title=_("Calls"), icon=":material/call:", url_path="calls") if opens_calls else None,
        st.Page("views/call.py", title=_("Call detail"), icon=":material/search:", url_path="call")
        if opens_calls else None,
        st.Page("views/sampling.py", title=_("Sampling plans"), icon=":material/checklist:", url_path="sampling")
        if can(viewer, "plans") or can(viewer, "judge") else None,
    ],
    _("Analysis"): [
        st.Page("views/overview.py", title=_("Overview"), icon=":material/monitoring:", default=True)  # at /
        if opens_calls else None,
        st.Page("views/scorecard.py", title=_("Agent scorecard"), icon=":material/school:", url_path="scorecard")
        if can(viewer, "scorecard") else None,
        st.Page("views/phrases.py", title=_("Phrase library"), icon=":material/record_voice_over:",
                url_path="phrases"),
        st.Page("views/rulebook.py", title=_("Rulebook"), icon=":material/menu_book:", url_path="rulebook"),
    ],
    _("Administration"): [
        st.Page("views/audit.py", title=_("Audit log"), icon=":material/policy:", url_path="audit")
        if can(viewer, "audit") else None,
        st.Page("views/accounts.py", title=_("Accounts"), icon=":material/group:", url_path="accounts")
        if can(viewer, "accounts") else None,
    ],
}
PAGES = {section: [p for p in pages if p is not None] for section, pages in PAGES.items()}
PAGES = {section: pages for section, pages in PAGES.items() if pages}  # without the overview: the first page at /
st.navigation(PAGES).run()
