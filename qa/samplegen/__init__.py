"""Deterministic generator of realistic Mandarin customer-service calls.

`python -m qa.samplegen --out recordings_sample --set samples` rebuilds the
committed sample calls; `--set generated --count N --seed S` makes a larger
labelled set for accuracy and throughput benches. Needs the `samples` extra.
"""

from .build import build_set
from .scenario import RULE_IDS, CallSpec

__all__ = ["RULE_IDS", "CallSpec", "build_set"]
