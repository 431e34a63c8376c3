"""Scoring one call: a pure function from a file (and its metadata) to a CallResult.

`score_call` takes only picklable arguments and returns a result instead of
raising for a bad recording, so the same function runs in one process, in a
local process pool, or on a cluster. The Whisper model is loaded once per
process and reused (`init_worker` loads it up front in a pool).
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any, Mapping

from qa.records import CallResult, TranscribeOptions, Transcript
from qa.scoring.checks import run_rules
from qa.scoring.scorecard import score_card

log = logging.getLogger("callqa.score")

__all__ = ["apply_rules", "init_worker", "rescore_transcript", "score_call", "sha256_file"]

_transcribers: dict[tuple[TranscribeOptions, int], Any] = {}
_worker_threads = 0  # CTranslate2 threads of models loaded in this process (0: its default)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _transcriber(options: TranscribeOptions):
    # Keyed by thread count too: int8 decoding can differ in the last beam
    # step between thread counts, and engines compare their rows.
    key = (options, _worker_threads)
    t = _transcribers.get(key)
    if t is None:
        from qa.transcribe.pipeline import Transcriber

        t = _transcribers[key] = Transcriber(options, cpu_threads=_worker_threads)
    return t


def init_worker(options: TranscribeOptions, threads: int | None = None) -> None:
    """Pool initializer: share the cores between workers, then load the model once."""
    global _worker_threads
    _worker_threads = int(threads or 0)
    if threads:
        # CTranslate2 sizes its thread pool from OMP_NUM_THREADS when the model loads.
        os.environ["OMP_NUM_THREADS"] = str(threads)
    _transcriber(options).recognizer.model  # noqa: B018 - loads it now, not on the first call


def _ring_seconds(metadata: Mapping[str, str]) -> float | None:
    value = (metadata or {}).get("ring_seconds")
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None  # metadata.py reports the bad row; detection is used instead


def apply_rules(call_id: str, path: str, sha256: str, transcript: Transcript, metadata: Mapping[str, str],
                rulebook: Any) -> CallResult:
    """Rules and score card over a transcript; no audio, no ASR."""
    if transcript.timeline is None:
        raise ValueError(f"{path}: transcript has no signal timeline; the rules need one")
    results = run_rules(rulebook, transcript.timeline, transcript.utterances)
    card = score_card(results, rulebook)
    return CallResult(call_id=call_id, path=str(path), sha256=sha256, transcript=transcript,
                      rule_results=results, score=card.score, passed=card.passed,
                      rulebook_version=rulebook.version, metadata=dict(metadata or {}))


def rescore_transcript(stored: Any, rulebook: Any) -> CallResult:
    """A stored call (`store.StoredCall`) scored again under `rulebook`."""
    return apply_rules(stored.call_id, stored.path, stored.sha256, stored.transcript, stored.metadata, rulebook)


def score_call(path: str | Path, call_id: str, metadata_row: Mapping[str, str] | None, rulebook: Any,
               options: TranscribeOptions | None = None) -> CallResult:
    """Transcribe and score one recording. A bad file gives status 'error', never an exception.

    Only a model that cannot be loaded is raised (`qa.transcribe.model.ModelError`):
    that is a broken run, not a bad file.
    """
    from qa.transcribe.audio import AudioError
    from qa.transcribe.model import ModelError

    options = options or TranscribeOptions()
    metadata = dict(metadata_row or {})
    sha = ""
    try:
        sha = sha256_file(path)
        transcript = _transcriber(options).transcribe_file(path, ring_seconds=_ring_seconds(metadata))
        return apply_rules(call_id, str(path), sha, transcript, metadata, rulebook)
    except ModelError:
        raise
    except (AudioError, OSError) as exc:
        message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
    except Exception as exc:  # one bad call must not stop a nightly batch
        log.debug("scoring %s failed", path, exc_info=True)
        message = f"{path}: {type(exc).__name__}: {exc}"
    return CallResult(call_id=call_id, path=str(path), sha256=sha, transcript=None, status="error",
                      error=message, rulebook_version=rulebook.version, metadata=metadata)
