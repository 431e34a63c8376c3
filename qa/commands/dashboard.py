"""`callqa dashboard`: serve the review dashboard, on localhost unless accounts exist.

Beyond localhost every visitor signs in: the command refuses another address
while the store has no enabled account. The session cookie's secret is made
once, kept beside the database with 0600 permissions, and handed to Streamlit
in its environment (not on a command line others can read); XSRF protection
stays on. With `--oidc FILE` the sign-in page also offers the centre's
identity provider (`qa.access.oidc`); the file, owner-only like the secret,
is handed to Streamlit as its secrets file.
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import secrets
import sys
from pathlib import Path

import click

from qa.access.accounts import any_account
from qa.access.oidc import OidcSettingsError, providers
from qa.scoring.db import StoreBusyError, StoreError, writing
from qa.scoring.queries import ensure_indexes

DB_ENV = "CALLQA_DB"  # the app reads the database path from here
SECRET_ENV = "STREAMLIT_SERVER_COOKIE_SECRET"
OIDC_ENV = "CALLQA_OIDC"  # the app offers the providers of this file


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def owner_only(path: Path, what: str) -> None:
    """Tighten a file others could read, and say so."""
    if path.stat().st_mode & 0o077:
        click.echo(f"{path}: others could read the {what}; permissions set to 0600", err=True)
        path.chmod(0o600)


def cookie_secret(db: Path) -> str:
    """The secret kept in `<db>.cookie-secret` (made on first use, owner-only); a looser file is tightened."""
    path = db.with_name(db.name + ".cookie-secret")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        owner_only(path, "cookie secret")
        return path.read_text("ascii").strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
    return path.read_text("ascii").strip()


def has_accounts(db: Path) -> bool:
    if not db.exists():
        return False
    try:
        with writing(db, timeout_s=30.0) as con:
            return any_account(con)
    except StoreError as exc:
        raise click.ClickException(f"cannot tell whether accounts exist: {exc}") from exc


def oidc_settings(path: Path) -> list[str]:
    """The providers of the settings file, checked (and the file made owner-only); the app needs Authlib."""
    try:
        names = providers(path)
    except OidcSettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    owner_only(path, "identity-provider secrets")
    try:
        # st.login needs it (and httpx under it): say so now, not at the first sign-in
        importlib.import_module("authlib.integrations.starlette_client")
    except ImportError:
        raise click.ClickException("--oidc needs Authlib and httpx: scripts/setup.sh oidc "
                                   "(or pip install 'streamlit[auth]')") from None
    return names


def dashboard_dir() -> Path:
    """The Streamlit app beside the package (a checkout or an editable install)."""
    return Path(__file__).resolve().parents[2] / "dashboard"


def prepare_store(db: Path) -> str:
    """Create the dashboard's indexes once; a busy or missing store is not fatal."""
    if not db.exists():
        return f"{db} does not exist yet; the dashboard will say how to score calls."
    try:
        with writing(db, timeout_s=5.0) as con:
            created = ensure_indexes(con)
    except StoreBusyError:
        return f"{db} is busy (the batch is writing); indexes will be created on a later start."
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    return f"created indexes: {', '.join(created)}" if created else ""


@click.command()
@click.option("--db", "db", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The DuckDB file written by `callqa score`.")
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535))
@click.option("--host", "--address", "address", default="127.0.0.1", show_default=True,
              help="Interface to listen on. Any other than localhost needs an account (callqa users add).")
@click.option("--oidc", "oidc", type=click.Path(dir_okay=False, path_type=Path),
              help="Streamlit [auth] settings (TOML) of the centre's identity provider: sign-in with it too.")
def dashboard(db: Path, port: int, address: str, oidc: Path | None) -> None:
    """Serve the review dashboard (review queue, calls, sampling, overview, scorecards, phrase library, rulebook)."""
    app = dashboard_dir() / "app.py"
    if not app.is_file():
        raise click.ClickException(f"{app}: dashboard app not found; run from a callqa checkout")
    db = db.resolve()
    if not is_loopback(address) and not has_accounts(db):
        raise click.ClickException(
            f"refusing to serve on {address}: {db} has no account, so anyone reaching the port would see every "
            f"call. Add one first: callqa users add NAME --role admin --db {db}")
    note = prepare_store(db)
    if note:
        click.echo(note, err=True)
    env = dict(os.environ, **{DB_ENV: str(db), SECRET_ENV: cookie_secret(db)})
    secrets_files = []
    if oidc is not None:
        oidc = oidc.resolve()
        click.echo(f"sign-in also through: {', '.join(oidc_settings(oidc))} ({oidc})", err=True)
        env[OIDC_ENV] = str(oidc)
        secrets_files = ["--secrets.files", str(oidc)]
    else:
        env.pop(OIDC_ENV, None)
    # the app imports `qa`; make it importable however callqa was installed
    root = str(dashboard_dir().parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    command = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.address", address, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--global.developmentMode", "false",
        "--client.toolbarMode", "minimal",  # no Deploy button, no developer menu
        "--server.enableXsrfProtection", "true", "--server.enableCORS", "true", *secrets_files,
    ]
    click.echo(f"callqa dashboard on http://{address}:{port}  (database {db})", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # become the server, so a service manager's stop signal reaches streamlit itself
    os.execve(sys.executable, command, env)


COMMANDS = [dashboard]
