"""How a check kind is declared: its check, the phrase groups and the params it reads.

Each kind is declared once, beside its check. The rulebook loader checks every
rule against its kind's declaration (groups present, params of the right type
and range) before any call is scored; the values themselves, defaults
included, live only in the rulebook files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

__all__ = ["Kind", "Param", "SIMILARITY", "SOUND_SCORE"]


@dataclass(frozen=True)
class Param:
    """One param's type and range; `what` says what it measures, for error messages."""

    type: type  # float, int, bool or str
    min: float | None = None
    max: float | None = None
    what: str = ""
    min_exclusive: bool = False
    choices: tuple[str, ...] = ()  # the values a text param may take (empty: any)

    def problem(self, value: Any) -> str | None:
        """Why `value` does not fit, or None."""
        if self.type is bool:
            ok = isinstance(value, bool)
        elif self.type is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif self.type is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            ok = isinstance(value, self.type)
        if ok and self.type in (int, float):
            low_ok = self.min is None or (value > self.min if self.min_exclusive else value >= self.min)
            ok = low_ok and (self.max is None or value <= self.max)
        if ok and self.choices:
            ok = value in self.choices
        return None if ok else f"must be {self.describe()}, got {value!r}"

    def describe(self) -> str:
        if self.choices:
            return "one of " + ", ".join(f'"{c}"' for c in self.choices)
        noun = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}[self.type]
        if self.what:
            noun += f" ({self.what})"
        if self.min is not None and self.max is not None:
            low = "above" if self.min_exclusive else "from"
            return f"{noun} {low} {self.min:g} {'up ' if self.min_exclusive else ''}to {self.max:g}"
        if self.min is not None:
            return f"{noun} {'above' if self.min_exclusive else 'of at least'} {self.min:g}"
        return noun

    def convert(self, value: Any) -> Any:
        return float(value) if self.type is float else value


def seconds(low: float, high: float, *, above: bool = True) -> Param:
    return Param(float, low, high, "seconds", min_exclusive=above)


# The matching floor of a rule's phrases (1.0: the exact wording only).
SIMILARITY = Param(float, 0.5, 1.0, "similarity; 1.0 means the exact wording only")
# A reading's score by sound: its log-likelihood ratio per token against the
# decoder's own reading of the span, less that of unrelated sentences (0: no
# likelier than words nobody said). See qa.transcribe.verify.
SOUND_SCORE = Param(float, -10.0, 10.0, "nats per token above unrelated sentences")


@dataclass(frozen=True)
class Kind:
    """A check kind: its check, the groups it needs (non-empty), those it may use, and its params."""

    check: Callable[[Any, Any], Any]
    groups: tuple[str, ...] = ()
    optional_groups: tuple[str, ...] = ()
    params: Mapping[str, Param] = field(default_factory=dict)
    # Groups the check reads as patterns of its own ({surname}先生), not phrases for the matcher:
    # never looked up as "another rule's phrase heard well".
    pattern_groups: tuple[str, ...] = ()
