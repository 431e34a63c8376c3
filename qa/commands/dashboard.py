"""`callqa dashboard`: serve the review dashboard on localhost."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from qa.scoring.db import StoreBusyError, StoreError, writing
from qa.scoring.queries import ensure_indexes

DB_ENV = "CALLQA_DB"  # the app reads the database path from here


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
@click.option("--address", default="127.0.0.1", show_default=True, help="Interface to listen on.")
def dashboard(db: Path, port: int, address: str) -> None:
    """Serve the review dashboard (overview, calls, call detail, phrase library, rulebook)."""
    app = dashboard_dir() / "app.py"
    if not app.is_file():
        raise click.ClickException(f"{app}: dashboard app not found; run from a callqa checkout")
    db = db.resolve()
    note = prepare_store(db)
    if note:
        click.echo(note, err=True)
    env = dict(os.environ, **{DB_ENV: str(db)})
    # the app imports `qa`; make it importable however callqa was installed
    root = str(dashboard_dir().parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    command = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.address", address, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--global.developmentMode", "false",
        "--client.toolbarMode", "minimal",  # no Deploy button, no developer menu
    ]
    click.echo(f"callqa dashboard on http://{address}:{port}  (database {db})", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # become the server, so a service manager's stop signal reaches streamlit itself
    os.execve(sys.executable, command, env)


COMMANDS = [dashboard]
