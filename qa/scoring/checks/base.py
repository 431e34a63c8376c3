"""What every check sees, and the small helpers they share.

A check is a function `(rule, call) -> RuleResult`. It reads the signal
timeline (who speaks when, silences, overlaps, rings) and the utterances
(what was said, with word times); it never touches audio, so a rescore runs
the rules again on stored transcripts alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Iterable, Mapping, Sequence

from qa.records import Finding, Heard, Interval, Match, Reading, RuleResult, Timeline, Utterance
from qa.scoring.checks import sound
from qa.scoring.messages import detail, evidence

FindFn = Callable[..., list[Match]]
# Below a rule's floor, a wording this close is reported beside a missing line.
NEAR_MISS_SIMILARITY = 0.6
# Speech-activity edges and word times disagree by a few hundred ms.
EDGE_SLACK_S = 0.3
# Speech that is not known to be the agent's: the customer's, unattributed (mono), both at once.
OTHER_ROLES = ("customer", "unknown", "mixed")


class CheckError(Exception):
    """A rule is configured in a way its check cannot run (a missing phrase group)."""


def _default_find(*args: Any, **kwargs: Any) -> list[Match]:
    from qa.phrases.matcher import find

    return find(*args, **kwargs)


@dataclass(frozen=True)
class CallView:
    """One call as the checks see it."""

    timeline: Timeline
    utterances: tuple[Utterance, ...]
    slots: Mapping[str, Any] = field(default_factory=dict)
    # Every rule of the rulebook: a near miss is never another rule's phrase heard well.
    rules: Mapping[str, Any] = field(default_factory=dict)
    find: FindFn = _default_find
    # What the audio said of readings asked before (qa.scoring.checks.sound), by Reading.key.
    heard: Mapping[tuple, Heard] = field(default_factory=dict)
    # Where readings nobody has scored yet are noted, when the caller will score them.
    asked: list[Reading] | None = None
    # The call's metadata row (who hung up, when the CDR says it).
    metadata: Mapping[str, str] = field(default_factory=dict)

    def matches(self, rule: Any, group: str, roles: Sequence[str] | None = None, *, joined: bool = True) -> list[Match]:
        """Matches of one phrase group of `rule`, sorted by time.

        `joined`: adjacent utterances of one party are also read as one text
        (a mandated line the recognizer cut in two); a match there has an
        `utterance_idx` past the call's utterances.
        """
        phrases = rule.phrases.get(group)
        if phrases is None:
            raise CheckError(f"rule {rule.rule_id}: no phrase group '{group}' in the rulebook")
        if not phrases:
            return []
        texts = self.utterances + self._joined if joined else self.utterances
        found = self.find(phrases, texts, roles=tuple(roles) if roles else None, slots=self.slots or None,
                          min_similarity=rule.params.get("min_similarity"))
        # A joined run only adds lines no single utterance holds: two greetings a breath apart stay two.
        n = len(self.utterances)
        single = [m for m in found if m.utterance_idx < n]
        found = single + [m for m in found if m.utterance_idx >= n and not any(
            s.start_s < m.end_s and m.start_s < s.end_s for s in single)]
        return sorted(found, key=lambda m: (m.start_s, m.end_s))

    @cached_property
    def _joined(self) -> tuple[Utterance, ...]:
        return tuple(sound.joined_runs(self.utterances))

    @cached_property
    def _joined_fragments(self) -> tuple[Utterance, ...]:
        return tuple(sound.joined_runs(self.utterances, sound.FRAGMENT_S))

    @cached_property
    def _unworded(self) -> tuple[Utterance, ...]:
        """Speech on the signal that no utterance covers (the recognizer dropped a stretch), as
        wordless utterances the audio alone can be asked about."""
        return tuple(sound.unworded_speech(self.timeline.speech, self.utterances))

    def hear(self, readings: Sequence[Reading]) -> list[Heard]:
        """The stored answers to `readings`; those never scored are noted in `asked`."""
        found = []
        for r in readings:
            h = self.heard.get(r.key)
            if h is not None:
                found.append(h)
            elif self.asked is not None and r not in self.asked:
                self.asked.append(r)
        return found

    def line_by_sound(self, rule: Any, groups: Sequence[str], roles: Sequence[str], start_s: float,
                      end_s: float) -> Heard | None:
        """The best-scoring reading of a line of `groups` missing by text in [start_s, end_s]:
        each wording put into each utterance (and joined run) of `roles` there."""
        wordings = [w for g in groups for p in rule.phrases.get(g, ()) for w in sound.spoken_forms(p.text, self.slots)]
        spans = sound.in_window(self.utterances + self._joined_fragments + self._unworded, roles, start_s, end_s)
        return sound.best(self.hear(sound.line_readings(spans, wordings)))

    def near_miss(self, rule: Any, groups: Sequence[str], roles: Sequence[str], start_s: float,
                  end_s: float) -> Match | None:
        """The closest wording of `groups` heard between start_s and end_s that fell short
        of the rule's floor (from NEAR_MISS_SIMILARITY up): a missing mandated line that
        was likely said and misheard, for the inspector to check against the audio."""
        phrases = tuple(p for g in groups for p in rule.phrases.get(g, ()))
        if not phrases:
            return None
        found = self.find(phrases, self.utterances, roles=tuple(roles), slots=self.slots or None,
                          min_similarity=NEAR_MISS_SIMILARITY)
        near = [m for m in found if m.end_s >= start_s and m.start_s <= end_s and not self.another_phrase(rule, m)]
        return max(near, key=lambda m: m.similarity, default=None)

    def another_phrase(self, rule: Any, m: Match) -> bool:
        """True when the words of a near miss `m` are another rule's phrase heard better
        (请问您需要什么帮助 of the greeting, 感谢您的耐心等待 of a hold, 还有什么可以帮助您 of
        the closing): that phrase, not this one misheard."""
        return any(rule_id != rule.rule_id and o.utterance_idx == m.utterance_idx and o.span[0] < m.span[1]
                   and m.span[0] < o.span[1] and o.similarity > m.similarity for rule_id, o in self._rulebook_hits)

    @cached_property
    def _rulebook_hits(self) -> tuple[tuple[str, Match], ...]:
        """Every phrase of every rule heard at its rule's floor, found once per call."""
        from qa.scoring.checks import KINDS  # the registry imports this module

        return tuple((other.rule_id, m) for other in self.rules.values()
                     for name, group in other.phrases.items()
                     if group and name not in getattr(KINDS.get(other.kind), "pattern_groups", ())
                     for m in self.find(group, self.utterances, roles=None, slots=self.slots or None,
                                        min_similarity=other.params.get("min_similarity")))

    def speech(self, role: str) -> tuple[Interval, ...]:
        return self.timeline.speech.get(role, ())

    def speech_seconds(self, role: str) -> float:
        return sum(iv.duration_s for iv in self.speech(role))

    def last_speech_end(self) -> float:
        return self.last_speech_end_of(None) or 0.0

    def last_speech_end_of(self, role: str | None) -> float | None:
        """When `role` (None: anyone) last spoke, on the signal or in words; None if never."""
        ends = [iv.end_s for r, ivs in self.timeline.speech.items() if role in (None, r) for iv in ivs]
        ends += [u.end_s for u in self.utterances if role in (None, u.role)]
        return max(ends, default=None)

    def utterance_of(self, m: Match) -> Utterance | None:
        """The utterance a match was found in (a joined run when `matches` read one), if any."""
        texts = self.utterances + self._joined
        return texts[m.utterance_idx] if 0 <= m.utterance_idx < len(texts) else None

    def first_speech_start(self, role: str) -> float | None:
        starts = [iv.start_s for iv in self.speech(role)]
        starts += [u.start_s for u in self.utterances if u.role == role]
        return min(starts, default=None)

    def said(self, role: str, start_s: float, end_s: float, nothing: str = "said.nothing") -> str:
        """What `role` said in [start_s, end_s], for a finding's evidence (`nothing`'s text if silent)."""
        return utterance_text_between(self, role, start_s, end_s) or evidence(nothing)

    def required_roles(self, rule: Any) -> tuple[str, ...]:
        """Roles whose words can carry a mandated phrase.

        On mono the parties are told apart by voice and some speech stays
        `unknown`; a mandated line (greeting, closing, apology) is the agent's
        whoever it was attributed to. Forbidden phrases never use this.
        """
        roles = tuple(rule.roles) if getattr(rule, "roles", None) else ("agent",)
        return roles if self.timeline.stereo else tuple(dict.fromkeys(roles + ("unknown",)))

    def others_speech_seconds(self) -> float:
        """Speech that is not the agent's: the customer's, plus unattributed speech."""
        return sum(self.speech_seconds(r) for r in OTHER_ROLES)

    def others_last_speech_end(self) -> float | None:
        """When anyone but the agent was last heard (on the signal or in words); None if never."""
        return max((t for r in OTHER_ROLES if (t := self.last_speech_end_of(r)) is not None), default=None)

    def customer_barely_speaks(self, rule: Any, word_groups: Sequence[str]) -> bool:
        """True on a silent line: the customer said (almost) nothing.

        The limit is the rule's own `max_customer_speech_s`. On mono the voices
        are separated by guesswork, so a customer merged into the agent's voice
        would look silent: there the call must also show the silent-line
        procedure in words, the rule's `word_groups` (its closing line or a
        threat). For the same reason speech left unattributed on mono does not
        speak against a silent line: it is as often the agent's own.
        """
        limit = float(rule.params["max_customer_speech_s"])
        if self.timeline.stereo:
            return self.others_speech_seconds() <= limit
        if self.speech_seconds("customer") + self.speech_seconds("mixed") > limit:
            return False
        phrases = tuple(p for g in word_groups for p in rule.phrases.get(g, ()))
        return bool(phrases) and bool(self.find(phrases, self.utterances, roles=None, slots=self.slots or None,
                                                min_similarity=rule.params.get("min_similarity")))


