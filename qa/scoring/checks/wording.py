"""Mandated and forbidden wording: the opening greeting, the closing, 服务忌语."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from qa.phrases.textnorm import keyed
from qa.records import Reading, RuleResult
from qa.scoring.checks import sound
from qa.scoring.checks.base import NEAR_MISS_SIMILARITY, CallView, by_sound, finding, missing_line, outcome, param
from qa.scoring.checks.kinds import SIMILARITY, SOUND_SCORE, Kind, Param, seconds
from qa.scoring.messages import detail

UNATTRIBUTED = "unknown"  # mono speech the voices could not assign to a party
# A closing rule's words that mark a silent line on mono (its own group, named in the rulebook).
SILENT_LINE_WORDS = ("silent_line_words",)


def _roles(rule: Any, default: tuple[str, ...] = ("agent",)) -> tuple[str, ...]:
    return tuple(rule.roles) if getattr(rule, "roles", None) else default


def check_greeting(rule: Any, call: CallView) -> RuleResult:
    """The agent greets within `window_s` of the answer."""
    window_s = param(rule, "window_s")
    onset = call.timeline.answer_onset_s
    if onset is None:
        onset = min((iv.start_s for ivs in call.timeline.speech.values() for iv in ivs), default=0.0)
    deadline = onset + window_s
    roles = call.required_roles(rule)
    greetings = [m for m in call.matches(rule, "greeting", roles=roles) if m.start_s <= deadline]
    if greetings:
        best = max(greetings, key=lambda m: m.similarity)
        return outcome(rule, (), detail("greeting.found", at=best.start_s, similarity=best.similarity))
    parts, heard = _greeting_parts(rule, call, roles, onset, deadline)
    if parts:
        return outcome(rule, (), parts)
    near = call.near_miss(rule, ("greeting",), roles, onset, deadline)
    found = finding(rule, onset, deadline, "greeting.missing", anchor_s=onset, near=near, window=window_s,
                    said=call.said("agent", onset, deadline), sound=heard)
    summary = detail("greeting.near_miss", similarity=near.similarity) if near else detail("greeting.missing")
    return outcome(rule, [found], summary)


# Phrase groups of a greeting rule that count only together: the standards'
# greeting has all three, a salutation, the agent's introduction and the offer
# to help.
GREETING_PARTS = ("salutation", "introduction", "offer")


def greeting_complete(parts: set[str] | frozenset[str]) -> bool:
    """An introduction (who answers) with a salutation or an offer to help.

    Two suffice because the first syllable of a call is the one a recognizer
    most often loses: 您好 is heard as 也好 or 你好, or clipped, while the
    introduction and the offer that follow it come through.
    """
    return "introduction" in parts and bool(parts & {"salutation", "offer"})


def _greeting_parts(rule: Any, call: CallView, roles: tuple[str, ...], onset: float,
                    deadline: float) -> tuple[str | None, Any]:
    """A greeting by its parts, when the wording as a whole matches no script:
    agents vary the order and the filler, and a recognizer garbles some words
    of a long greeting. A part missing by text is asked of the audio.

    Returns (the pass's detail or None, the best rejected reading by sound)."""
    if not all(rule.phrases.get(group) for group in ("salutation", "introduction")):
        return None, None
    found = {}
    for group in GREETING_PARTS:
        hits = [m for m in call.matches(rule, group, roles=roles) if m.start_s <= deadline] \
            if rule.phrases.get(group) else []
        if hits:
            found[group] = detail("greeting.part", group=group, text=hits[0].text, at=hits[0].start_s)
    rejected = None
    if not greeting_complete(set(found)):
        for group in GREETING_PARTS:
            if group in found or not rule.phrases.get(group):
                continue
            heard = call.line_by_sound(rule, (group,), roles, onset, deadline)
            if sound.accepted(rule, heard):
                found[group] = by_sound(rule, group, heard)
            elif heard is not None and (rejected is None or heard.score > rejected.score):
                rejected = heard
        if not greeting_complete(set(found)):
            return None, rejected
        return detail("greeting.by_sound", parts=", ".join(found.values())), None
    summary = detail("greeting.by_parts", parts=", ".join(found.values()))
    if "salutation" not in found:
        summary += detail("greeting.no_salutation")
    return summary, None


def check_closing(rule: Any, call: CallView) -> RuleResult:
    """In the last `window_s` of speech the agent offers more help and says goodbye.

    A silent line has its own closing line (the silent-line rule), so this
    rule does not apply there.
    """
    if call.customer_barely_speaks(rule, SILENT_LINE_WORDS):
        return outcome(rule, (), detail("silent_line.judges_closing"), na=True)
    window_s = param(rule, "window_s")
    end = call.last_speech_end()
    start = max(0.0, end - window_s)
    roles = call.required_roles(rule)
    findings = []
    found = []
    for group, missing in (("offer_help", "closing.no_offer_help"), ("farewell", "closing.no_farewell")):
        hits = [m for m in call.matches(rule, group, roles=roles) if m.end_s >= start]
        if hits:
            found.append(detail("closing.found", group=group, at=hits[-1].start_s))
            continue
        findings.append(missing_line(rule, call, group, roles, (start, end), missing, found, anchor_s=end,
                                     said=call.said("agent", start, end)))
    return outcome(rule, [f for f in findings if f is not None], "; ".join(found) or detail("closing.none"))


def check_forbidden(rule: Any, call: CallView) -> RuleResult:
    """Each forbidden phrase the agent says is a finding with that phrase's severity.

    On mono some speech stays attributed to neither party. A forbidden
    sentence heard there (at least `unattributed_min_chars` characters: 你问我,
    我问谁 is said to a caller, while 不行 or 不知道 are said by both sides) is a
    finding too, marked as such for the inspector to confirm.

    The audio settles the doubtful cases: a hit below `sound_confirm_below`
    similarity whose reading scores under `sound_reject` is dropped, and a near
    miss (from NEAR_MISS_SIMILARITY, phrases of `sound_min_chars` up) counts when
    its reading scores `sound_accept` and beats each innocent reading of the
    phrase by `sound_margin` (homophones such as 喂/为 cannot be told apart by sound).
    """
    phrases = {p.text: p for p in rule.phrases.get("forbidden", ())}
    roles = _roles(rule)
    widened = not call.timeline.stereo and UNATTRIBUTED not in roles
    roles = roles + (UNATTRIBUTED,) if widened else roles
    min_chars = int(rule.params["unattributed_min_chars"])
    findings, rejected = [], 0
    for m in call.matches(rule, "forbidden", roles=roles, joined=False):
        if widened and m.role == UNATTRIBUTED and len(keyed(m.phrase).key) < min_chars:
            continue
        if m.similarity < float(rule.params["sound_confirm_below"]):
            heard, innocent = _forbidden_by_sound(rule, call, m, phrases.get(m.phrase))
            if heard is not None and _refuted(rule, heard, innocent):
                rejected += 1
                continue
        findings.append(_forbidden_finding(rule, call, m, phrases.get(m.phrase), None))
    taken = [(f_m.utterance_idx, f_m.span) for f_m in call.matches(rule, "forbidden", roles=roles, joined=False)]
    for m in _near_misses(rule, call, roles, widened, min_chars, taken):
        heard, innocent = _forbidden_by_sound(rule, call, m, phrases.get(m.phrase))
        if heard is not None and _confirmed(rule, heard, innocent):
            findings.append(_forbidden_finding(rule, call, m, phrases.get(m.phrase), heard))
    summary = detail("forbidden.count", count=len(findings))
    if rejected:
        summary += detail("forbidden.unconfirmed", count=rejected)
    return outcome(rule, sorted(findings, key=lambda f: f.start_s), summary)


def _forbidden_finding(rule: Any, call: CallView, m: Any, spec: Any, heard: Any) -> Any:
    severity = getattr(spec, "severity", None) or rule.severity
    u = call.utterance_of(m)
    said = u.text if u is not None else m.text
    if heard is not None:
        m = replace(m, sound=heard.score)
        return finding(rule, m.start_s, m.end_s, "forbidden.by_sound", role=m.role, match=m, severity=severity,
                       said=said, wording=heard.reading.wording, score=heard.score)
    message = "forbidden.unattributed" if m.role == UNATTRIBUTED else "forbidden.said"
    return finding(rule, m.start_s, m.end_s, message, role=m.role, match=m, severity=severity, said=said)


def _near_misses(rule: Any, call: CallView, roles: tuple[str, ...], widened: bool, min_chars: int,
                 taken: list[tuple[int, tuple[int, int]]]) -> list[Any]:
    """Forbidden phrases heard just below the rule's floor, away from the hits (`taken`):
    one per utterance, the closest."""
    floor = float(rule.params["min_similarity"])
    long_enough = tuple(p for p in rule.phrases.get("forbidden", ())
                        if len(keyed(p.text).key) >= int(rule.params["sound_min_chars"]))
    if not long_enough:
        return []
    found = call.find(long_enough, call.utterances, roles=roles, slots=call.slots or None,
                      min_similarity=NEAR_MISS_SIMILARITY)
    best: dict[int, Any] = {}
    for m in found:
        if m.similarity >= floor or (widened and m.role == UNATTRIBUTED and len(keyed(m.phrase).key) < min_chars):
            continue
        if any(i == m.utterance_idx and a < m.span[1] and m.span[0] < b for i, (a, b) in taken):
            continue
        if m.utterance_idx not in best or m.similarity > best[m.utterance_idx].similarity:
            best[m.utterance_idx] = m
    return [best[i] for i in sorted(best)]


def _forbidden_by_sound(rule: Any, call: CallView, m: Any, spec: Any) -> tuple[Any, float | None]:
    """The phrase's reading over its utterance as the audio answered it (None: not yet
    asked), with the best score of the phrase's innocent readings (None: none heard)."""
    if not 0 <= m.utterance_idx < len(call.utterances):
        return None, None
    u = call.utterances[m.utterance_idx]
    wordings = [m.phrase] + list(getattr(spec, "innocent", ()) or ())
    readings = [Reading(u.channel, u.start_s, u.end_s, w) for w in wordings]
    heard = {h.reading.wording: h for h in call.hear(readings)}
    innocent = [heard[w].score for w in wordings[1:] if w in heard]
    return heard.get(m.phrase), max(innocent, default=None)


def _confirmed(rule: Any, heard: Any, innocent: float | None) -> bool:
    """A near miss counts when its reading is likely and beats every innocent reading by the margin."""
    margin = float(rule.params["sound_margin"])
    return heard.score >= float(rule.params["sound_accept"]) and (innocent is None or heard.score >= innocent + margin)


def _refuted(rule: Any, heard: Any, innocent: float | None) -> bool:
    """A text hit is dropped when its reading is unlikely or an innocent reading beats it by the margin."""
    margin = float(rule.params["sound_margin"])
    return heard.score < float(rule.params["sound_reject"]) or (innocent is not None and innocent > heard.score + margin)


WINDOW = seconds(0, 600)
CUSTOMER_SPEECH = Param(float, 0, 600, "seconds of customer speech in a silent line")
GREETING = Kind(check_greeting, groups=("greeting",), optional_groups=GREETING_PARTS,
                params={"window_s": WINDOW, "min_similarity": SIMILARITY, "sound_accept": SOUND_SCORE})
CLOSING = Kind(check_closing, groups=("offer_help", "farewell"), optional_groups=SILENT_LINE_WORDS,
               params={"window_s": WINDOW, "min_similarity": SIMILARITY, "max_customer_speech_s": CUSTOMER_SPEECH,
                       "sound_accept": SOUND_SCORE})
FORBIDDEN = Kind(check_forbidden, groups=("forbidden",), params={
    "unattributed_min_chars": Param(int, 1, 100, "characters"), "min_similarity": SIMILARITY,
    "sound_accept": SOUND_SCORE, "sound_margin": Param(float, 0, 5, "nats per token over an innocent reading"),
    "sound_confirm_below": Param(float, 0.5, 1.01, "similarity under which a hit is asked of the audio"),
    "sound_reject": SOUND_SCORE, "sound_min_chars": Param(int, 1, 100, "characters of a near miss")})
