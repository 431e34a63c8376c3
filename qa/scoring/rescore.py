"""Re-applying the rules to stored transcripts and timelines, without audio or ASR.

After a rulebook change every stored call is scored again in seconds. Results
are written in chunks, each chunk one transaction of whole calls, with the
file closed between chunks so readers get their turn.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from qa.records import CallResult
from qa.scoring import store
from qa.scoring.score import rescore_transcript

log = logging.getLogger("callqa.rescore")

__all__ = ["RescoreSummary", "run_rescore"]

CHUNK = 500


@dataclass
class RescoreSummary:
    rescored: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (call_id, problem)
    scores: list[float] = field(default_factory=list)
    passed: int = 0
    elapsed_s: float = 0.0

    @property
    def mean_score(self) -> float | None:
        return sum(self.scores) / len(self.scores) if self.scores else None

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.rescored if self.rescored else None

    @property
    def calls_per_second(self) -> float | None:
        return self.rescored / self.elapsed_s if self.elapsed_s > 0 else None


def run_rescore(db_path: str | Path, rulebook: Any, *, chunk: int = CHUNK,
                on_result: Callable[[CallResult], None] | None = None) -> RescoreSummary:
    started = time.monotonic()
    summary = RescoreSummary()
    pending: list[CallResult] = []
    for stored in store.iter_stored_calls(db_path):
        try:
            result = rescore_transcript(stored, rulebook)
        except Exception as exc:  # a stored call the rules cannot read keeps its old score
            log.debug("rescoring %s failed", stored.call_id, exc_info=True)
            summary.errors.append((stored.call_id, f"{type(exc).__name__}: {exc}"))
            continue
        pending.append(result)
        summary.rescored += 1
        summary.scores.append(float(result.score or 0.0))
        summary.passed += bool(result.passed)
        if on_result:
            on_result(result)
        if len(pending) >= chunk:
            store.save_rescored(db_path, pending)
            pending = []
    store.save_rescored(db_path, pending)
    summary.elapsed_s = time.monotonic() - started
    return summary
