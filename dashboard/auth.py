"""Who is using the dashboard: sign-in against the store's accounts, or the local user.

Once the store has an enabled account, every visitor signs in; the viewer
then rides in the session and every query filters by it (`qa.access`).
Without accounts the dashboard serves only requests from this machine, as
the machine's user with every right (`callqa dashboard` refuses another
address then, and this check stops a server started some other way).
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import threading

import streamlit as st

from qa.access import accounts
from qa.access.audit import record
from qa.access.roles import Viewer
from qa.scoring.db import StoreBusyError, StoreError, reading, writing
from ui import _, term

VIEWER_KEY = "viewer"
DB_ENV = "CALLQA_DB"
# DuckDB refuses a read-only and a read-write connection to one file in one
# process; the dashboard writes from this process, so every session takes turns.
SESSION_LOCK = threading.Lock()


def db_path() -> str:
    return os.environ.get(DB_ENV, "callqa.duckdb")


@st.cache_resource
def guard() -> accounts.SignInGuard:
    """Failed sign-ins of every session of this server."""
    return accounts.SignInGuard()


@st.cache_data(ttl=5, show_spinner=False)
def accounts_exist(path: str) -> bool:
    if not os.path.exists(path):
        return False
    try:
        with SESSION_LOCK, reading(path, timeout_s=10.0) as con:
            if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'accounts'"
                               ).fetchone()[0]:
                return False
            return accounts.any_account(con)
    except StoreError:
        return True  # cannot tell: ask for a sign-in rather than open up


def _local_request() -> bool:
    address = st.context.ip_address  # None from localhost
    if not isinstance(address, str):  # localhost, or no browser connection at all (a test run of the page)
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def audit(viewer: Viewer | str, action: str, **fields: str | None) -> None:
    """One line in the audit log, in its own short write; a busy store delays it by the write timeout."""
    try:
        with SESSION_LOCK, writing(db_path(), timeout_s=10.0) as con:
            record(con, viewer, action, **fields)
    except StoreBusyError:
        st.warning(_("The nightly batch holds the database; this action could not be written to the audit log."))


def known() -> Viewer | None:
    """The signed-in viewer, or the local user of a store without accounts; None: someone must sign in."""
    viewer = st.session_state.get(VIEWER_KEY)
    if isinstance(viewer, Viewer):
        return viewer
    if not accounts_exist(db_path()):
        if not _local_request():
            st.error(_("This dashboard has no accounts yet, so it only answers on this machine. "
                       "An administrator adds one with `callqa users add`."))
            st.stop()
        return Viewer(getpass.getuser() or "local", "admin")
    return None


def current() -> Viewer:
    """The viewer (`known`), or the sign-in form and the page stops."""
    viewer = known()
    if viewer is None:
        sign_in_page()
    return viewer


def sign_in_page() -> None:
    """The sign-in form; the page stops under it."""
    _sign_in_form()
    st.stop()


def _sign_in_form() -> None:
    _left, middle, _right = st.columns([1, 2, 1])
    with middle:
        _sign_in_fields()


def _sign_in_fields() -> None:
    st.title(_("Sign in to callqa"))
    with st.form("sign_in", clear_on_submit=True):  # a failed password is not left in the page
        name = st.text_input(_("Account name"), key="sign_in_name")
        password = st.text_input(_("Password"), type="password", key="sign_in_password")
        submitted = st.form_submit_button(_("Sign in"), type="primary")
    if not submitted:
        return
    wait = guard().wait_s(name)
    if wait > 0:
        st.error(_("Too many failed sign-ins. Try again in {s} s.").format(s=int(wait) + 1))
        return
    try:
        with SESSION_LOCK, reading(db_path(), timeout_s=10.0) as con:
            viewer = accounts.sign_in(con, name, password)
    except StoreError as exc:
        st.error(_("Cannot read the database: {problem}").format(problem=exc))
        return
    if viewer is None:
        guard().failed(name)
        audit(name.strip()[:64] or "-", "sign_in_failed")
        st.error(_("Wrong name or password."))  # never which of the two
        return
    guard().succeeded(name)
    st.session_state[VIEWER_KEY] = viewer
    audit(viewer, "sign_in")
    st.rerun()


def signed_in_box(viewer: Viewer) -> None:
    """The sidebar's line on who is signed in, with the sign-out button."""
    if st.session_state.get(VIEWER_KEY) is None:
        st.caption(_("No accounts: local use as {name}").format(name=viewer.name))
        return
    st.caption(_("Signed in as {name} ({role})").format(name=viewer.name, role=term("account_role", viewer.role)))
    if st.button(_("Sign out"), key="sign_out"):
        audit(viewer, "sign_out")
        del st.session_state[VIEWER_KEY]
        st.rerun()
