"""The audit log (审计日志): who opened which call, played or exported which clip, gave which verdict."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from common import query, viewer
from qa.access.audit import ACTIONS
from ui import _, apply_style, term

viewer()
apply_style()
st.title(_("Audit log"))
c1, c2, c3 = st.columns(3)
actor = c1.text_input(_("Who"), key="audit_actor").strip() or None
action = c2.selectbox(_("Action"), [None, *ACTIONS], format_func=lambda a: _("(any)") if a is None else term("audit", a),
                      key="audit_action")
call_id = c3.text_input(_("Call id"), key="audit_call").strip() or None
events = query("audit_log", actor=actor, action=action, call_id=call_id)
st.caption(_("The newest {n} events; the log is only ever appended to.").format(n=len(events)))
st.dataframe(pd.DataFrame({
    _("When"): events["happened_at"], _("Who"): events["actor"],
    _("Role"): [term("account_role", r) for r in events["role"]],
    _("Action"): [term("audit", a) for a in events["action"]], _("Call"): events["call_id"].fillna(""),
    _("Finding"): events["finding_id"].fillna(""), _("Detail"): events["detail"].fillna(""),
}), hide_index=True, width="stretch")
