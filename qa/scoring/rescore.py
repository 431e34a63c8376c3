"""Re-applying the rules to stored transcripts and timelines, without audio or ASR.

After a rulebook change every stored call is scored again in seconds. The
calls are read a chunk at a time in two bulk queries, the rules run (in this
process, or in forked workers with `workers`), and each chunk's results are written in one
transaction of whole calls, with the file closed between chunks so readers get
their turn: after a crash every call is wholly old-version or new-version, and
its `rulebook_version` says which. With workers, this process writes one
chunk while they score the next. The matcher reuses its work on utterance
texts it has seen before (greetings and closings repeat across calls).
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from qa.phrases.matcher import prepare, reuse_utterance_work
from qa.records import CallResult
from qa.scoring import store
from qa.scoring.hearing import Hearing
from qa.scoring.rulebooks import store_rulebook
from qa.scoring.score import rescore_transcript
from qa.scoring.scorecard import ScoreTally
from qa.scoring.verdicts import Carried

log = logging.getLogger("callqa.rescore")

__all__ = ["RescoreSummary", "rescore_calls", "run_rescore", "run_rescore_per_call"]

CHUNK = 4000  # calls per write transaction (and per read): the file is locked for ~1 s
TASK = 100  # calls per job handed to a worker
MIN_POOL_CALLS = 600  # below this a pool costs more to start than it saves


@dataclass
class RescoreSummary(ScoreTally):
    rescored: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (call_id, problem)
    verdicts: Carried = field(default_factory=Carried)  # kept on their findings, and those now detached
    elapsed_s: float = 0.0
    heard: int = 0  # new readings scored from the recordings
    unheard: int = 0  # readings asked that no recording could answer: judged by text alone

    @property
    def calls_per_second(self) -> float | None:
        return self.rescored / self.elapsed_s if self.elapsed_s > 0 else None


@dataclass
class _Scored:
    rows: store.RescoredRows
    errors: list[tuple[str, str]]


_worker_book: Any = None
_worker_memo = ExitStack()


def _init_worker(rulebook: Any) -> None:
    global _worker_book
    _worker_book = rulebook
    _worker_memo.enter_context(reuse_utterance_work())  # for the worker's lifetime


def _score_rows(raw: Sequence[tuple[tuple, list[tuple]]], rulebook: Any = None,
                on_result: Callable[[CallResult], None] | None = None, heard: dict | None = None,
                hearing: Hearing | None = None, verify: bool = True) -> _Scored:
    """Parse and score raw stored rows (`store.stored_call_rows`) with their stored readings
    (`heard`, by call); `hearing` asks the recordings about new ones. Runs in a worker."""
    book = rulebook if rulebook is not None else _worker_book
    out = _Scored(store.RescoredRows(), [])
    for call_row, utt_rows in raw:
        try:
            stored = replace(store.stored_call(call_row, utt_rows), heard=(heard or {}).get(call_row[0], ()))
            result = rescore_transcript(stored, book, hear=hearing.for_call(stored) if hearing else None,
                                        verify=verify)
        except Exception as exc:  # a stored call the rules cannot read keeps its old score
            log.debug("rescoring %s failed", call_row[0], exc_info=True)
            out.errors.append((call_row[0], f"{type(exc).__name__}: {exc}"))
            continue
        out.rows.add(result)
        if on_result:
            on_result(result)
    return out


def _pool(workers: int, rulebook: Any) -> ProcessPoolExecutor:
    # fork: workers start in milliseconds and inherit the compiled phrases; spawn elsewhere.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method),
                               initializer=_init_worker, initargs=(rulebook,))


def _record(summary: RescoreSummary, scored: _Scored) -> None:
    summary.rescored += len(scored.rows)
    summary.unheard += sum(scored.rows.unheard)
    summary.scores += [s.score for s in scored.rows.scores]
    summary.passed += sum(1 for s in scored.rows.scores if s.passed)
    summary.errors += scored.errors


def run_rescore(db_path: str | Path, rulebook: Any, *, chunk: int = CHUNK, workers: int = 1,
                on_result: Callable[[CallResult], None] | None = None, verify: bool = True,
                model_dir: str | None = None) -> RescoreSummary:
    """Score every stored call of `db_path` again under `rulebook` and store the results.

    `workers` > 1 runs the rules in that many forked processes. On an idle
    2-core machine two gave 732 calls/s against 488 for one when every text is
    new, and about the same (924 vs 895) when texts repeat, since each worker
    redoes matcher work the other has reused; on a busy machine one process can
    win (bench/throughput.py --workers measures it). `on_result` sees each
    CallResult in this process. A reading no earlier run asked the audio about
    is scored from the call's recording when it is still there and unchanged
    (in this process; the pool's workers judge new readings by text);
    `verify` False judges every line by text alone.
    """
    started = time.monotonic()
    summary = RescoreSummary()
    hearing = Hearing(model_dir) if verify else None
    store_rulebook(db_path, rulebook)  # before the first score made with it
    ids = store.stored_call_ids(db_path)
    size = max(1, -(-len(ids) // max(1, -(-len(ids) // chunk))))  # chunks of even size, none tiny
    chunks = [ids[i:i + size] for i in range(0, len(ids), size)]
    use_pool = workers > 1 and on_result is None and len(ids) >= MIN_POOL_CALLS
    pool: ProcessPoolExecutor | None = None
    with ExitStack() as stack:
        stack.enter_context(reuse_utterance_work())
        previous: list[Future] | None = None
        for part in chunks:
            raw = store.stored_call_rows(db_path, part[0], part[-1])
            heard = store.stored_heard(db_path, part) if verify else {}
            current: list[Future] = []
            if not use_pool:
                current.append(_done(_score_rows(raw, rulebook, on_result, heard, hearing, verify)))
            else:
                if pool is None:
                    # jieba's dictionary (seconds) and the phrase indexes are loaded
                    # once, here; the forked workers inherit them.
                    prepare((g for r in rulebook.rules.values() for g in r.phrases.values()),
                            getattr(rulebook, "slots", None))
                    pool = stack.enter_context(_pool(workers, rulebook))
                current += [pool.submit(_score_rows, raw[i:i + TASK], None, None, heard, None, verify)
                            for i in range(0, len(raw), TASK)]
            if previous is not None:
                _write(db_path, previous, summary)  # while the workers score `current`
            previous = current
        if previous is not None:
            _write(db_path, previous, summary)
    summary.heard = hearing.scored if hearing else 0
    summary.elapsed_s = time.monotonic() - started
    return summary


def _done(scored: _Scored) -> Future:
    future: Future = Future()
    future.set_result(scored)
    return future


def _write(db_path: str | Path, futures: list[Future], summary: RescoreSummary) -> None:
    merged = _Scored(store.RescoredRows(), [])
    for future in futures:
        part = future.result()
        merged.rows.extend(part.rows)
        merged.errors += part.errors
    summary.verdicts.extend(store.write_rescored(db_path, merged.rows))
    _record(summary, merged)


def rescore_calls(db_path: str | Path, rulebook: Any, call_ids: Sequence[str], *, verify: bool = True,
                  model_dir: str | None = None) -> RescoreSummary:
    """The named stored calls run through `rulebook` again (the batch's calls whose transcript is current)."""
    started = time.monotonic()
    summary = RescoreSummary()
    hearing = Hearing(model_dir) if verify else None
    with reuse_utterance_work():
        for i in range(0, len(call_ids), CHUNK):
            part = call_ids[i:i + CHUNK]
            raw = store.stored_calls_by_id(db_path, part)
            heard = store.stored_heard(db_path, part) if verify else {}
            _write(db_path, [_done(_score_rows(raw, rulebook, None, heard, hearing, verify))], summary)
    summary.heard = hearing.scored if hearing else 0
    summary.elapsed_s = time.monotonic() - started
    return summary


def run_rescore_per_call(db_path: str | Path, rulebook: Any, *, chunk: int = 500) -> RescoreSummary:
    """The plain path, one call at a time in this process with no reuse of matcher work.

    It is the reference the fast path must agree with row for row (tests) and
    the baseline it is measured against (bench/throughput.py).
    """
    started = time.monotonic()
    summary = RescoreSummary()
    store_rulebook(db_path, rulebook)
    pending: list[CallResult] = []
    for stored in store.iter_stored_calls(db_path):
        try:
            result = rescore_transcript(stored, rulebook)
        except Exception as exc:  # same policy as the fast path
            summary.errors.append((stored.call_id, f"{type(exc).__name__}: {exc}"))
            continue
        pending.append(result)
        summary.rescored += 1
        summary.scores.append(float(result.score or 0.0))
        summary.passed += bool(result.passed)
        if len(pending) >= chunk:
            summary.verdicts.extend(store.save_rescored(db_path, pending))
            pending = []
    summary.verdicts.extend(store.save_rescored(db_path, pending))
    summary.elapsed_s = time.monotonic() - started
    return summary
