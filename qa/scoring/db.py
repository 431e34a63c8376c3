"""Opening the DuckDB store: schema, migrations, and sharing the file.

DuckDB lets one process hold a file for writing, and no other process may
open it meanwhile, not even to read. The batch therefore never keeps the
file open: it opens, writes one call in one transaction, and closes. Readers
(the dashboard, reports) open read-only and retry while a writer holds the
lock, so a user waits a fraction of a second instead of seeing a lock error.
"""

from __future__ import annotations

import logging
import random
import time
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Iterator

import duckdb

log = logging.getLogger("callqa.db")

SCHEMA_VERSION = 6
DEFAULT_TIMEOUT_S = 30.0


class StoreError(Exception):
    """The store cannot be used; the message says which file and why."""


class StoreBusyError(StoreError):
    """Another process kept the database locked for longer than the timeout."""


def _is_lock_conflict(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflict" in text or "could not set" in text)


def connect(path: str | Path, *, read_only: bool = False, timeout_s: float = DEFAULT_TIMEOUT_S) -> duckdb.DuckDBPyConnection:
    """Open `path`, waiting up to `timeout_s` while another process holds it."""
    path = str(path)
    if read_only and path != ":memory:" and not Path(path).exists():
        raise StoreError(f"{path}: no such database; score some calls first (callqa score DIR --db {path})")
    deadline = time.monotonic() + timeout_s
    delay = 0.02
    while True:
        try:
            con = duckdb.connect(path, read_only=read_only)
            break
        except (duckdb.IOException, duckdb.Error) as exc:
            if not _is_lock_conflict(exc):
                raise StoreError(f"{path}: {exc}") from exc
            if time.monotonic() >= deadline:
                raise StoreBusyError(f"{path}: still locked by another process after {timeout_s:.0f} s") from exc
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.5)
    if not read_only:
        migrate(con)
    return con


@contextmanager
def reading(path: str | Path, timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short read-only session; closed on exit so writers are not blocked."""
    con = connect(path, read_only=True, timeout_s=timeout_s)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def writing(path: str | Path, timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short write session in one transaction: all of it lands or none of it."""
    con = connect(path, read_only=False, timeout_s=timeout_s)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    finally:
        con.close()


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_info'"
    ).fetchone()[0]
    if not exists:
        return 0
    row = con.execute("SELECT max(version) FROM schema_info").fetchone()
    return int(row[0] or 0)


# Each entry upgrades the schema from version N-1 to N. Version 1 is the base schema.
MIGRATIONS: dict[int, str] = {version: f"schema_v{version}.sql" for version in range(2, SCHEMA_VERSION + 1)}


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise StoreError(
            f"database schema version {current} is newer than this callqa ({SCHEMA_VERSION}); upgrade callqa"
        )
    if current == SCHEMA_VERSION:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        if current == 0:
            con.execute(resources.files("qa.scoring").joinpath("schema.sql").read_text("utf-8"))
            current = 1
            con.execute("INSERT INTO schema_info (version) VALUES (1)")
        for version in range(current + 1, SCHEMA_VERSION + 1):
            con.execute(resources.files("qa.scoring").joinpath(MIGRATIONS[version]).read_text("utf-8"))
            con.execute("INSERT INTO schema_info (version) VALUES (?)", [version])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    log.info("database schema at version %d", SCHEMA_VERSION)
