"""Personal information in calls: finding spoken and written numbers, and masking them."""

from qa.privacy.pii import KINDS, PiiSpan, find_in_text, find_in_utterances, mask_text, redact

__all__ = ["KINDS", "PiiSpan", "find_in_text", "find_in_utterances", "mask_text", "redact"]
