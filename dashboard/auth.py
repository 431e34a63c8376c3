"""Who is using the dashboard: sign-in against the store's accounts, or the local user.

Once the store has an enabled account, every visitor signs in; the viewer
then rides in the session and every query filters by it (`qa.access`).
Without accounts the dashboard serves only requests from this machine, as
the machine's user with every right (`callqa dashboard` refuses another
address then, and this check stops a server started some other way).
Started with `--oidc`, the sign-in page also offers the centre's identity
provider (`st.login`); who comes back signed in is matched to an account by
its identity, and a person without one is turned away and signed out.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import threading
from pathlib import Path

import streamlit as st

from qa.access import accounts, oidc
from qa.access.audit import record
from qa.access.roles import Viewer
from qa.commands.dashboard import DB_ENV, OIDC_ENV  # what `callqa dashboard` hands the app
from qa.scoring.db import StoreBusyError, StoreError, reading, writing
from ui import _, term

VIEWER_KEY = "viewer"
VIA_PROVIDER_KEY = "signed_in_via_provider"
REFUSED_KEY = "provider_identity_refused"
# DuckDB refuses a read-only and a read-write connection to one file in one
# process; the dashboard writes from this process, so every session takes turns.
SESSION_LOCK = threading.Lock()


def db_path() -> str:
    return os.environ.get(DB_ENV, "callqa.duckdb")


@st.cache_resource
def guard() -> accounts.SignInGuard:
    """Failed sign-ins of every session of this server."""
    return accounts.SignInGuard()


@st.cache_resource
def providers() -> list[str]:
    """The identity providers the server was started with (`callqa dashboard --oidc`); none: passwords only."""
    path = os.environ.get(OIDC_ENV)
    return oidc.providers(Path(path)) if path else []


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
    if providers() and st.user.is_logged_in:
        return _provider_viewer()
    if not accounts_exist(db_path()):
        if not _local_request():
            st.error(_("This dashboard has no accounts yet, so it only answers on this machine. "
                       "An administrator adds one with `callqa users add`."))
            st.stop()
        return Viewer(getpass.getuser() or "local", "admin")
    return None


def _provider_viewer() -> Viewer:
    """The account of whom the identity provider signed in; someone without one is told so, and stops here."""
    identities = oidc.identities(st.user.to_dict())
    try:
        with SESSION_LOCK, reading(db_path(), timeout_s=10.0) as con:
            viewer = accounts.sign_in_identity(con, identities)
    except StoreError as exc:
        st.error(_("Cannot read the database: {problem}").format(problem=exc))
        st.stop()
    if viewer is None:
        _refuse_identity(identities)
    st.session_state[VIEWER_KEY] = viewer
    st.session_state[VIA_PROVIDER_KEY] = True
    audit(viewer, "sign_in", detail="identity provider")
    return viewer


def _refuse_identity(identities: list[str]) -> None:
    """No enabled account has this identity: say so, offer to sign out of the provider, stop."""
    who = identities[0] if identities else "-"
    if not st.session_state.get(REFUSED_KEY):  # one audit line per session, not per rerun
        st.session_state[REFUSED_KEY] = True
        audit(who[:64], "sign_in_failed", detail="identity provider")
    _left, middle, _right = st.columns([1, 2, 1])
    with middle:
        st.title(_("Sign in to callqa"))
        st.error(_("The identity provider signed you in as {identity}, but no enabled callqa account has that "
                   "identity. Ask an administrator to link one (`callqa users identity`).").format(identity=who))
        if st.button(_("Sign out of the identity provider"), key="provider_sign_out"):
            st.session_state.pop(REFUSED_KEY, None)
            st.logout()
    st.stop()


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
    for provider in providers():
        label = (_("Sign in with the centre's account") if provider == oidc.DEFAULT
                 else _("Sign in with {provider}").format(provider=provider))
        if st.button(label, key=f"sign_in_provider_{provider}", type="primary", width="stretch"):
            st.login(provider)
    if providers():
        st.caption(_("Or with a callqa password:"))
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
        if st.session_state.pop(VIA_PROVIDER_KEY, False):
            st.logout()  # the provider's cookie too, or the next page would sign straight back in
        st.rerun()
