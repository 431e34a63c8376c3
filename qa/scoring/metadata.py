"""The metadata CSV that comes with a day's recordings (from the telephony CDR).

Known columns: call_id, agent_id, team, started_at, direction, ring_seconds,
hangup_by (who put the phone down first, from the recorder or the CDR).
Other columns are kept as given (stored in calls.metadata_json). A bad row is
reported with its line number and skipped; its call is still scored, only
without metadata. A file that cannot be used at all raises MetadataError.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

__all__ = ["HANGUP_WORDS", "KNOWN_COLUMNS", "Metadata", "MetadataError", "MetadataProblem", "hangup_party",
           "load_metadata", "normalize_call_id"]

KNOWN_COLUMNS = ("call_id", "agent_id", "team", "started_at", "direction", "ring_seconds", "hangup_by")
DIRECTIONS = ("inbound", "outbound")
# The words recorders and CDR exports use for the party that hung up first.
HANGUP_WORDS = {"agent": ("agent", "坐席", "座席", "客服", "a"), "customer": ("customer", "caller", "客户", "用户", "c")}
# Every container the recorders write (qa/transcribe/audio.py reads them all);
# the batch's discovery, URL discovery and call ids all use this one list.
AUDIO_SUFFIXES = (
    ".wav", ".flac", ".mp3", ".ogg", ".opus", ".amr", ".awb", ".m4a", ".mp4", ".3gp", ".aac", ".gsm", ".webm",
)


class MetadataError(Exception):
    """The metadata file cannot be used at all (missing, unreadable, no call_id column)."""


@dataclass(frozen=True)
class MetadataProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class Metadata:
    path: str
    rows: dict[str, dict[str, str]] = field(default_factory=dict)
    problems: list[MetadataProblem] = field(default_factory=list)

    def row(self, call_id: str) -> dict[str, str]:
        return self.rows.get(call_id, {})


def normalize_call_id(value: str) -> str:
    """`day1\\c1.wav` and `day1/c1` name the same call."""
    text = value.strip().replace("\\", "/").strip("/")
    for suffix in AUDIO_SUFFIXES:
        if text.lower().endswith(suffix):
            return text[: -len(suffix)]
    return text


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MetadataError(f"{path}: cannot read metadata ({exc.strerror or exc})") from exc
    for encoding in ("utf-8-sig", "gb18030"):  # CDR exports from Chinese Excel are often GBK
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise MetadataError(f"{path}: metadata is neither UTF-8 nor GB18030 text")


def parse_started_at(value: str) -> datetime:
    return datetime.fromisoformat(value.strip().replace("/", "-"))


def hangup_party(value: str | None) -> str | None:
    """'agent' or 'customer' for a hangup_by value; None when empty or not one of HANGUP_WORDS."""
    word = (value or "").strip().lower()
    return next((party for party, words in HANGUP_WORDS.items() if word in words), None)


def _check(row: dict[str, str]) -> str | None:
    """The problem with one row, or None."""
    if not row.get("call_id"):
        return "empty call_id"
    if row.get("ring_seconds"):
        try:
            seconds = float(row["ring_seconds"])
        except ValueError:
            return f"ring_seconds {row['ring_seconds']!r} is not a number"
        if not math.isfinite(seconds) or seconds < 0:
            return f"ring_seconds {row['ring_seconds']!r} must be a number of seconds >= 0"
    if row.get("started_at"):
        try:
            parse_started_at(row["started_at"])
        except ValueError:
            return f"started_at {row['started_at']!r} is not a date and time (YYYY-MM-DD HH:MM:SS)"
    if row.get("direction") and row["direction"].lower() not in DIRECTIONS:
        return f"direction {row['direction']!r} must be one of {', '.join(DIRECTIONS)}"
    if row.get("hangup_by") and hangup_party(row["hangup_by"]) is None:
        words = ", ".join(w for ws in HANGUP_WORDS.values() for w in ws)
        return f"hangup_by {row['hangup_by']!r} must name the party that hung up ({words})"
    return None


def load_metadata(path: str | Path) -> Metadata:
    path = Path(path)
    text = _read_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "call_id" not in header:
        raise MetadataError(f"{path}: no call_id column (columns: {', '.join(header) or 'none'})")
    reader.fieldnames = header
    meta = Metadata(str(path))
    for record in reader:
        line = reader.line_num
        if None in record:
            meta.problems.append(MetadataProblem(line, f"{len(record[None])} more fields than the header"))
            continue
        row = {k: (v or "").strip() for k, v in record.items()}
        if not any(row.values()):
            continue  # blank line
        problem = _check(row)
        if problem is None:
            row["call_id"] = normalize_call_id(row["call_id"])
            if row["call_id"] in meta.rows:
                problem = f"call_id {row['call_id']!r} repeated (first row kept)"
        if problem is not None:
            meta.problems.append(MetadataProblem(line, problem))
            continue
        if row.get("direction"):
            row["direction"] = row["direction"].lower()
        if row.get("hangup_by"):
            row["hangup_by"] = hangup_party(row["hangup_by"])
        meta.rows[row["call_id"]] = row
    return meta
