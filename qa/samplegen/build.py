"""Render a set of call scripts into a folder of recordings with their labels."""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from pathlib import Path

import numpy as np

from . import writer
from .readme import write_readme
from .scenario import CallSpec, assemble, render

log = logging.getLogger("qa.samplegen")

SAMPLES_SEED = 2024
LABEL_ORDER = (
    "call_id", "audio", "sample_rate", "channels", "channel_roles", "ringback", "ring_count",
    "answer_onset_s", "duration_s", "script", "holds", "silent_line", "forbidden", "opening",
    "expected", "notes",
)


def build_calls(specs: list[CallSpec], out: Path, seed: int, tts=None, jobs: int = 1) -> list[dict]:
    """Render, write and label every call; `jobs` > 1 renders in worker processes.

    Each call draws from its own RNG (seed, call id), so the output does not
    depend on the order or the process that renders it.
    """
    out.mkdir(parents=True, exist_ok=True)
    if jobs > 1:
        with ProcessPoolExecutor(jobs, initializer=_init_worker) as pool:
            all_labels = list(pool.map(_render_in_worker, specs, repeat(out), repeat(seed)))
    else:
        tts = tts or _kokoro()
        all_labels = [_render_one(spec, out, seed, tts) for spec in specs]
    rows = [dict(spec.metadata, call_id=spec.call_id, direction=spec.metadata.get("direction", "inbound"))
            for spec in specs]
    writer.write_metadata(out / "metadata.csv", rows)
    return all_labels


def _render_one(spec: CallSpec, out: Path, seed: int, tts) -> dict:
    assembled = assemble(spec, tts, seed)
    samples = render(assembled, spec, seed)
    name = writer.audio_name(spec.call_id, spec.audio_format)
    writer.write_audio(out / name, samples, spec.sample_rate, spec.audio_format)
    labels = dict(assembled.labels, audio=name, sample_rate=spec.sample_rate,
                  duration_s=round(samples.shape[1] / spec.sample_rate, 3))
    labels = {key: labels[key] for key in LABEL_ORDER if key in labels}  # "opening": trunk-side calls only
    writer.write_labels(out / f"{spec.call_id}.json", labels)
    log.info("wrote %s (%.1f s)", name, labels["duration_s"])
    return labels


def _kokoro():
    from .tts import Kokoro

    return Kokoro()


_worker_tts = None


def _init_worker() -> None:
    global _worker_tts
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _worker_tts = _kokoro()


def _render_in_worker(spec: CallSpec, out: Path, seed: int) -> dict:
    return _render_one(spec, out, seed, _worker_tts)


SETS = ("samples", "generated", "trunk", "hard", "situations", "situations-hard")


def build_set(out: Path, which: str = "samples", count: int = 60, seed: int = 7,
              corrupt: int = 0, jobs: int = 1, tts=None, real_speech: Path | None = None) -> list[dict]:
    """Build the `samples` set (fixed seed), or a `generated`, `trunk`, `hard`, `situations` or
    `situations-hard` set of `count` calls (`trunk`: generated calls recorded on the trunk,
    opening with the IVR, a key press and queue music).

    The hard set splices recorded customer turns from `real_speech` when it holds clips.
    The situation sets are calls built around the scenario rules' situations,
    spoken by the generated set's voices, or by the hard set's (held out).
    """
    out = Path(out)
    tts = tts or _kokoro()  # also fails early, in this process, without the samples extra
    if which == "samples":
        from .samples import SAMPLES

        labels = build_calls(list(SAMPLES), out, SAMPLES_SEED, tts, jobs)
        write_readme(out / "README.md", list(SAMPLES), labels)
    elif which == "generated":
        from .generated import generated_specs

        labels = build_calls(generated_specs(count, seed), out, seed, tts, jobs)
    elif which == "trunk":
        from .generated import trunk_specs

        labels = build_calls(trunk_specs(count, seed), out, seed, tts, jobs)
    elif which == "hard":
        from .hard import hard_specs

        labels = build_calls(hard_specs(count, seed, real_speech), out, seed, tts, jobs)
    elif which in ("situations", "situations-hard"):
        from .generated import VOICES
        from .hard import HARD_VOICES
        from .situations import situation_specs

        voices = HARD_VOICES if which == "situations-hard" else VOICES
        labels = build_calls(situation_specs(count, seed, voices, "sith" if which == "situations-hard" else "sit"),
                             out, seed, tts, jobs)
    else:
        raise ValueError(f"unknown set {which!r}: use one of {', '.join(SETS)}")
    if corrupt:
        writer.write_corrupt(out, corrupt, np.random.default_rng([seed, 99]))
    return labels
