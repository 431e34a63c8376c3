"""Calls whose agent and customer legs are two files, joined into one stereo call.

Many recorders store each leg of a call as its own mono file. Both legs start
at the same moment, so the shorter one is padded with silence when the two
lengths differ by no more than `max_mismatch_s` (recorders stop the legs a
little apart); a larger difference means the files do not belong together
and is an error naming both. Legs recorded at different rates are brought to
the higher rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.transcribe.audio import Audio, load_audio
from qa.transcribe.errors import AudioError, ChannelError

__all__ = ["LEG_ROLES", "LegMismatchError", "Legs", "MAX_MISMATCH_S", "join_legs", "load_legs"]

LEG_ROLES = ("agent", "customer")  # the channels of a joined call, left first
MAX_MISMATCH_S = 2.0


class LegMismatchError(AudioError):
    problem = "the two legs of the call do not match"


@dataclass(frozen=True)
class Legs:
    """The two files of one call."""

    agent: str
    customer: str

    def __str__(self) -> str:
        return f"{self.agent} + {self.customer}"


def _mono(audio: Audio, rate: int, dtype) -> np.ndarray:
    """The leg's one channel at `rate`: its own samples when they fit, else float32."""
    if audio.channels != 1:
        raise ChannelError(audio.path, f"a call leg must be mono, this one has {audio.channels} channels")
    return audio.samples[0] if dtype == np.int16 else audio.channel(0, rate)


def join_legs(agent: Audio, customer: Audio, max_mismatch_s: float = MAX_MISMATCH_S) -> Audio:
    """One stereo Audio (left: agent, right: customer), named after the agent leg; int16 when both legs are
    int16 at one rate, else float32."""
    rate = max(agent.sample_rate, customer.sample_rate)
    same = agent.sample_rate == customer.sample_rate and agent.samples.dtype == customer.samples.dtype == np.int16
    dtype = np.int16 if same else np.float32
    left, right = _mono(agent, rate, dtype), _mono(customer, rate, dtype)
    gap_s = abs(len(left) - len(right)) / rate
    if gap_s > max_mismatch_s:
        raise LegMismatchError(agent.path, f"agent leg {agent.duration_s:.1f} s, customer leg {customer.path} "
                                           f"{customer.duration_s:.1f} s: {gap_s:.1f} s apart, more than "
                                           f"{max_mismatch_s:g} s")
    frames = max(len(left), len(right))
    samples = np.zeros((2, frames), dtype=dtype)
    samples[0, : len(left)] = left
    samples[1, : len(right)] = right
    return Audio(agent.path, samples, rate)


def load_legs(legs: Legs, *, max_duration_s: float | None = None,
              max_mismatch_s: float = MAX_MISMATCH_S) -> Audio:
    return join_legs(load_audio(Path(legs.agent), max_duration_s=max_duration_s),
                     load_audio(Path(legs.customer), max_duration_s=max_duration_s), max_mismatch_s)
