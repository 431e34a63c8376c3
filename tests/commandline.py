"""`callqa` run as a user runs it: a child process, its exit code and its output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def callqa(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa", *args], input=stdin, capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
