"""`callqa users add|list|disable|enable|passwd|identity`: the dashboard's accounts."""

from __future__ import annotations

from pathlib import Path

import click

from qa.access import accounts as acc
from qa.access.audit import record
from qa.access.roles import ROLES
from qa.scoring.db import StoreError, writing

DB_OPTION = click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path),
                         help="The DuckDB file the dashboard serves.")
# who the CLI acts as in the audit log: whoever can write the database file
CLI_ACTOR = "callqa users (command line)"


def _new_password(from_stdin: bool) -> str:
    """One line of standard input (scripts), or typed twice at a prompt that does not echo."""
    if from_stdin:
        return click.get_text_stream("stdin").readline().rstrip("\n")
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


def _change(db: Path, action, audit_action: str, name: str) -> None:
    try:
        with writing(db) as con:
            action(con)
            record(con, CLI_ACTOR, audit_action, detail=name)
    except acc.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def users() -> None:
    """Accounts that may sign in to the dashboard (once one exists, every visitor must)."""


@users.command("add")
@DB_OPTION
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(list(ROLES)), help="What the account may see and do.")
@click.option("--team", help="A team lead's team (as in the metadata's team column).")
@click.option("--identity", help="The e-mail (or subject id) the identity provider signs NAME in as (dashboard --oidc).")
@click.option("--no-password", is_flag=True, help="Sign in only through the identity provider (needs --identity).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def add(db: Path, name: str, role: str, team: str | None, identity: str | None, no_password: bool,
        password_stdin: bool) -> None:
    """Add account NAME."""
    if no_password and not identity:
        raise click.UsageError("--no-password needs --identity: the account could not sign in at all")
    password = None if no_password else _new_password(password_stdin)
    _change(db, lambda con: acc.add_account(con, name, role, password, team, identity), "account_added", name)
    click.echo(f"added {name} ({role}{', team ' + team if team else ''}{', identity ' + identity if identity else ''})")


@users.command("identity")
@DB_OPTION
@click.argument("name")
@click.argument("identity", required=False)
def identity_(db: Path, name: str, identity: str | None) -> None:
    """Link NAME to the identity provider's IDENTITY (an e-mail or subject id); without IDENTITY, unlink."""
    _change(db, lambda con: acc.set_identity(con, name, identity), "identity_changed", name)
    click.echo(f"{name} signs in through the identity provider as {identity}" if identity
               else f"{name} no longer signs in through the identity provider")


@users.command("passwd")
@DB_OPTION
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def passwd(db: Path, name: str, password_stdin: bool) -> None:
    """Set a new password for NAME."""
    password = _new_password(password_stdin)
    _change(db, lambda con: acc.set_password(con, name, password), "password_changed", name)
    click.echo(f"password of {name} changed")


@users.command("disable")
@DB_OPTION
@click.argument("name")
def disable(db: Path, name: str) -> None:
    """Stop NAME from signing in (the account and its verdicts stay)."""
    _set_disabled(db, name, True)


@users.command("enable")
@DB_OPTION
@click.argument("name")
def enable(db: Path, name: str) -> None:
    """Let a disabled NAME sign in again."""
    _set_disabled(db, name, False)


def _set_disabled(db: Path, name: str, disabled: bool) -> None:
    word = "disabled" if disabled else "enabled"
    _change(db, lambda con: acc.set_disabled(con, name, disabled), f"account_{word}", name)
    click.echo(f"{name} {word}")


@users.command("list")
@DB_OPTION
def list_(db: Path) -> None:
    """Every account: name, role, team, identity, state."""
    if not db.exists():
        raise click.ClickException(f"{db}: no such database")
    try:
        with writing(db) as con:  # an older store gets its accounts table first
            rows = acc.accounts(con)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    if rows.empty:
        click.echo("no accounts: the dashboard serves localhost only, without sign-in")
    for r in rows.itertuples(index=False):
        click.echo(f"{r.name}\t{r.role}\t{r.team or '-'}\t{r.identity or '-'}\t{'disabled' if r.disabled else 'enabled'}")


COMMANDS = [users]
