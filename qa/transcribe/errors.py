"""The typed errors for a recording that cannot be scored.

Their own module so the loader, the container checks and the FFmpeg decoder
can all raise them without importing one another; qa.transcribe.audio
re-exports them.
"""

from __future__ import annotations

from pathlib import Path


class AudioError(Exception):
    """A recording that cannot be scored; names the file and the problem."""

    problem = "unreadable audio"

    def __init__(self, path: str | Path, detail: str = ""):
        self.path = str(path)
        self.detail = detail
        msg = f"{self.path}: {self.problem}"
        super().__init__(f"{msg} ({detail})" if detail else msg)


class NotAudioError(AudioError):
    problem = "not an audio file"


class TruncatedAudioError(AudioError):
    problem = "truncated audio file"


class EmptyAudioError(AudioError):
    problem = "recording has no samples"


class ChannelError(AudioError):
    problem = "unsupported channel layout"


class SampleRateError(AudioError):
    problem = "unsupported sample rate"


class TooLongError(AudioError):
    problem = "recording longer than the configured limit"


def first_line(exc: Exception) -> str:
    """A library error's first line (or its type), as the detail of an AudioError."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
