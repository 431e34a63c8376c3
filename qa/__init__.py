"""callqa: offline speech QA and call-compliance analysis for Mandarin calls."""

__version__ = "0.4.0"
