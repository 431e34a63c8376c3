"""Where recordings come from: a local (or shared) folder, or an fsspec URL.

A nightly batch on a cluster reads the day's calls from object storage
(`s3://bucket/2024-06-01/`); every worker must be able to read every input.
A URL is discovered on the driver with fsspec, and a worker copies the one
object it scores to a temporary file, scores it, and deletes the copy: the
audio decoders want a real file, and a copy on local disk never outlives the
call. Local paths pass through untouched, so a shared mount costs nothing.

fsspec ships `file://` and `memory://`; `s3://` needs `s3fs` installed on the
driver and on every worker (`gs://` needs `gcsfs`, and so on).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator, Mapping

from qa.scoring.metadata import AUDIO_SUFFIXES

__all__ = [
    "AUDIO_SUFFIXES", "RemoteCall", "SourceError", "discover_urls", "is_url", "local_copy", "score_source",
    "sha256_of",
]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_CHUNK = 1 << 20


class SourceError(Exception):
    """An input location cannot be listed or read; names the location and why."""


@dataclass(frozen=True)
class RemoteCall:
    """One recording behind a URL; `call_id` is its path under the root, no extension."""

    call_id: str
    url: str
    size: int | None = None


def is_url(location: str | os.PathLike) -> bool:
    """True for `scheme://...` (s3, gs, file, memory...), False for a plain path."""
    return isinstance(location, str) and bool(_SCHEME.match(location))


def _filesystem(url: str):
    try:
        import fsspec
    except ModuleNotFoundError as exc:  # a declared dependency, but say what is missing
        raise SourceError(f"{url}: reading URLs needs fsspec (pip install fsspec)") from exc
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as exc:  # fsspec names the package that provides the scheme
        raise SourceError(f"{url}: {exc}") from exc
    except ValueError as exc:
        raise SourceError(f"{url}: {exc}") from exc


def discover_urls(root_url: str, suffixes: tuple[str, ...] = AUDIO_SUFFIXES) -> list[RemoteCall]:
    """Every recording under `root_url`, sorted by call id.

    The call id is the object's path relative to the root without its
    extension, exactly as for a local folder, so a call keeps its id whether
    it is scored from a mount or from the bucket.
    """
    fs, root = _filesystem(root_url)
    root = root.rstrip("/")
    try:
        if not fs.isdir(root):
            raise SourceError(f"{root_url}: no such folder")
        listing = fs.find(root, detail=True)
    except SourceError:
        raise
    except (OSError, PermissionError) as exc:
        raise SourceError(f"{root_url}: cannot list ({exc})") from exc
    calls = []
    for path, info in listing.items():
        stem, suffix = posixpath.splitext(path)
        if suffix.lower() not in suffixes or info.get("type") == "directory" \
                or posixpath.basename(path).startswith("."):
            continue  # like a local folder: dot files (partial uploads, editor files) are not calls
        rel = posixpath.relpath(stem, root)
        calls.append(RemoteCall(call_id=rel, url=fs.unstrip_protocol(path), size=info.get("size")))
    return sorted(calls, key=lambda c: c.call_id)


@contextmanager
def local_copy(location: str | os.PathLike, tmp_dir: str | None = None) -> Iterator[Path]:
    """A local file with the recording's bytes, for as long as the block runs.

    A plain path is yielded as is. A URL is downloaded to a temporary file that
    keeps the extension (decoders look at it) and is deleted on exit, also when
    scoring failed.
    """
    if not is_url(location):
        yield Path(location)
        return
    url = str(location)
    fs, path = _filesystem(url)
    suffix = posixpath.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix="callqa-", suffix=suffix, dir=tmp_dir)
    os.close(fd)
    try:
        try:
            fs.get_file(path, tmp)
        except FileNotFoundError as exc:
            raise SourceError(f"{url}: no such object") from exc
        except OSError as exc:
            raise SourceError(f"{url}: cannot download ({exc})") from exc
        yield Path(tmp)
    finally:
        Path(tmp).unlink(missing_ok=True)


def sha256_of(location: str | os.PathLike) -> str:
    """Content hash of a path or URL, streamed (a URL is not stored on disk)."""
    digest = hashlib.sha256()
    try:
        if is_url(location):
            fs, path = _filesystem(str(location))
            handle = fs.open(path, "rb")
        else:
            handle = open(location, "rb")
        with handle as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    except FileNotFoundError as exc:
        raise SourceError(f"{location}: no such file") from exc
    except OSError as exc:
        raise SourceError(f"{location}: cannot read ({exc})") from exc
    return digest.hexdigest()


def score_source(location: str, call_id: str, metadata_row: Mapping[str, str] | None, rulebook: Any,
                 options: Any = None, **inputs: Any):
    """`score_call` for a path or a URL (`inputs`: its keyword arguments): a URL is scored from a temporary copy.

    The result names the URL, never the copy, and a download that fails is an
    error row for that call like any other bad file.
    """
    from qa.records import CallResult
    from qa.scoring.score import score_call

    location = str(location)
    try:
        with local_copy(location) as path:
            result = score_call(path, call_id, metadata_row, rulebook, options, **inputs)
    except SourceError as exc:
        return CallResult(call_id=call_id, path=location, sha256="", transcript=None, status="error",
                          error=str(exc), rulebook_version=rulebook.version, metadata=dict(metadata_row or {}))
    copy = str(path)
    if copy == location:
        return result
    result = replace(result, path=location, error=result.error.replace(copy, location) if result.error else None)
    if result.transcript is not None:
        result = replace(result, transcript=replace(result.transcript, path=location))
    return result
