"""Scoring one call: a pure function from a file (and its metadata) to a CallResult.

`score_call` takes only picklable arguments and returns a result instead of
raising for a bad recording, so the same function runs in one process, in a
local process pool, or on a cluster. Everything that shapes the result is an
argument; it changes no environment. The Whisper model is loaded once per
process and reused: the loaded transcribers are kept by every input that
makes them, so a kept one is the one a fresh load would give (`preload` loads
it up front, `init_worker` in a pool's worker process).
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from qa.records import CallResult, Heard, TranscribeOptions, Transcript
from qa.scoring.checks import run_rules
from qa.scoring.scorecard import score_card

log = logging.getLogger("callqa.score")

__all__ = ["apply_rules", "init_worker", "legs_sha256", "preload", "rescore_transcript", "score_call", "sha256_file"]

_transcribers: dict[tuple, Any] = {}
_worker_threads = 0  # CTranslate2 threads of models loaded in this process (0: its default)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def legs_sha256(agent: str | Path, customer: str | Path) -> str:
    """The content hash of a call stored as two files: both legs' hashes, agent first."""
    return hashlib.sha256(f"{sha256_file(agent)}+{sha256_file(customer)}".encode()).hexdigest()


def _transcriber(options: TranscribeOptions, signal_options: Any = None, model_dir: str | None = None):
    # Keyed by thread count too: int8 decoding can differ in the last beam
    # step between thread counts, and engines compare their rows.
    key = (options, signal_options, model_dir, _worker_threads)
    t = _transcribers.get(key)
    if t is None:
        from qa.transcribe.pipeline import Transcriber

        t = _transcribers[key] = Transcriber(options, signal_options, model_dir=model_dir,
                                             cpu_threads=_worker_threads)
    return t


def preload(options: TranscribeOptions, threads: int | None = None, signal_options: Any = None,
            model_dir: str | None = None) -> None:
    """Load the model for these inputs now, not on the first call, with `threads` CTranslate2 threads."""
    global _worker_threads
    _worker_threads = int(threads or 0)
    _transcriber(options, signal_options, model_dir).recognizer.model  # noqa: B018 - loads it


def init_worker(options: TranscribeOptions, threads: int | None = None, signal_options: Any = None,
                model_dir: str | None = None) -> None:
    """Initializer of a pool's (or a cluster's) worker process: share the cores, then preload."""
    if threads:
        # CTranslate2 sizes its thread pool from OMP_NUM_THREADS when the model loads;
        # this is the worker process's own environment, never the caller's.
        os.environ["OMP_NUM_THREADS"] = str(threads)
    preload(options, threads, signal_options, model_dir)


def _ring_seconds(metadata: Mapping[str, str]) -> float | None:
    value = (metadata or {}).get("ring_seconds")
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None  # metadata.py reports the bad row; detection is used instead


HEARING_ROUNDS = 3  # a line accepted by sound can lead a check to ask about another


def apply_rules(call_id: str, path: str, sha256: str, transcript: Transcript, metadata: Mapping[str, str],
                rulebook: Any, *, heard: Iterable[Heard] = (), hear: Callable[[list], list] | None = None,
                verify: bool = True) -> CallResult:
    """Rules and score card over a transcript; no audio, no ASR.

    `heard`: readings already scored by sound (stored with the call). `hear`
    scores the readings the checks ask about anew (None: none can be, the
    checks judge those by text and the result counts them as `unheard`).
    `verify` False: the checks judge by text alone, stored readings unused.
    """
    if transcript.timeline is None:
        raise ValueError(f"{path}: transcript has no signal timeline; the rules need one")
    known = {h.reading.key: h for h in heard} if verify else {}
    hear = hear if verify else None
    for round_ in range(HEARING_ROUNDS + 1):
        asked: list = []
        results = run_rules(rulebook, transcript.timeline, transcript.utterances, heard=known, asked=asked,
                            metadata=metadata)
        if not asked or hear is None or round_ == HEARING_ROUNDS:
            break
        new = hear(asked)
        if not new:  # the audio cannot answer (recording gone): judged by text
            break
        known.update((h.reading.key, h) for h in new)
    card = score_card(results, rulebook)
    return CallResult(call_id=call_id, path=str(path), sha256=sha256, transcript=transcript,
                      rule_results=results, score=card.score, passed=card.passed,
                      rulebook_version=rulebook.version, metadata=dict(metadata or {}),
                      heard=tuple(known.values()), unheard=len(asked), verify=verify)


def rescore_transcript(stored: Any, rulebook: Any, hear: Callable[[list], list] | None = None,
                       verify: bool = True) -> CallResult:
    """A stored call (`store.StoredCall`) scored again under `rulebook`, with its stored readings."""
    return apply_rules(stored.call_id, stored.path, stored.sha256, stored.transcript, stored.metadata, rulebook,
                       heard=getattr(stored, "heard", ()), hear=hear, verify=verify)


def score_call(path: str | Path, call_id: str, metadata_row: Mapping[str, str] | None, rulebook: Any,
               options: TranscribeOptions | None = None, *, signal_options: Any = None,
               model_dir: str | None = None, legs: Any = None, verify: bool = True) -> CallResult:
    """Transcribe and score one recording. A bad file gives status 'error', never an exception.

    `signal_options` (SignalOptions, default thresholds when None) shape the
    timeline; `model_dir` is where the embedded model is assembled; `legs`
    (qa.transcribe.legs.Legs) names the two files of a call stored as two
    legs, `path` being the agent's. `verify`: the checks may ask the audio
    about lines in doubt (qa.transcribe.verify); off, they judge by text alone.

    Only a model that cannot be loaded is raised (`qa.transcribe.model.ModelError`):
    that is a broken run, not a bad file.
    """
    from qa.transcribe.audio import AudioError
    from qa.transcribe.model import ModelError

    options = options or TranscribeOptions()
    metadata = dict(metadata_row or {})
    sha = ""
    try:
        transcriber = _transcriber(options, signal_options, model_dir)
        audio = transcriber.load(path, legs)
        if legs is not None:
            sha = legs_sha256(legs.agent, legs.customer)
            transcript = transcriber.transcribe_legs(legs, ring_seconds=_ring_seconds(metadata), audio=audio)
        else:
            sha = sha256_file(path)
            transcript = transcriber.transcribe_audio(audio, ring_seconds=_ring_seconds(metadata))
        return apply_rules(call_id, str(path), sha, transcript, metadata, rulebook,
                           hear=lambda readings: transcriber.hear(audio, readings), verify=verify)
    except ModelError:
        raise
    except (AudioError, OSError) as exc:
        message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
    except Exception as exc:  # one bad call must not stop a nightly batch
        log.debug("scoring %s failed", path, exc_info=True)
        message = f"{path}: {type(exc).__name__}: {exc}"
    return CallResult(call_id=call_id, path=str(path), sha256=sha, transcript=None, status="error",
                      error=message, rulebook_version=rulebook.version, metadata=metadata)
