"""The nightly batch: find recordings, score the new ones, store each as it finishes.

Incremental: a call is transcribed again when anything that made its stored
transcript changed (the audio's sha256, its metadata row, the ASR or signal
options, the model's weights, callqa's version), only re-run through the rules
when just the rulebook changed, and skipped when nothing did; errored files
are retried. The summary says which, and why.
Resumable: every finished call is committed on its own, so after a crash (or
kill -9) a rerun only scores what is missing. The store is opened per call
write and closed again, so the dashboard can read while the batch runs.
A broken link or an unreadable entry in the folder is an error row naming it;
files that are not audio by their name are counted and named in the summary.
A call stored as two files (`{call}_agent.wav` and `{call}_customer.wav` by
default, `LegPattern`) is paired and scored as one stereo call; a leg without
its pair is scored alone and named in the summary.

Scoring runs through an `Engine`: `LocalEngine` uses this process or a local
process pool; a cluster engine only has to implement `map`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol

from qa.records import CallResult, Provenance, TranscribeOptions
from qa.scoring import store
from qa.scoring.metadata import AUDIO_SUFFIXES, Metadata, MetadataProblem
from qa.scoring.rulebooks import store_rulebook
from qa.scoring.score import init_worker, legs_sha256, preload
from qa.scoring.scorecard import ScoreTally
from qa.scoring.sources import SourceError, discover_urls, is_url, score_source, sha256_of
from qa.scoring.verdicts import Carried
from qa.transcribe.legs import Legs

log = logging.getLogger("callqa.batch")

__all__ = ["BatchError", "BatchSummary", "Discovered", "Engine", "LegPattern", "LocalEngine", "Plan", "ScoreTask",
           "discover", "failed_result", "find_recordings", "pair_legs", "plan", "run_batch", "run_task"]


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
    signal_options: Any = None  # qa.transcribe.activity.SignalOptions; None: the defaults
    model_dir: str | None = None  # where the embedded model is assembled (not a result input)
    legs: Legs | None = None  # a call stored as two files; `path` is then the agent's
    verify: bool = True  # the checks may ask the audio about lines in doubt (qa.transcribe.verify)


class Engine(Protocol):
    def map(self, tasks: Iterable[ScoreTask]) -> Iterator[CallResult]:
        """Score every task; yield results in any order as they finish."""
        ...


ScoreFn = Callable[..., CallResult]


def run_task(score_fn: ScoreFn, task: ScoreTask) -> CallResult:
    """`score_fn` (score_source, or a stand-in) over one task; every engine calls it so."""
    return score_fn(task.path, task.call_id, dict(task.metadata), task.rulebook, task.options,
                    signal_options=task.signal_options, model_dir=task.model_dir, legs=task.legs, verify=task.verify)


def failed_result(task: ScoreTask, why: str) -> CallResult:
    """The error row of a task that gave no result of its own (its process died, its file is unreadable)."""
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
        first = tasks[0]
        initargs = (first.options, self.threads, first.signal_options, first.model_dir)
        if self.workers == 1:
            if self.initializer is not None:
                preload(*initargs)  # this process: load the model, leave its environment alone
            for task in tasks:
                yield run_task(self.score_fn, task)
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
                        running[pool.submit(run_task, self.score_fn, task)] = task
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for fut in done:
                        task = running.pop(fut)
                        yield fut.result()
            except BrokenProcessPool:
                # A worker died (out of memory, a crashing decoder): its calls are
                # recorded as errors and a fresh pool takes the rest.
                for fut, task in running.items():
                    if not fut.done() or fut.exception() is not None:
                        yield failed_result(task, "the scoring process died (out of memory?)")
                    else:
                        yield fut.result()
                running.clear()
            finally:
                pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class LegPattern:
    """How the two files of one call are named: `{call}` stands for the call's name."""

    agent: str = "{call}_agent"
    customer: str = "{call}_customer"

    @classmethod
    def parse(cls, text: str) -> "LegPattern | None":
        """`AGENT,CUSTOMER` patterns, or `none` for no pairing."""
        if text.strip().lower() == "none":
            return None
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 2 or any(p.count("{call}") != 1 for p in parts) or parts[0] == parts[1]:
            raise ValueError(f"{text!r}: give two different name patterns with {{call}}, e.g. "
                             f"{{call}}_agent,{{call}}_customer (or none)")
        return cls(*parts)

    def _regex(self, pattern: str) -> re.Pattern:
        return re.compile("^" + re.escape(pattern).replace(re.escape("{call}"), "(?P<call>.+)") + "$")

    def side(self, stem: str) -> tuple[str, str] | None:
        """("agent" or "customer", the call's name) when `stem` is named as a leg."""
        for role, pattern in (("agent", self.agent), ("customer", self.customer)):
            found = self._regex(pattern).match(stem)
            if found:
                return role, found.group("call")
        return None


