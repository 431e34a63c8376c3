"""The nightly batch: find recordings, score the new ones, store each as it finishes.

Incremental: a file whose sha256, rulebook version, transcription options and
metadata match its stored, scored row is skipped; errored files are retried.
Resumable: every finished call is committed on its own, so after a crash (or
kill -9) a rerun only scores what is missing. The store is opened per call
write and closed again, so the dashboard can read while the batch runs.

Scoring runs through an `Engine`: `LocalEngine` uses this process or a local
process pool; a cluster engine only has to implement `map`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol

from qa.records import CallResult, TranscribeOptions
from qa.scoring import store
from qa.scoring.metadata import AUDIO_SUFFIXES, Metadata, MetadataProblem
from qa.scoring.score import init_worker
from qa.scoring.scorecard import ScoreTally
from qa.scoring.sources import SourceError, discover_urls, is_url, score_source, sha256_of

log = logging.getLogger("callqa.batch")

__all__ = ["BatchError", "BatchSummary", "Engine", "LocalEngine", "ScoreTask", "discover", "plan", "run_batch"]


class BatchError(Exception):
    """The run itself cannot go on (bad folder, unusable store); per-file problems are not this."""


@dataclass(frozen=True)
class ScoreTask:
    """One call to score; every field pickles, so any engine can ship it."""

    path: str
    call_id: str
    metadata: Mapping[str, str]
    rulebook: Any
    options: TranscribeOptions


class Engine(Protocol):
    def map(self, tasks: Iterable[ScoreTask]) -> Iterator[CallResult]:
        """Score every task; yield results in any order as they finish."""
        ...


ScoreFn = Callable[..., CallResult]


def _run_task(score_fn: ScoreFn, task: ScoreTask) -> CallResult:
    return score_fn(task.path, task.call_id, dict(task.metadata), task.rulebook, task.options)


def _died(task: ScoreTask, why: str) -> CallResult:
    return CallResult(task.call_id, task.path, "", None, status="error", error=f"{task.path}: {why}",
                      rulebook_version=task.rulebook.version, metadata=dict(task.metadata))


class LocalEngine:
    """This process (workers=1) or a pool of `workers` processes, each loading the model once."""

    def __init__(self, workers: int = 1, *, score_fn: ScoreFn = score_source,
                 initializer: Callable[..., None] | None = init_worker, threads: int | None = None):
        self.workers = max(1, int(workers))
        self.score_fn = score_fn
        self.initializer = initializer
        cores = os.cpu_count() or 1
        self.threads = threads or max(1, cores // self.workers)

    def map(self, tasks: Iterable[ScoreTask]) -> Iterator[CallResult]:
        tasks = list(tasks)
        if not tasks:
            return
        initargs = (tasks[0].options, self.threads)
        if self.workers == 1:
            if self.initializer is not None:
                self.initializer(*initargs)
            for task in tasks:
                yield _run_task(self.score_fn, task)
            return
        yield from self._pool_map(tasks, initargs)

    def _pool_map(self, tasks: list[ScoreTask], initargs: tuple) -> Iterator[CallResult]:
        queue = list(reversed(tasks))
        while queue:
            # spawn, not fork: a process that has already run the model hangs in a forked child's encode().
            pool = ProcessPoolExecutor(self.workers, initializer=self.initializer, initargs=initargs,
                                       mp_context=multiprocessing.get_context("spawn"))
            running: dict[Future, ScoreTask] = {}
            try:
                while queue or running:
                    while queue and len(running) < 2 * self.workers:  # bounded: results stream out
                        task = queue.pop()
                        running[pool.submit(_run_task, self.score_fn, task)] = task
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for fut in done:
                        task = running.pop(fut)
                        yield fut.result()
            except BrokenProcessPool:
                # A worker died (out of memory, a crashing decoder): its calls are
                # recorded as errors and a fresh pool takes the rest.
                for fut, task in running.items():
                    if not fut.done() or fut.exception() is not None:
                        yield _died(task, "the scoring process died (out of memory?)")
                    else:
                        yield fut.result()
                running.clear()
            finally:
                pool.shutdown(wait=True, cancel_futures=True)


def discover(directory: str | Path) -> list[tuple[str, Path | str]]:
    """(call_id, path or URL) of every recording under `directory` (a folder or a URL), sorted by call_id."""
    if is_url(str(directory)):
        try:
            return [(c.call_id, c.url) for c in discover_urls(str(directory))]
        except SourceError as exc:
            raise BatchError(str(exc)) from exc
    root = Path(directory)
    if not root.is_dir():
        raise BatchError(f"{directory}: no such folder")
    found = []
    for path in root.rglob("*"):
        if path.suffix.lower() in AUDIO_SUFFIXES and path.is_file() and not path.name.startswith("."):
            found.append((path.relative_to(root).with_suffix("").as_posix(), path.resolve()))
    return sorted(found)


@dataclass
class BatchSummary(ScoreTally):
    found: int = 0
    scored: int = 0
    skipped: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (file, problem)
    metadata_problems: list[MetadataProblem] = field(default_factory=list)
    audio_s: float = 0.0
    elapsed_s: float = 0.0

    @property
    def audio_hours_per_wall_hour(self) -> float | None:
        return self.audio_s / self.elapsed_s if self.elapsed_s > 0 and self.audio_s else None

    def add(self, result: CallResult) -> None:
        if result.status != "scored":
            self.errors.append((result.path, result.error or "unknown error"))
            return
        self.scored += 1
        self.scores.append(float(result.score or 0.0))
        self.passed += bool(result.passed)
        if result.transcript is not None:
            self.audio_s += result.transcript.duration_s


def plan(found: list[tuple[str, Path]], prints: Mapping[str, store.Fingerprint], metadata: Metadata | None,
         rulebook: Any, options: TranscribeOptions, force: bool = False) -> tuple[list[ScoreTask], int]:
    """Tasks for the files that need scoring, and how many are up to date."""
    wanted_options = store.options_json(options)
    tasks, skipped = [], 0
    for call_id, path in found:
        row = metadata.row(call_id) if metadata else {}
        old = prints.get(call_id)
        if old is not None and not force and old.status == "scored" and old.rulebook_version == rulebook.version \
                and old.options_json == wanted_options and old.metadata_json == store.metadata_json(row):
            try:
                if sha256_of(path) == old.sha256:
                    skipped += 1
                    continue
            except (OSError, SourceError):
                pass  # unreadable now: score it, and the error is recorded
        tasks.append(ScoreTask(str(path), call_id, dict(row), rulebook, options))
    return tasks, skipped


def run_batch(directory: str | Path, db_path: str | Path, *, rulebook: Any, options: TranscribeOptions | None = None,
              metadata: Metadata | None = None, workers: int = 1, engine: Engine | None = None,
              on_start: Callable[[int], None] | None = None,
              on_result: Callable[[CallResult], None] | None = None, force: bool = False) -> BatchSummary:
    """Score every new or changed recording under `directory` into `db_path`."""
    started = time.monotonic()
    options = options or TranscribeOptions()
    found = discover(directory)
    try:
        prints = store.fingerprints(db_path)
        store.ensure_store(db_path)  # a bad path fails here, before any work
    except Exception as exc:
        raise BatchError(f"{db_path}: cannot use the database ({exc})") from exc
    tasks, skipped = plan(found, prints, metadata, rulebook, options, force)
    summary = BatchSummary(found=len(found), skipped=skipped,
                           metadata_problems=list(metadata.problems) if metadata else [])
    if on_start:
        on_start(len(tasks))
    engine = engine or LocalEngine(workers)
    for result in engine.map(tasks):
        store.save_call(db_path, result, options)
        summary.add(result)
        if on_result:
            on_result(result)
    summary.elapsed_s = time.monotonic() - started
    return summary
