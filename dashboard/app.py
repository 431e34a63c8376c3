"""callqa's review dashboard: the entry page Streamlit runs on every click.

It sets up what every page shares (language, reviewer, refresh) and then runs
the page picked in the navigation, so the sidebar's values survive page changes.
Each page's url_path is its file's name (AppTest finds pages by it).
"""

from __future__ import annotations

import streamlit as st

from common import sidebar
from ui import _

st.set_page_config(page_title="callqa", layout="wide")  # no page icon: a material one is fetched online
sidebar()
PAGES = {
    _("Review"): [
        st.Page("views/queue.py", title=_("Review queue"), icon=":material/task_alt:", url_path="queue"),
        st.Page("views/calls.py", title=_("Calls"), icon=":material/call:", url_path="calls"),
        st.Page("views/call.py", title=_("Call detail"), icon=":material/search:", url_path="call"),
        st.Page("views/sampling.py", title=_("Sampling plans"), icon=":material/checklist:", url_path="sampling"),
    ],
    _("Analysis"): [
        st.Page("views/overview.py", title=_("Overview"), icon=":material/monitoring:", default=True),  # at /
        st.Page("views/scorecard.py", title=_("Agent scorecard"), icon=":material/school:", url_path="scorecard"),
        st.Page("views/phrases.py", title=_("Phrase library"), icon=":material/record_voice_over:", url_path="phrases"),
        st.Page("views/rulebook.py", title=_("Rulebook"), icon=":material/menu_book:", url_path="rulebook"),
    ],
}
st.navigation(PAGES).run()
