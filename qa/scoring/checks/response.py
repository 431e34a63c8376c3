"""Scenario rules: when a party says something, the agent must answer in a set way.

001 第三篇 and 第五篇 list the situations of a call with the line the agent must
say and what it must not say: the customer thanks (不客气), apologizes (没关系),
complains; the agent cannot hear, must refuse, has finished explaining. A
`response` rule holds a trigger (phrases said by `trigger_party`, optionally
followed by `trigger_silence_s` of silence from the other side), the required
answer (phrases the agent says within `within_s` of the end of the
trigger's utterance, optionally then a pause of
`end_silence_s` before the recording ends: announce, wait, hang up) and the
answers not allowed there.

- na: the trigger was not heard;
- fail: an answer not allowed was given, or no answer (asked of the audio
  before it counts as missing), or the line was hung up without the pause;
- pass otherwise. Each finding spans the trigger and the answer window.

A trigger the recognizer garbled (a near miss under the rule's floor, from
`trigger_sound_floor` up, and not another rule's phrase heard better: 可以帮助您
of the closing is no garbled 不能帮助您) is asked of the audio: it counts when its reading
scores `trigger_sound_accept` and beats each of the phrase's exclusions (its
innocent contexts, 不好意思,请问) read over the same span. So is, for an agent's
trigger, the agent's rude form of the line (`not_allowed`: 喂,听懂了吧 heard as
威厅走了吧); and behind an answer not allowed in a customer's situation
(小意思啦,客气啥), the customer's utterance just before it, for the trigger
phrases: the answer says which situation it was. An answer to a customer's
words missing by text is asked of the agent's next turn only (up to the
customer's next words).

A customer's trigger is only the customer's words: the agent saying 谢谢 or
对不起 never fires it, and neither does speech on mono the voices left
unattributed (it is as often the agent's), except in a wording no agent says
(我要投诉, 交个朋友): such a phrase carries roles = ["customer", "unknown"]. An agent's trigger (its own words
in the situation: 听不清, 再说一遍) is the agent's words alone, for the same reason.
"""

from __future__ import annotations

from typing import Any

from dataclasses import replace

from qa.phrases.textnorm import keyed
from qa.phrases.rulebook import PhraseSpec
from qa.records import Match, Reading, RuleResult, Utterance
from qa.scoring.checks.base import EDGE_SLACK_S, CallView, finding, missing_line, outcome, param
from qa.scoring.checks.kinds import SIMILARITY, SOUND_SCORE, Kind, Param, seconds
from qa.scoring.messages import detail, evidence

PARTIES = ("customer", "agent")


def check_response(rule: Any, call: CallView) -> RuleResult:
    party = str(rule.params["trigger_party"])
    within_s = param(rule, "within_s")
    roles = call.required_roles(rule)
    answers = call.matches(rule, "answer", roles=roles)
    banned = call.matches(rule, "not_allowed", roles=roles, joined=False) if rule.phrases.get("not_allowed") else []
    triggers = call.matches(rule, "trigger", roles=(party,), joined=False)
    if party == "agent":
        # The agent's rude form of its own situation line is that situation too (喂,听懂了吧 heard
        # while its trigger words 听懂了吧 were garbled), itself garbled or not.
        banned += _near_by_sound(rule, call, "not_allowed", party, banned)
        triggers += [m for m in banned if m.role == party or m.role in _phrase_roles(rule, "not_allowed", m)]
    triggers += _near_by_sound(rule, call, "trigger", party, triggers)
    if party == "customer":
        triggers += _triggers_before(rule, call, banned, triggers)
    triggers = [t for t in triggers if _held(rule, call, t, party)]
    if not triggers:
        return outcome(rule, (), detail("response.no_trigger"), na=True)
    findings, notes = [], []
    for first, last in _episodes(triggers, within_s):
        # The agent's own situation line may carry the required wording before its trigger words.
        lo = first.start_s - (within_s if party == "agent" else 0.0)
        # Counted from the end of the trigger's utterance: a customer explains a suggestion after 我有个建议.
        said_in = call.utterance_of(last)
        hi = max(last.end_s, said_in.end_s if said_in else last.end_s) + within_s
        trigger_text = _said(call, first)
        bad = [m for m in banned if lo - EDGE_SLACK_S <= m.start_s <= hi]
        given = [m for m in answers if lo - EDGE_SLACK_S <= m.start_s <= hi
                 and not any(b.utterance_idx == m.utterance_idx and b.span == m.span for b in bad)]
        if bad:
            m = bad[0]
            findings.append(finding(rule, first.start_s, max(m.end_s, last.end_s), "response.not_allowed",
                                    anchor_s=first.start_s, match=m, role=m.role, trigger=trigger_text,
                                    at=first.start_s, said=_said(call, m)))
        elif given:
            notes.append(detail("response.answered", trigger=_said(call, first) if first.sound is not None else first.text, at=first.start_s,
                                answer=given[0].text, after=max(0.0, given[0].start_s - last.end_s)))
            hung = _hung_up_at_once(rule, call, given[-1])
            if hung is not None:
                findings.append(finding(rule, first.start_s, call.timeline.duration_s, "response.hung_up_at_once",
                                        anchor_s=first.start_s, match=given[-1], trigger=trigger_text,
                                        at=first.start_s, measured=hung, limit=param(rule, "end_silence_s")))
        else:
            # By sound, a customer's words are answered in the agent's next turn: a short wording put
            # into a later, unrelated line (马上为您处理 into 我马上为您更正) sounds close enough.
            heard_in = (lo, _turn_end(call, last.end_s, hi)) if party == "customer" else None
            f = missing_line(rule, call, "answer", roles, (lo, hi), "response.no_answer", notes,
                             anchor_s=first.start_s, span=(first.start_s, hi), sound_window=heard_in,
                             trigger=trigger_text,
                             at=first.start_s, within=within_s,
                             said=call.said("agent", last.end_s if party == "customer" else lo, hi))
            if f is not None:
                findings.append(f)
    return outcome(rule, findings, "; ".join(notes) or detail("response.count", count=len(findings)))


