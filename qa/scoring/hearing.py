"""Asking a stored call's recording about new readings, for a rescore.

A rescore runs the rules on stored transcripts; a check may ask the audio
about a reading no earlier run asked (a new wording in the rulebook). Those
are scored from the call's recording when it is still where it was scored
and its sha256 still matches; otherwise the check judges by text alone and
the call counts them as `unheard`. The model is loaded on the first reading
that needs it, never for a rescore that asks nothing new.
"""

from __future__ import annotations

from typing import Any, Callable

from qa.transcribe.legs import Legs

__all__ = ["Hearing"]


class Hearing:
    def __init__(self, model_dir: str | None = None):
        self.model_dir = model_dir
        self.scored = 0  # readings scored from recordings

    def for_call(self, stored: Any) -> Callable[[list], list]:
        """A `hear` for `apply_rules`: scores readings from this call's recording, or none."""
        state: dict[str, Any] = {}

        def hear(readings: list) -> list:
            if "audio" not in state:
                state["audio"] = self._audio(stored)
            if state["audio"] is None:
                return []
            heard = self._transcriber(stored).hear(state["audio"], readings)
            self.scored += len(heard)
            return heard

        return hear

    def _transcriber(self, stored: Any) -> Any:
        from qa.scoring.score import _transcriber  # loaded once per process and options

        return _transcriber(stored.transcript.options, None, self.model_dir)

    def _audio(self, stored: Any) -> Any:
        """The recording as scored (read as the scoring read it), or None when it is gone or changed."""
        from qa.scoring.score import legs_sha256, sha256_file
        from qa.transcribe.audio import AudioError

        pair = Legs(*stored.transcript.legs) if stored.transcript.legs else None
        try:
            sha = legs_sha256(pair.agent, pair.customer) if pair else sha256_file(stored.path)
            return self._transcriber(stored).load(stored.path, pair) if sha == stored.sha256 else None
        except (OSError, AudioError):
            return None
