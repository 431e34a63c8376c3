"""Boolean frame masks as runs of frames, shared by the signal detectors."""

from __future__ import annotations

import numpy as np


def mask_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) frame indexes of each run of True, in order."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))