def near_miss_note(match: Match | None) -> str:
    """The evidence's pointer to a likely misheard mandated line."""
    if match is None:
        return ""
    return evidence("near_miss", heard=match.text, phrase=match.phrase, similarity=match.similarity)


def sound_note(rule: Any, heard: Heard | None) -> str:
    """The evidence's note of a reading the audio rejected."""
    if heard is None:
        return ""
    return evidence("sound_rejected", wording=heard.reading.wording, score=heard.score,
                    limit=float(rule.params["sound_accept"]))


def by_sound(rule: Any, group: str, heard: Heard) -> str:
    """A rule's detail for a line accepted by sound."""
    return detail("by_sound", group=group, at=heard.reading.start_s, wording=heard.reading.wording,
                  score=heard.score, heard=heard.hypothesis)


def missing_line(rule: Any, call: CallView, group: str, roles: Sequence[str], window: tuple[float, float],
                 message: str, notes: list[str], *, anchor_s: float, span: tuple[float, float] | None = None,
                 sound_window: tuple[float, float] | None = None, **values: Any) -> Finding | None:
    """A mandated line of `group` missing by text in `window`: None (and a note in `notes`)
    when the audio says it (asked over `sound_window`, default the window), else its finding
    over `span` (default: the window), with the likely misheard wording and the reading the
    audio rejected."""
    lo, hi = window
    heard = call.line_by_sound(rule, (group,), roles, *(sound_window or window))
    if sound.accepted(rule, heard):
        notes.append(by_sound(rule, group, heard))
        return None
    near = call.near_miss(rule, (group,), roles, lo, hi)
    start, end = span or window
    return finding(rule, start, end, message, anchor_s=anchor_s, near=near, sound=heard, **values)


