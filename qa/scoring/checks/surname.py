"""Addressing by surname: once the customer gives a surname, the agent uses it.

001 第三篇 / 第五篇 (已知客户姓名时): 称呼“某先生/女士”, 不可以无视客户的姓名.
The customer gives it in a form of the rule's `given` group (我姓王, 免贵姓王,
我是王先生); the agent addresses the customer with a form of `address`
(王先生, 王女士). `{surname}` stands for the one character of the surname.
A form with `roles` also counts in their speech: on mono, 我姓王 in speech the
voices left unattributed (no agent says it), and the agent's address may then
follow in the same unattributed speech.

Both are matched by sound, character by character (near-homophone codes,
as the phrase matcher folds them): the recognizer writes a surname as any of
its homophones (王/汪, 姓/性), so 汪先生 addresses a 王.

- na: no surname given, or the agent spoke less than `min_agent_speech_s`
  after it (no chance to use it);
- fail: the agent never used the surname afterwards;
- pass otherwise.

An address the recognizer garbled (赵女士 heard as 照你是: agents address the
customer first thing in a turn, where a recognizer is least sure) is asked of
the audio before the rule fails: the surname with each title over the agent's
first `sound_utterances` utterances after it, accepted at `sound_accept`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from qa.phrases.textnorm import keyed
from qa.records import Reading, RuleResult, Utterance
from qa.scoring.checks import sound
from qa.scoring.checks.base import EDGE_SLACK_S, CallView, by_sound, finding, outcome, param
from qa.scoring.checks.kinds import SOUND_SCORE, Kind, Param
from qa.scoring.messages import detail, evidence

SLOT = "{surname}"


@dataclass(frozen=True)
class Said:
    """A form heard in an utterance: the surname's character and its sound (near-homophone code), and when."""

    char: str
    sound: str
    utterance: Utterance
    start_s: float
    end_s: float
    by_sound: tuple[str, float] | None = None  # (wording, score) when the audio, not the text, gave it


def forms_in(u: Utterance, forms: tuple[str, ...], not_surnames: frozenset[str]) -> Iterator[Said]:
    """Each `{surname}` form said in `u`, compared by near-homophone codes (姓/性, 赵/照)."""
    k = keyed(u.text)
    for form in forms:
        before, _, after = form.partition(SLOT)
        pre, post = keyed(before).near, keyed(after).near
        width = len(pre) + 1 + len(post)
        for i in range(len(k.near) - width + 1):
            j = i + len(pre)
            if k.near[i:j] != pre or k.near[j + 1:j + 1 + len(post)] != post:
                continue
            char = k.key[j]
            if not "\u4e00" <= char <= "\u9fff" or char in not_surnames:
                continue
            yield Said(char, k.near[j], u, _time(u, i, len(k.key)), _time(u, i + width, len(k.key)))


def _time(u: Utterance, index: int, length: int) -> float:
    """A time at key offset `index`: its share of the utterance (word times differ from key offsets)."""
    if length <= 0:
        return u.start_s
    return round(u.start_s + (u.end_s - u.start_s) * index / length, 3)


def _texts(rule: Any, group: str) -> tuple[str, ...]:
    return tuple(p.text for p in rule.phrases.get(group, ()))


def check_surname(rule: Any, call: CallView) -> RuleResult:
    stop = frozenset(_texts(rule, "not_surnames"))
    given = _given(rule, call, stop) or _given_by_sound(rule, call, stop)
    if given is None:
        return outcome(rule, (), detail("surname.not_given"), na=True)
    roles = call.required_roles(rule)
    later = [u for u in call.utterances if u.role in roles and u.start_s >= given.utterance.end_s - 0.3]
    spoken = sum(u.end_s - u.start_s for u in later)
    if spoken < param(rule, "min_agent_speech_s"):
        return outcome(rule, (), detail("surname.no_chance", surname=given.char, spoken=spoken), na=True)
    used = [s for u in later for s in forms_in(u, _texts(rule, "address"), stop)]
    if given.utterance.role == "unknown":  # mono: the agent's reply may run on in the same unattributed speech
        used += [s for s in forms_in(given.utterance, _texts(rule, "address"), stop) if s.start_s >= given.end_s]
    right = [s for s in used if s.sound == given.sound]
    if right:
        return outcome(rule, (), detail("surname.used", surname=given.char, address=right[0].utterance.text,
                                        at=right[0].start_s))
    heard = _address_by_sound(rule, call, given, later)
    if sound.accepted(rule, heard):
        return outcome(rule, (), by_sound(rule, "address", heard))
    end = max(u.end_s for u in later)
    said = given.utterance.text
    if given.by_sound is not None:
        said = evidence("response.trigger_by_sound", said=said, wording=given.by_sound[0], score=given.by_sound[1])
    unused = finding(rule, given.start_s, end, "surname.unused", anchor_s=given.start_s, role="agent",
                     surname=given.char, said=said, sound=heard)
    return outcome(rule, [unused], detail("surname.unused_detail", surname=given.char))


