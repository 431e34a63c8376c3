"""Training examples: each finding of one rule as a padded WAV clip plus a CSV index.

A trainer plays the clips in a session; the CSV says whose call, when, what
was said. Personal numbers are masked in the text and toned over in the
audio. A finding whose recording is gone is listed with the problem and the
others are still exported; a call id that is not a safe file name is
neutralised (`clips.safe_stem`) and reported.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from qa.scoring.clips import ClipError, clip_name, cut_clip
from qa.scoring.db import reading

__all__ = ["ExportSummary", "export_examples"]

CSV_NAME = "examples.csv"
CSV_FIELDS = ("call_id", "agent_id", "team", "started_at", "start_s", "end_s", "rule_id", "text",
              "matched_phrase", "severity", "finding_id", "clip", "problem")


@dataclass
class ExportSummary:
    csv_path: Path
    clips: int = 0
    problems: list[str] = field(default_factory=list)


def export_examples(db_path: str | Path, rule_id: str, out_dir: str | Path, *, pad_s: float = 1.0) -> ExportSummary:
    """Write clips of every finding of `rule_id` into `out_dir` with `examples.csv`."""
    with reading(db_path) as con:
        rows = con.execute(
            "SELECT f.call_id, c.agent_id, c.team, c.started_at, f.start_s, f.end_s, f.rule_id, "
            "coalesce(f.evidence_redacted, f.evidence), f.matched_phrase, f.severity, f.finding_id, c.path "
            "FROM findings f JOIN calls c USING (call_id) WHERE f.rule_id = ? ORDER BY c.agent_id, f.call_id, f.start_s",
            [rule_id],
        ).fetchall()
        hidden: dict[str, list[tuple[float, float]]] = {}
        for call_id, start, end in con.execute(
                "SELECT call_id, start_s, end_s FROM pii_spans WHERE call_id IN "
                "(SELECT call_id FROM findings WHERE rule_id = ?)", [rule_id]).fetchall():
            hidden.setdefault(call_id, []).append((start, end))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = ExportSummary(out / CSV_NAME)
    with open(summary.csv_path, "w", newline="", encoding="utf-8-sig") as fh:  # BOM: spreadsheets read UTF-8
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for n, (call_id, agent, team, started, start, end, rid, text, phrase, severity, fid, path) in enumerate(rows, 1):
            (name, changed), problem = clip_name(n, call_id, start, width=4), ""
            if changed:
                summary.problems.append(f"call id {call_id!r} is not a safe file name; its clip is named {name}")
            try:
                (out / name).write_bytes(cut_clip(path, start, end, pad_s, hidden.get(call_id, ())))
                summary.clips += 1
            except ClipError as exc:
                name, problem = "", str(exc)
                summary.problems.append(problem)
            writer.writerow({
                "call_id": call_id, "agent_id": agent or "", "team": team or "",
                "started_at": started.isoformat(sep=" ") if started else "", "start_s": f"{start:.2f}",
                "end_s": f"{end:.2f}", "rule_id": rid, "text": text or "", "matched_phrase": phrase or "",
                "severity": severity or "", "finding_id": fid, "clip": name, "problem": problem,
            })
    return summary
