"""Which stereo channel is the agent (`--roles auto`), from what each channel says.

Recorders disagree on which leg goes left. The agent is the party who says
the service lines: the opening greeting (您好, 工号…, 很高兴为您服务), the offer
to help, the closing thanks, the hold requests. Each channel's utterances are
searched for these markers with the fuzzy phrase matcher; a marker heard in
the channel's first seconds of speech counts more (the agent opens the call).
Two weaker cues add to them: the polite 您, which the service standards ask of
the agent (customers mostly say 你), who speaks first after pick-up (on a
service line, the agent), and what only callers say: the reason for calling
(我想咨询, 我想问), 你们 for the company (谢谢你 would be heard in 谢谢您). A caller's words count for the
other channel, so even a rude agent who greets no one is found. The channel with clearly more is the agent; when
neither clearly has more, the configured default stays and the decision says
it was unsure.

The markers are fixed here rather than read from the rulebook: the roles are
part of the transcript, which must not change when only the rulebook does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from qa.records import Utterance

__all__ = ["AGENT_MARKERS", "CUSTOMER_MARKERS", "RoleDecision", "decide_agent_channel"]

# (marker, weight): words a customer says as well (您好, 再见) weigh less.
AGENT_MARKERS: tuple[tuple[str, float], ...] = (
    ("为您服务", 2.0), ("很高兴为您服务", 2.0), ("工号", 2.0), ("客服中心", 2.0), ("客服部", 2.0),
    ("欢迎致电", 2.0), ("请问有什么可以帮您", 2.0), ("请问有什么可以帮助您", 2.0), ("请问还有什么可以帮助您", 2.0),
    ("您还需要什么帮助吗", 1.5), ("感谢您的来电", 2.0), ("请您稍等", 1.0), ("让您久等了", 1.0),
    ("感谢您的耐心等待", 1.5), ("您好", 0.5),
)
# (marker, weight): what callers say and agents do not; each counts for the *other* channel.
CUSTOMER_MARKERS: tuple[tuple[str, float], ...] = (
    ("我想咨询", 1.5), ("我想问", 1.5), ("我想办", 1.0), ("我想查", 1.0), ("我要投诉", 1.5), ("你们", 1.0),
)
CUSTOMER_CAP = 3.0  # at most this much per channel: a long complaint is not stronger proof
OPENING_S = 15.0  # markers this early in the channel's speech count double: the agent opens the call
POLITE = "您"
POLITE_WEIGHT, POLITE_CAP = 0.5, 3.0  # per 您 heard (outside the markers), at most this much per channel
FIRST_SPEAKER_WEIGHT = 1.5  # the channel heard first after pick-up
MIN_EVIDENCE = 2.0  # less marker weight than this on both channels says nothing
MIN_CONFIDENCE = 0.5  # (winner - other) / (winner + other) below this: unsure


@dataclass(frozen=True)
class RoleDecision:
    agent_channel: int | None  # None: unsure, the default stays
    confidence: float  # 0..1
    evidence: tuple[float, ...]  # marker weight per channel


def _weights(utterances: Sequence[Utterance], channels: int) -> list[float]:
    from qa.phrases import PhraseSpec, find

    specs = {text: PhraseSpec(text) for text, _ in AGENT_MARKERS}
    weight = dict(AGENT_MARKERS)
    first = {}
    for u in utterances:
        first.setdefault(u.channel, u.start_s)
    totals = [0.0] * channels
    marked: dict[int, set[int]] = {}  # utterance -> characters inside a marker
    for m in find(tuple(specs.values()), utterances):
        channel = utterances[m.utterance_idx].channel
        if 0 <= channel < channels:
            early = m.start_s - first[channel] <= OPENING_S
            totals[channel] += weight[m.phrase] * (2.0 if early else 1.0)
            marked.setdefault(m.utterance_idx, set()).update(range(*m.span))
    polite = [0.0] * channels
    for i, u in enumerate(utterances):
        if 0 <= u.channel < channels:
            outside = sum(1 for k, ch in enumerate(u.text) if ch == POLITE and k not in marked.get(i, ()))
            polite[u.channel] += POLITE_WEIGHT * outside
    for channel in range(channels):
        totals[channel] += min(POLITE_CAP, polite[channel])
    caller = _marker_weights(CUSTOMER_MARKERS, utterances, channels)
    for channel in range(channels):
        for other in range(channels):
            if other != channel:
                totals[channel] += min(CUSTOMER_CAP, caller[other])
    opener = min(utterances, key=lambda u: u.start_s, default=None)
    if opener is not None and 0 <= opener.channel < channels:
        totals[opener.channel] += FIRST_SPEAKER_WEIGHT
    return totals


def _marker_weights(markers, utterances: Sequence[Utterance], channels: int) -> list[float]:
    from qa.phrases import PhraseSpec, find

    weight = dict(markers)
    totals = [0.0] * channels
    for m in find(tuple(PhraseSpec(text) for text, _ in markers), utterances):
        channel = utterances[m.utterance_idx].channel
        if 0 <= channel < channels:
            totals[channel] += weight[m.phrase]
    return totals


def decide_agent_channel(utterances: Sequence[Utterance], channels: int = 2) -> RoleDecision:
    """The agent's channel of a stereo call, by the service lines each channel says."""
    totals = _weights(utterances, channels)
    ranked = sorted(range(channels), key=lambda c: -totals[c])
    best, other = totals[ranked[0]], totals[ranked[1]] if channels > 1 else 0.0
    confidence = (best - other) / (best + other) if best + other > 0 else 0.0
    sure = best >= MIN_EVIDENCE and confidence >= MIN_CONFIDENCE
    return RoleDecision(ranked[0] if sure else None, round(confidence, 3), tuple(round(t, 2) for t in totals))