def param(rule: Any, name: str) -> float:
    """A number param of the rule; the rulebook loader has checked it is there and in range."""
    return float(rule.params[name])


def finding(
    rule: Any,
    start_s: float,
    end_s: float,
    message: str,
    *,
    anchor_s: float | None = None,
    role: str = "agent",
    match: Match | None = None,
    severity: str | None = None,
    near: Match | None = None,
    sound: Heard | None = None,
    **values: Any,
) -> Finding:
    """A finding whose evidence is `message` of the message table filled with `values`.

    `anchor_s` is a time that window settings do not move (default: the
    start); `near` a likely misheard wording of the missing line; `sound` the
    best reading of it the audio was asked about, and rejected.
    """
    if match is not None and not match.phrase:
        match = None  # a turn found on the signal, not a phrase
    text = evidence(message, **values) + near_miss_note(near) + sound_note(rule, sound)
    return Finding(
        rule_id=rule.rule_id,
        start_s=round(float(start_s), 3),
        end_s=round(float(max(end_s, start_s)), 3),
        role=role,  # type: ignore[arg-type]
        evidence=text,
        matched_phrase=match.phrase if match else None,
        similarity=round(float(match.similarity), 3) if match else None,
        clause=rule.source,
        severity=severity or rule.severity,
        message=message,
        message_args=tuple(sorted(values.items())),
        anchor_s=round(float(start_s if anchor_s is None else anchor_s), 3),
    )


def outcome(rule: Any, findings: Iterable[Finding], detail: str = "", *, na: bool = False) -> RuleResult:
    """pass when there is no finding, fail otherwise; `na` when the rule does not apply."""
    findings = tuple(findings)
    if na:
        return RuleResult(rule.rule_id, "na", 0.0, (), detail)
    if findings:
        return RuleResult(rule.rule_id, "fail", float(rule.points), findings, detail)
    return RuleResult(rule.rule_id, "pass", 0.0, (), detail)


def utterance_text_between(call: CallView, role: str, start_s: float, end_s: float) -> str:
    """What `role` said in [start_s, end_s], for a finding's evidence."""
    parts = [u.text for u in call.utterances if u.role == role and u.end_s > start_s and u.start_s < end_s]
    return " ".join(parts)


def silences(intervals: Iterable[Interval], start_s: float, end_s: float) -> list[Interval]:
    """Gaps in the union of `intervals` inside [start_s, end_s]."""
    gaps: list[Interval] = []
    cursor = start_s
    for iv in sorted(intervals, key=lambda i: i.start_s):
        if iv.end_s <= cursor:
            continue
        if iv.start_s >= end_s:
            break
        if iv.start_s > cursor:
            gaps.append(Interval(cursor, iv.start_s))
        cursor = max(cursor, iv.end_s)
    if cursor < end_s:
        gaps.append(Interval(cursor, end_s))
    return gaps


def all_speech(call: CallView) -> list[Interval]:
    return [iv for ivs in call.timeline.speech.values() for iv in ivs]
