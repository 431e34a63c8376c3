"""Dashboard accounts in the store: argon2id password hashes, sign-in with a brake on guessing.

A failed sign-in never says whether the name or the password was wrong, and
an unknown name costs the same hashing time as a known one. After
`MAX_FAILURES` failures within `WINDOW_S` a name (and, separately, the whole
server) waits before the next try is even checked. An account may instead (or
also) carry an identity: the e-mail or subject id the centre's identity
provider vouches for (`qa.access.oidc`); an account with no password keeps the
hash of a random secret, which no typed password matches.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import duckdb
import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from qa.access.roles import ROLES, Viewer, require
from qa.i18n import Explained

__all__ = ["AccountError", "SignInGuard", "accounts", "add_account", "any_account", "check_password", "inspector_names",
           "set_disabled", "set_identity", "set_password", "sign_in", "sign_in_identity"]

MIN_PASSWORD = 10
_HASHER = PasswordHasher()  # argon2id with the library's current cost settings
_DUMMY_HASH = _HASHER.hash("not a password of anyone")  # unknown names are checked against it: same cost


class AccountError(Explained):
    """An account cannot be made or changed as asked; the message says why."""


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError("a password needs at least {n} characters", n=MIN_PASSWORD)


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64 or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise AccountError("an account name is 1-64 characters without spaces")
    return name


def _check_identity(identity: str | None) -> str | None:
    """An e-mail (compared without case) or a provider's subject id; blank: none."""
    identity = (identity or "").strip()
    if not identity:
        return None
    if len(identity) > 254 or any(ch.isspace() or not ch.isprintable() for ch in identity):
        raise AccountError("an identity is an e-mail or a subject id of at most 254 characters without spaces")
    return identity.casefold() if "@" in identity else identity


def _identity_free(con: duckdb.DuckDBPyConnection, identity: str | None, name: str) -> None:
    if identity is None:
        return
    owner = con.execute("SELECT name FROM accounts WHERE identity = ? AND name <> ?", [identity, name]).fetchone()
    if owner:
        raise AccountError("the identity {identity} belongs to {name} already", identity=identity, name=owner[0])


def add_account(con: duckdb.DuckDBPyConnection, name: str, role: str, password: str | None, team: str | None = None,
                identity: str | None = None) -> None:
    """A new account; `password` None: it signs in only through the identity provider, as `identity`."""
    name = _check_name(name)
    if role not in ROLES:
        raise AccountError("role {role}: expected one of {roles}", role=role, roles=", ".join(ROLES))
    if role == "team_lead" and not (team or "").strip():
        raise AccountError("a team lead needs a team")
    identity = _check_identity(identity)
    if password is None and identity is None:
        raise AccountError("an account needs a password or an identity")
    if password is not None:
        check_password(password)
    if con.execute("SELECT 1 FROM accounts WHERE name = ?", [name]).fetchone():
        raise AccountError("the account {name} exists already", name=name)
    _identity_free(con, identity, name)
    secret = password if password is not None else secrets.token_urlsafe(32)  # forgotten at once
    con.execute("INSERT INTO accounts (name, role, team, password_hash, identity) VALUES (?, ?, ?, ?, ?)",
                [name, role, (team or "").strip() or None, _HASHER.hash(secret), identity])


def _existing(con: duckdb.DuckDBPyConnection, name: str) -> None:
    if not con.execute("SELECT 1 FROM accounts WHERE name = ?", [name]).fetchone():
        raise AccountError("no account {name}", name=name)


def set_password(con: duckdb.DuckDBPyConnection, name: str, password: str) -> None:
    _existing(con, name)
    check_password(password)
    con.execute("UPDATE accounts SET password_hash = ?, changed_at = current_timestamp WHERE name = ?",
                [_HASHER.hash(password), name])


def set_disabled(con: duckdb.DuckDBPyConnection, name: str, disabled: bool = True) -> None:
    _existing(con, name)
    con.execute("UPDATE accounts SET disabled = ?, changed_at = current_timestamp WHERE name = ?", [disabled, name])


def set_identity(con: duckdb.DuckDBPyConnection, name: str, identity: str | None) -> None:
    """Link NAME to the provider's `identity` (None or blank: unlink)."""
    _existing(con, name)
    identity = _check_identity(identity)
    _identity_free(con, identity, name)
    con.execute("UPDATE accounts SET identity = ?, changed_at = current_timestamp WHERE name = ?", [identity, name])


def accounts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every account without its hash."""
    return con.execute("SELECT name, role, team, identity, disabled, created_at, changed_at FROM accounts "
                       "ORDER BY name").df()


def inspector_names(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> list[str]:
    """Enabled accounts that may give verdicts, for a plan's maker to deal calls to."""
    require(viewer, "plans")
    judges = [role for role, rights in ROLES.items() if "judge" in rights.actions]
    return [r[0] for r in con.execute("SELECT name FROM accounts WHERE NOT disabled AND list_contains(?, role) "
                                      "ORDER BY name", [judges]).fetchall()]


def any_account(con: duckdb.DuckDBPyConnection) -> bool:
    """Some account can sign in (then the dashboard asks everyone to)."""
    return bool(con.execute("SELECT count(*) FROM accounts WHERE NOT disabled").fetchone()[0])


def sign_in(con: duckdb.DuckDBPyConnection, name: str, password: str) -> Viewer | None:
    """The viewer for a right name and password of an enabled account; None otherwise (which, it does not say)."""
    row = con.execute("SELECT role, team, password_hash, disabled FROM accounts WHERE name = ?",
                      [name.strip()]).fetchone()
    stored = row[2] if row else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or row[3]:
        return None
    return Viewer(name.strip(), row[0], row[1])


def sign_in_identity(con: duckdb.DuckDBPyConnection, identities: list[str]) -> Viewer | None:
    """The viewer of the enabled account linked to the first of `identities` (as `qa.access.oidc.identities`
    reads them from the provider's token) that has one; None otherwise."""
    for identity in identities:
        try:
            identity = _check_identity(identity)
        except AccountError:  # nothing an account could carry
            continue
        row = con.execute("SELECT name, role, team, disabled FROM accounts WHERE identity = ?", [identity]).fetchone()
        if row:
            return None if row[3] else Viewer(row[0], row[1], row[2])
    return None


@dataclass
class SignInGuard:
    """Failed sign-ins per name and in all, in this server process; too many make the next try wait."""

    max_failures: int = 5
    window_s: float = 300.0
    server_max: int = 50  # guesses over many names
    _failures: dict[str, deque] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str, now: float) -> deque:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] > self.window_s:
            times.popleft()
        return times

    def wait_s(self, name: str, now: float | None = None) -> float:
        """Seconds before `name` may try again (0: now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            waits = [self.window_s - (now - t[0]) for key, limit in ((name.strip(), self.max_failures),
                                                                      ("", self.server_max))
                     if len(t := self._recent(key, now)) >= limit]
        return max(waits, default=0.0)

    def failed(self, name: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in (name.strip(), ""):
                self._recent(key, now).append(now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name.strip(), None)