def _near_by_sound(rule: Any, call: CallView, group: str, party: str, taken: list[Match]) -> list[Match]:
    """Phrases of `group` (triggers, or an agent's situation line said rudely) heard under the
    rule's floor (from `trigger_sound_floor`), away from the text's matches: the closest per
    utterance, kept when the audio says it (see the module doc)."""
    floor, lowest = param(rule, "min_similarity"), param(rule, "trigger_sound_floor")
    specs = {p.text: p for p in rule.phrases.get(group, ())
             if len(keyed(p.text).key) >= int(rule.params["trigger_sound_min_chars"])}
    if lowest >= floor or not specs:
        return []
    near: dict[int, Match] = {}
    for m in call.find(tuple(specs.values()), call.utterances, roles=(party,), slots=call.slots or None,
                       min_similarity=lowest):
        if m.similarity >= floor or any(t.utterance_idx == m.utterance_idx and t.span[0] < m.span[1]
                                        and m.span[0] < t.span[1] for t in taken) or call.another_phrase(rule, m):
            continue
        if m.utterance_idx not in near or m.similarity > near[m.utterance_idx].similarity:
            near[m.utterance_idx] = m
    out = []
    for idx in sorted(near):
        m = near[idx]
        score = _said_by_sound(rule, call, call.utterances[idx], specs[m.phrase])
        if score is not None:
            out.append(replace(m, sound=score))
    return out


def _said_by_sound(rule: Any, call: CallView, u: Utterance, spec: PhraseSpec) -> float | None:
    """The score of `spec` read over utterance `u` when it reaches `trigger_sound_accept` and beats
    each of the phrase's exclusions and innocent readings (its harmless contexts) over the same span."""
    wordings = [spec.text] + list(spec.exclusions) + list(spec.innocent)
    heard = {h.reading.wording: h for h in call.hear([Reading(u.channel, u.start_s, u.end_s, w) for w in wordings])}
    said = heard.get(spec.text)
    if said is None or said.score < param(rule, "trigger_sound_accept"):
        return None
    if any(heard[w].score >= said.score for w in wordings[1:] if w in heard):
        return None  # the innocent context explains the sound as well
    return said.score