@dataclass
class Discovered:
    """What a folder holds: recordings, entries that cannot be read, and files that are not audio."""

    calls: list[tuple[str, Path | str | Legs]] = field(default_factory=list)  # (call_id, path, URL or legs)
    unreadable: list[tuple[str, str, str]] = field(default_factory=list)  # (call_id, path, why)
    not_audio: list[str] = field(default_factory=list)  # paths relative to the folder
    unpaired: list[str] = field(default_factory=list)  # legs without their pair (scored alone)


def pair_legs(found: Discovered, pattern: LegPattern) -> None:
    """Join the two legs of each call into one entry named after the call; a lone leg stays itself."""
    legs: dict[tuple[str, str], dict[str, tuple[str, Path]]] = {}
    for call_id, path in found.calls:
        folder, _, stem = call_id.rpartition("/")
        side = pattern.side(stem)
        if side is not None:
            legs.setdefault((folder, side[1]), {})[side[0]] = (call_id, path)
    paired: set[str] = set()
    calls = []
    for (folder, name), sides in legs.items():
        if len(sides) == 2:
            call_id = f"{folder}/{name}" if folder else name
            calls.append((call_id, Legs(str(sides["agent"][1]), str(sides["customer"][1]))))
            paired |= {sides["agent"][0], sides["customer"][0]}
        else:
            found.unpaired.append(next(iter(sides.values()))[0])
    found.calls = sorted(calls + [c for c in found.calls if c[0] not in paired], key=lambda c: c[0])


