"""Accounts (账户): who may sign in, with which role; add, disable, set a password or an identity."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from common import query, viewer, write_as_admin
from qa.access import accounts
from qa.access.roles import ROLES
from ui import _, apply_style, term

viewer()
apply_style()
st.title(_("Accounts"))
listed = query("accounts")
st.dataframe(pd.DataFrame({
    _("Name"): listed["name"], _("Role"): [term("account_role", r) for r in listed["role"]],
    _("Team"): listed["team"], _("Identity"): listed["identity"], _("Disabled"): listed["disabled"],
    _("Changed"): listed["changed_at"],
}), hide_index=True, width="stretch")
st.caption(_("The same from the command line: `callqa users add|list|disable|enable|passwd|identity`."))

with st.form("account_add", clear_on_submit=True):
    st.subheader(_("Add an account"))
    c1, c2, c3 = st.columns(3)
    name = c1.text_input(_("Name"))
    role = c2.selectbox(_("Role"), list(ROLES), format_func=lambda r: term("account_role", r))
    team = c3.text_input(_("Team (team leads)"))
    c1, c2 = st.columns(2)
    password = c1.text_input(_("Password"), type="password")
    identity = c2.text_input(_("Identity (e-mail at the identity provider)"),
                             help=_("Leave the password empty to sign in only through the identity provider."))
    if st.form_submit_button(_("Add")) and write_as_admin(
            lambda con: accounts.add_account(con, name, role, password or None, team or None, identity),
            "account_added", name):
        st.toast(_("Added {name}").format(name=name))
        st.rerun()

if not listed.empty:
    st.subheader(_("Change an account"))
    c1, c2 = st.columns(2)
    picked = c1.selectbox(_("Account"), list(listed["name"]), key="account_pick")
    disabled = bool(listed.set_index("name").loc[picked, "disabled"])
    if c2.button(_("Enable") if disabled else _("Disable"), key="account_toggle") and write_as_admin(
            lambda con: accounts.set_disabled(con, picked, not disabled),
            "account_enabled" if disabled else "account_disabled", picked):
        st.rerun()
    with st.form("account_password", clear_on_submit=True):
        new = st.text_input(_("New password for {name}").format(name=picked), type="password")
        if st.form_submit_button(_("Set password")) and write_as_admin(
                lambda con: accounts.set_password(con, picked, new), "password_changed", picked):
            st.toast(_("Password of {name} changed").format(name=picked))
    with st.form("account_identity", clear_on_submit=True):
        linked = listed.set_index("name").loc[picked, "identity"]
        new_identity = st.text_input(_("Identity of {name} (empty: none)").format(name=picked),
                                     value="" if linked is None or pd.isna(linked) else linked)
        if st.form_submit_button(_("Set identity")) and write_as_admin(
                lambda con: accounts.set_identity(con, picked, new_identity), "identity_changed", picked):
            st.toast(_("Identity of {name} changed").format(name=picked))
            st.rerun()