def _triggers_before(rule: Any, call: CallView, banned: list[Match], taken: list[Match]) -> list[Match]:
    """A customer's trigger the text lost, behind an answer not allowed in its situation (小意思啦,
    客气啥; 不好意思,我是新手啦): the customer's utterance just before that answer is asked of the
    audio for the trigger phrases (of `trigger_sound_min_chars` up) it may hold; the best one counts
    when the audio says it (see `_said_by_sound`)."""
    within_s, shortest = param(rule, "within_s"), int(rule.params["trigger_sound_min_chars"])
    specs = [p for p in rule.phrases["trigger"] if len(keyed(p.text).key) >= shortest]
    out: list[Match] = []
    for b in banned:
        if any(t.start_s - EDGE_SLACK_S <= b.start_s <= t.end_s + within_s for t in taken + out):
            continue
        before = [(i, u) for i, u in enumerate(call.utterances)
                  if u.role != "agent" and u.start_s < b.start_s - EDGE_SLACK_S and u.end_s >= b.start_s - within_s]
        if not before:
            continue
        idx, u = before[-1]
        scored = [(score, p) for p in specs if u.role in (p.roles or ("customer",))
                  for score in [_said_by_sound(rule, call, u, p)] if score is not None]
        if scored:
            score, p = max(scored, key=lambda sp: sp[0])
            out.append(Match(phrase=p.text, text=u.text, utterance_idx=idx, span=(0, len(u.text)), similarity=0.0,
                             start_s=u.start_s, end_s=u.end_s, role=u.role, sound=score))
    return out


def _phrase_roles(rule: Any, group: str, m: Match) -> tuple[str, ...]:
    """The roles the rulebook gives the phrase `m` matched (empty: the rule's own)."""
    return next((p.roles for p in rule.phrases.get(group, ()) if p.text == m.phrase), ())


def _turn_end(call: CallView, after_s: float, hi: float) -> float:
    """The end of the agent's turn after `after_s`: when the customer next speaks (at most `hi`)."""
    starts = [u.start_s for u in call.utterances if u.role != "customer" and u.start_s >= after_s - EDGE_SLACK_S]
    if not starts:
        return hi
    later = [u.start_s for u in call.utterances if u.role == "customer" and u.start_s > min(starts)]
    return min(hi, min(later, default=hi))


def _episodes(triggers: list[Match], within_s: float) -> list[tuple[Match, Match]]:
    """Triggers whose answer windows overlap are one situation (谢谢, 太感谢了): (first, last) of each."""
    out: list[tuple[Match, Match]] = []
    for t in sorted(triggers, key=lambda m: m.start_s):
        if out and t.start_s <= out[-1][1].end_s + within_s:
            out[-1] = (out[-1][0], t if t.end_s > out[-1][1].end_s else out[-1][1])
        else:
            out.append((t, t))
    return out


def _held(rule: Any, call: CallView, trigger: Match, party: str) -> bool:
    """With `trigger_silence_s`, a trigger counts only when the recording goes on that long after it
    with nothing from the other side (the customer still on the line, silent)."""
    wait = param(rule, "trigger_silence_s")
    if wait <= 0:
        return True
    until = trigger.end_s + wait
    if call.timeline.duration_s < until:
        return False  # the line closed first: who hung up is the hang-up rule's question
    other = "agent" if party == "customer" else "customer"
    spoken = list(call.speech(other)) + [u for u in call.utterances if u.role in (other, "unknown")]
    return not any(s.end_s > trigger.end_s + EDGE_SLACK_S and s.start_s < until for s in spoken)


def _hung_up_at_once(rule: Any, call: CallView, answer: Match) -> float | None:
    """Seconds of silence between the answer (and any speech after it) and the recording's end,
    when shorter than `end_silence_s` (0: no pause asked for); else None."""
    want = param(rule, "end_silence_s")
    if want <= 0:
        return None
    last = max(answer.end_s, call.last_speech_end())
    measured = max(0.0, call.timeline.duration_s - last)
    return round(measured, 2) if measured + EDGE_SLACK_S < want else None


def _said(call: CallView, m: Match) -> str:
    """The trigger's utterance as recognized; for a trigger heard by sound, with what the audio said."""
    u = call.utterance_of(m)
    text = u.text if u is not None else m.text
    if m.sound is None:
        return text
    return evidence("response.trigger_by_sound", said=text, wording=m.phrase, score=m.sound)


RESPONSE = Kind(check_response, groups=("trigger", "answer"), optional_groups=("not_allowed",), params={
    "trigger_party": Param(str, what="who says the trigger", choices=PARTIES),
    "within_s": seconds(0, 600),
    "trigger_silence_s": Param(float, 0, 600, "seconds of silence from the other side after the trigger (0: none)"),
    "end_silence_s": Param(float, 0, 600, "seconds of pause after the answer before the line closes (0: none)"),
    "min_similarity": SIMILARITY, "sound_accept": SOUND_SCORE,
    "trigger_sound_floor": Param(float, 0, 1, "similarity from which a garbled trigger is asked of the audio"),
    "trigger_sound_accept": SOUND_SCORE,
    "trigger_sound_min_chars": Param(int, 1, 100, "characters of a trigger phrase asked of the audio")})