def find_recordings(directory: str | Path, legs: LegPattern | None = None) -> Discovered:
    """Every recording under `directory` (a folder or a URL), sorted by call_id, and what else is there;
    with `legs`, the two files of a call stored as two legs are one entry."""
    if is_url(str(directory)):
        try:
            return Discovered([(c.call_id, c.url) for c in discover_urls(str(directory))])
        except SourceError as exc:
            raise BatchError(str(exc)) from exc
    root = Path(directory)
    if not root.is_dir():
        raise BatchError(f"{directory}: no such folder")
    out = Discovered()

    def unreadable_folder(exc: OSError) -> None:
        where = Path(exc.filename or root)
        rel = where.relative_to(root).as_posix() if where.is_relative_to(root) else str(where)
        out.unreadable.append((rel, str(where), f"cannot read this folder ({exc.strerror or exc})"))

    for folder, dirs, files in os.walk(root, onerror=unreadable_folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue  # partial uploads, editor files
            path = Path(folder) / name
            rel = path.relative_to(root)
            call_id = rel.with_suffix("").as_posix()
            if path.suffix.lower() not in AUDIO_SUFFIXES:
                out.not_audio.append(rel.as_posix())
            elif path.is_symlink() and not path.exists():
                out.unreadable.append((call_id, str(path), f"broken link (to {os.readlink(path)})"))
            elif not path.is_file():
                out.unreadable.append((call_id, str(path), "not a regular file"))
            elif not os.access(path, os.R_OK):
                out.unreadable.append((call_id, str(path), "permission denied"))
            else:
                out.calls.append((call_id, path.resolve()))
    out.calls.sort()
    if legs is not None:
        pair_legs(out, legs)
    return out


def discover(directory: str | Path) -> list[tuple[str, Path | str]]:
    """(call_id, path or URL) of every readable recording under `directory`, sorted by call_id."""
    return find_recordings(directory).calls


@dataclass
class BatchSummary(ScoreTally):
    found: int = 0
    scored: int = 0  # transcribed and scored
    rescored: int = 0  # run through the rules again on the stored transcript: only the rulebook changed
    skipped: int = 0
    why: dict[str, int] = field(default_factory=dict)  # why calls were transcribed: reason -> count
    errors: list[tuple[str, str]] = field(default_factory=list)  # (file, problem)
    not_audio: list[str] = field(default_factory=list)  # files skipped as not audio by their name
    unpaired: list[str] = field(default_factory=list)  # call legs without their pair, scored alone
    metadata_problems: list[MetadataProblem] = field(default_factory=list)
    verdicts: Carried = field(default_factory=Carried)  # verdicts kept on their findings, and detached ones
    audio_s: float = 0.0
    elapsed_s: float = 0.0
    heard: int = 0  # readings the checks asked the audio about, scored
    unheard: int = 0  # readings asked that no audio answered: judged by text alone
    redact_at_rest: bool = False  # only masked text was stored

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
        self.heard += len(result.heard)
        self.unheard += result.unheard
        if result.transcript is not None:
            self.audio_s += result.transcript.duration_s


@dataclass
class Plan:
    """What a run does with each recording found."""

    transcribe: list[ScoreTask] = field(default_factory=list)
    rescore: list[str] = field(default_factory=list)  # call ids whose stored transcript is current
    skipped: int = 0
    why: dict[str, int] = field(default_factory=dict)  # why each of `transcribe` is transcribed


def _why(old: store.Fingerprint | None, options: str | None, provenance: Provenance, meta: str | None,
         force: bool) -> str | None:
    """Why the stored transcript cannot be reused (None: it can, the audio hash aside)."""
    if force:
        return "forced"
    if old is None:
        return "new"
    if old.status != "scored":
        return "retry after error"
    if old.metadata_json != meta:
        return "metadata changed"
    if old.options_json != options:
        return "ASR options changed"
    if old.signal_options_json != provenance.signal_options_json:
        return "signal options changed"
    if (old.model_name, old.model_sha256) != (provenance.model_name, provenance.model_sha256):
        return "model changed"
    if old.callqa_version != provenance.callqa_version:
        return "callqa version changed"
    return None


def plan(found: list[tuple[str, Path]], prints: Mapping[str, store.Fingerprint], metadata: Metadata | None,
         rulebook: Any, options: TranscribeOptions, force: bool = False, *, signal_options: Any = None,
         model_dir: str | None = None, verify: bool = True) -> Plan:
    """Which recordings to transcribe (and why), which only to rescore, how many are up to date."""
    from qa.transcribe.activity import SignalOptions
    from qa.transcribe.pipeline import provenance_for

    signal_options = signal_options or SignalOptions()
    provenance = provenance_for(options, signal_options)
    wanted_options = store.options_json(options)
    out = Plan()
    for call_id, path in found:
        row = metadata.row(call_id) if metadata else {}
        old = prints.get(call_id)
        why = _why(old, wanted_options, provenance, store.metadata_json(row), force)
        if why is None:
            try:
                same_audio = _content_hash(path) == old.sha256
            except (OSError, SourceError):
                same_audio = False  # unreadable now: transcribe it, and the error is recorded
            if same_audio:
                if old.rulebook_version == rulebook.version and bool(old.verify) == verify:
                    out.skipped += 1
                else:
                    out.rescore.append(call_id)
                continue
            why = "audio changed"
        out.why[why] = out.why.get(why, 0) + 1
        leg_pair = path if isinstance(path, Legs) else None
        out.transcribe.append(ScoreTask(leg_pair.agent if leg_pair else str(path), call_id, dict(row), rulebook,
                                        options, signal_options, model_dir, leg_pair, verify))
    return out


def _content_hash(location: Path | str | Legs) -> str:
    return legs_sha256(location.agent, location.customer) if isinstance(location, Legs) else sha256_of(location)


def run_batch(directory: str | Path, db_path: str | Path, *, rulebook: Any, options: TranscribeOptions | None = None,
              metadata: Metadata | None = None, workers: int = 1, engine: Engine | None = None,
              on_start: Callable[[int], None] | None = None,
              on_result: Callable[[CallResult], None] | None = None, force: bool = False,
              signal_options: Any = None, model_dir: str | None = None,
              legs: LegPattern | None = LegPattern(), verify: bool = True,
              redact_at_rest: bool = False) -> BatchSummary:
    """Score every new or changed recording under `directory` into `db_path`.

    `legs`: how the two files of a call stored as two legs are named (None: no pairing);
    `verify`: the checks may ask the audio about lines in doubt (off: text alone);
    `redact_at_rest`: store masked text only (a store that was once written so stays so)."""
    from qa.scoring.rescore import rescore_calls

    started = time.monotonic()
    options = options or TranscribeOptions()
    found = find_recordings(directory, legs)
    try:
        prints = store.fingerprints(db_path)
        store.ensure_store(db_path)  # a bad path fails here, before any work
        store_rulebook(db_path, rulebook)  # before the first score made with it
        redact_at_rest = redact_at_rest or store.redacts_at_rest(db_path)
    except Exception as exc:
        raise BatchError(f"{db_path}: cannot use the database ({exc})") from exc
    work = plan(found.calls, prints, metadata, rulebook, options, force, signal_options=signal_options,
                model_dir=model_dir, verify=verify)
    summary = BatchSummary(found=len(found.calls) + len(found.unreadable), skipped=work.skipped, why=work.why,
                           not_audio=found.not_audio, unpaired=found.unpaired,
                           metadata_problems=list(metadata.problems) if metadata else [],
                           redact_at_rest=redact_at_rest)
    for call_id, path, why in found.unreadable:
        row = metadata.row(call_id) if metadata else {}
        result = failed_result(ScoreTask(path, call_id, row, rulebook, options), why)
        store.save_call(db_path, result)
        summary.add(result)
    if work.rescore:
        rescored = rescore_calls(db_path, rulebook, work.rescore, verify=verify, model_dir=model_dir)
        summary.rescored = rescored.rescored
        summary.heard += rescored.heard
        summary.unheard += rescored.unheard
        summary.scores += rescored.scores
        summary.passed += rescored.passed
        summary.errors += rescored.errors
        summary.verdicts.extend(rescored.verdicts)
    if on_start:
        on_start(len(work.transcribe))
    engine = engine or LocalEngine(workers)
    for result in engine.map(work.transcribe):
        summary.verdicts.extend(store.save_call(db_path, result, options, redact_at_rest))
        summary.add(result)
        if on_result:
            on_result(result)
    summary.elapsed_s = time.monotonic() - started
    return summary
