"""Every rulebook that scored a call, stored by version: what the dashboard, reports
and `callqa explain` read instead of whatever rulebook is on disk today.

A run stores its rulebook (the files as read and the resolved settings) before
it stores the first score made with it, so every `scores.rulebook_version`
names a row here.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from qa.phrases.rulebook import Rulebook, rulebook_from_json
from qa.scoring.db import writing

__all__ = ["rulebook_diff", "rulebook_history", "rulebook_lines", "save_rulebook", "stored_rulebook",
           "store_rulebook"]


def save_rulebook(con: duckdb.DuckDBPyConnection, book: Rulebook) -> None:
    """Store `book` once per version (inside the caller's transaction)."""
    con.execute(
        "INSERT INTO rulebooks (version, name, sources_json, texts_json, resolved_json) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (version) DO NOTHING",
        [book.version, book.name, json.dumps(list(book.sources), ensure_ascii=False),
         json.dumps(list(book.texts), ensure_ascii=False), book.resolved_json()],
    )


def store_rulebook(db_path: str | Path, book: Rulebook) -> None:
    with writing(db_path) as con:
        save_rulebook(con, book)


def stored_rulebook(con: duckdb.DuckDBPyConnection, version: str) -> Rulebook | None:
    """The rulebook stored under `version`, rebuilt from its resolved settings; None if not stored."""
    row = con.execute("SELECT sources_json, texts_json, resolved_json FROM rulebooks WHERE version = ?",
                      [version]).fetchone()
    if row is None:
        return None
    sources, texts, resolved = row
    return rulebook_from_json(resolved, tuple(json.loads(sources)), tuple(json.loads(texts)))


def rulebook_history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every stored version, newest first, with how many calls it scores now."""
    return con.execute(
        """
        SELECT b.version, b.name, b.first_used_at, b.sources_json,
               (SELECT count(*) FROM scores s WHERE s.rulebook_version = b.version) AS calls
        FROM rulebooks b ORDER BY b.first_used_at DESC, b.version
        """
    ).df()


def _phrase_text(p: Any) -> str:
    extra = [p.severity] if p.severity != "major" else []
    extra += [f"roles={','.join(p.roles)}"] if p.roles else []
    extra += [f"exclusions={'/'.join(p.exclusions)}"] if p.exclusions else []
    return p.text + (f"  ({'; '.join(extra)})" if extra else "")


def rulebook_lines(book: Rulebook) -> list[str]:
    """The resolved settings as sorted `key = value` lines: what a diff compares."""
    lines = [f"name = {book.name}"]
    if book.scorecard:
        lines += [f"scorecard.{k} = {v}" for k, v in vars(book.scorecard).items()]
    lines += [f"slots.{k} = {', '.join(v)}" for k, v in sorted(book.slots.items())]
    for rid, rule in sorted(book.rules.items()):
        head = f"rules.{rid}"
        lines += [f"{head}.{k} = {getattr(rule, k)}" for k in
                  ("kind", "title", "enabled", "points", "critical", "severity", "roles", "source")]
        lines += [f"{head}.params.{k} = {v}" for k, v in sorted(rule.params.items())]
        lines += [f"{head}.phrases.{group}: {_phrase_text(p)}" for group, items in sorted(rule.phrases.items())
                  for p in items]
    return lines


def rulebook_diff(old: Rulebook, new: Rulebook) -> str:
    """A unified diff of two versions' resolved settings; empty when they are the same."""
    return "\n".join(difflib.unified_diff(rulebook_lines(old), rulebook_lines(new), fromfile=old.version,
                                          tofile=new.version, lineterm="", n=0))