def _given(rule: Any, call: CallView, stop: frozenset[str]) -> Said | None:
    """The first surname given: in the customer's words, or in speech of a role its form names
    (我姓王 in unattributed mono speech: no agent says it)."""
    for u in call.utterances:
        forms = tuple(p.text for p in rule.phrases["given"] if u.role in (p.roles or ("customer",)))
        said = next(forms_in(u, forms, stop), None)
        if said is not None:
            return said
    return None


def _given_by_sound(rule: Any, call: CallView, stop: frozenset[str]) -> Said | None:
    """A surname the text lost at the start of the customer's words (你好,我姓黄 heard as 你好,国庆皇):
    each common surname (`common_surnames`) that sounds like one of the first `given_sound_chars`
    characters of the customer's first utterance is read as the rule's first `given` form over
    it; the best counts when it scores `given_sound_accept` and `given_sound_margin` above the rest."""
    chars = int(rule.params["given_sound_chars"])
    opening = next((u for u in call.utterances if u.role in ("customer", "unknown")), None)
    if chars <= 0 or opening is None:
        return None
    common: dict[str, str] = {}
    for ch in _texts(rule, "common_surnames"):
        common.setdefault(keyed(ch).near, ch)  # the commonest of homophones (王 before 汪)
    k = keyed(opening.text)
    first_at = {code: i for i, code in reversed(list(enumerate(k.near[:chars]))) if code in common}
    form = rule.phrases["given"][0].text
    asked = {form.replace(SLOT, common[code]): code for code in first_at if common[code] not in stop}
    heard = sorted(call.hear([Reading(opening.channel, opening.start_s, opening.end_s, w) for w in asked]),
                   key=lambda h: h.score, reverse=True)
    if not heard or heard[0].score < param(rule, "given_sound_accept"):
        return None
    if len(heard) > 1 and heard[0].score - heard[1].score < param(rule, "given_sound_margin"):
        return None  # two surnames explain the sound alike
    best = heard[0].reading.wording
    code = asked[best]
    at = _time(opening, first_at[code], len(k.key))
    return Said(common[code], code, opening, at, at, by_sound=(best, heard[0].score))


def _address_by_sound(rule: Any, call: CallView, given: Said, later: list[Utterance]) -> Any:
    """The best reading of the surname with a title over the agent's first utterances after it
    (on mono, the rest of the unattributed speech that gave it first, as the text is read)."""
    spans = [(u.channel, u.start_s, u.end_s) for u in later]
    u = given.utterance
    if u.role == "unknown" and u.end_s - given.end_s > EDGE_SLACK_S:
        spans.insert(0, (u.channel, max(u.start_s, given.end_s - EDGE_SLACK_S), u.end_s))
    wordings = [form.replace(SLOT, given.char) for form in _texts(rule, "address")]
    return sound.best(call.hear([Reading(*span, w) for span in spans[:int(rule.params["sound_utterances"])]
                                 for w in wordings]))


SURNAME = Kind(check_surname, groups=("given", "address"), params={
    "min_agent_speech_s": Param(float, 0, 600, "seconds of agent speech after the surname"),
    "sound_accept": SOUND_SCORE,
    "sound_utterances": Param(int, 0, 100, "agent utterances after the surname asked of the audio"),
    "given_sound_chars": Param(int, 0, 100, "leading characters of the customer's first words searched for a "
                                            "surname by sound (0: never asked)"),
    "given_sound_accept": SOUND_SCORE,
    "given_sound_margin": Param(float, 0, 20, "score by which the surname heard beats the other candidates")},
    optional_groups=("not_surnames", "common_surnames"),
    pattern_groups=("given", "address", "not_surnames", "common_surnames"))
