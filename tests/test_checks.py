"""Each check kind on timelines and utterances built in code (no audio, no ASR)."""

from __future__ import annotations

import pytest

from built_calls import conversation, rule, rulebook, speech_of, substring_find, timeline, utt
from qa.phrases.rulebook import PhraseSpec
from qa.records import Interval
from qa.scoring.checks import KINDS, CallView, CheckError, run_rules


def run(r, tl, utts=(), others=()):
    rules = {x.rule_id: x for x in (r, *others)}
    return KINDS[r.kind].check(r, CallView(tl, tuple(utts), {}, rules, substring_find))


GREET = "您好,宇鑫客服中心,很高兴为您服务"
RINGS = rule("rings", max_rings=3)
APOLOGY = rule("late_apology", phrases={"apology": ["让您久等了"]}, window_s=10)


# ------------------------------------------------------------------ answer.rings
@pytest.mark.parametrize("count, expected", [(0, "pass"), (3, "pass"), (4, "fail"), (7, "fail")])
def test_rings_limit(count, expected):
    res = run(RINGS, timeline(rings=count, ring_source="detected", answer=5.0 * count + 1))
    assert res.outcome == expected
    assert len(res.findings) == (expected == "fail")
    if expected == "fail":
        f = res.findings[0]
        assert f.clause == RINGS.source and str(count) in f.evidence
        assert f.start_s == pytest.approx(0.5) and f.end_s == pytest.approx(5.0 * count + 1)
        assert res.points == RINGS.points


def test_rings_metadata_count_is_used_as_given():
    # metadata said 5 rings while nothing was detected in the audio
    res = run(RINGS, _with(timeline(ring_source="metadata"), ring_count=5))
    assert res.outcome == "fail"


def _with(tl, **changes):
    from dataclasses import replace
    return replace(tl, **changes)


def test_rings_na_without_any_ring_information():
    res = run(RINGS, timeline(rings=0, ring_source="none"))
    assert res.outcome == "na" and res.points == 0 and not res.findings


def test_rings_custom_limit():
    assert run(rule("rings", max_rings=1), timeline(rings=2, ring_source="detected")).outcome == "fail"


# ------------------------------------------------------------------ answer.late_apology
def test_late_apology_na_when_answered_in_time():
    utts = [utt("agent", 12, 14, GREET)]
    assert run(APOLOGY, conversation(utts, rings=3, ring_source="detected"), utts, [RINGS]).outcome == "na"
    assert run(APOLOGY, conversation(utts), utts, [RINGS]).outcome == "na"  # no ring info at all


def test_late_apology_pass_and_fail():
    ok = [utt("agent", 21, 24, "对不起,让您久等了," + GREET)]
    bad = [utt("agent", 21, 24, GREET), utt("customer", 25, 27, "我要查快递")]
    late = dict(rings=4, ring_source="detected", answer=20.5)
    assert run(APOLOGY, conversation(ok, **late), ok, [RINGS]).outcome == "pass"
    res = run(APOLOGY, conversation(bad, **late), bad, [RINGS])
    assert res.outcome == "fail"
    assert res.findings[0].start_s == 21 and GREET in res.findings[0].evidence


def test_late_apology_too_late_in_the_call_fails():
    utts = [utt("agent", 21, 24, GREET), utt("agent", 40, 42, "让您久等了")]
    res = run(APOLOGY, conversation(utts, rings=5, ring_source="detected"), utts, [RINGS])
    assert res.outcome == "fail"


def test_late_apology_applies_past_its_own_ring_limit():
    """The limit is the rule's own param (the default rulebook names the shared max_rings setting),
    never read from whichever rings rule comes first."""
    utts = [utt("agent", 12, 14, GREET)]
    tl = conversation(utts, rings=2, ring_source="detected")
    strict = rule("late_apology", phrases=APOLOGY.phrases, max_rings=1)
    assert run(strict, tl, utts, [rule("rings", max_rings=5)]).outcome == "fail"
    assert run(rule("late_apology", phrases=APOLOGY.phrases, max_rings=2), tl, utts,
               [rule("rings", max_rings=1)]).outcome == "na"


def test_late_apology_agent_silent_fails():
    res = run(APOLOGY, timeline(rings=4, ring_source="detected", answer=20), (), [RINGS])
    assert res.outcome == "fail"


# ------------------------------------------------------------------ greeting.opening
GREETING = rule("greeting", phrases={"greeting": ["您好,宇鑫客服中心", "您好,客服中心"]}, window_s=8)


def test_greeting_within_window_of_answer_onset():
    utts = [utt("agent", 16, 19, GREET)]
    assert run(GREETING, conversation(utts, answer=10.0), utts).outcome == "pass"
    res = run(GREETING, conversation(utts, answer=5.0), utts)  # starts 11 s after the answer
    assert res.outcome == "fail" and res.findings[0].start_s == 5.0 and res.findings[0].end_s == 13.0


def test_greeting_by_customer_does_not_count():
    utts = [utt("customer", 0.5, 2, "您好,客服中心吗"), utt("agent", 2.5, 4, "嗯,说")]
    res = run(GREETING, conversation(utts, answer=0.0), utts)
    assert res.outcome == "fail" and "嗯,说" in res.findings[0].evidence


def test_greeting_without_onset_counts_from_first_speech():
    utts = [utt("agent", 30, 33, GREET)]
    assert run(GREETING, conversation(utts), utts).outcome == "pass"


def test_greeting_silent_agent_fails():
    assert run(GREETING, timeline(customer=[(1, 3)]), ()).outcome == "fail"


GREETING_PARTS = rule("greeting", phrases={"greeting": ["您好,宇鑫客服中心,工号"], "salutation": ["您好", "欢迎致电"],
                                         "introduction": ["客服部", "号为您服务"],
                                         "offer": ["请问有什么可以帮您"]}, window_s=8)


@pytest.mark.parametrize("said, expected", [
    ("欢迎致电富茂汽车客服部,请讲", "pass"),  # both parts, no script
    ("您好,2100号为您服务", "pass"),
    ("也好,富茂汽车客服部,请问有什么可以帮您", "pass without salutation"),  # 您好 misheard
    ("您好,请讲", "fail"),  # a salutation alone introduces no one
    ("您好,请问有什么可以帮您", "fail"),  # nor with the offer
    ("富茂汽车客服部,什么事", "fail"),  # an introduction without a greeting
])
def test_greeting_by_its_parts(said, expected):
    utts = [utt("agent", 1, 4, said)]
    res = run(GREETING_PARTS, conversation(utts, answer=0.5), utts)
    assert res.outcome == expected.split()[0]
    if res.outcome == "pass":
        assert "组成部分" in res.detail
        assert ("未听到“您好”" in res.detail) == expected.endswith("without salutation")


@pytest.mark.parametrize("min_similarity, expected", [(None, "pass"), (1.0, "fail")])
def test_a_rule_can_ask_for_the_exact_wording(min_similarity, expected):
    """`min_similarity` 1.0 takes only the phrase's own characters; the default also
    takes a misheard one (来店 for 来电)."""
    params = {"window_s": 8} if min_similarity is None else {"window_s": 8, "min_similarity": min_similarity}
    greeting = rule("greeting", phrases={"greeting": ["您好,宇鑫客服中心,很高兴为您服务"]}, **params)
    utts = [utt("agent", 1, 4, "您好,宇鑫客服中新,很高兴为您服务")]
    res = KINDS["greeting"].check(greeting, CallView(conversation(utts, answer=0.5), tuple(utts), {}, {}))
    assert res.outcome == expected


def test_greeting_parts_without_an_offer_group_need_the_salutation():
    """A custom rulebook with no `offer` group keeps the two-part rule."""
    book = rule("greeting", phrases={"greeting": ["您好,宇鑫客服中心,工号"], "salutation": ["您好"],
                                     "introduction": ["客服部"]}, window_s=8)
    utts = [utt("agent", 1, 4, "富茂汽车客服部,请问有什么可以帮您")]
    assert run(book, conversation(utts, answer=0.5), utts).outcome == "fail"


def test_greeting_parts_must_both_fall_in_the_window():
    utts = [utt("agent", 1, 3, "您好"), utt("agent", 20, 22, "客服部")]
    assert run(GREETING_PARTS, conversation(utts, answer=0.5), utts).outcome == "fail"


# ------------------------------------------------------------------ closing.farewell
CLOSING = rule("closing", phrases={"offer_help": ["请问还有什么可以帮助您"],
                                   "farewell": ["感谢您的来电", PhraseSpec("再见", exclusions=("再见面",))]},
               window_s=20)
TALK = [utt("agent", 1, 4, GREET), utt("customer", 5, 9, "我想查一下我的快递到哪里了"),
        utt("agent", 10, 20, "好的,已经帮您查到了,明天送达")]


def _closing_with_matcher(offer: str, farewell: str = "感谢您的来电", *others):
    """The closing check with the real fuzzy matcher (no substring stand-in)."""
    utts = TALK + [utt("agent", 25, 28, offer), utt("customer", 29, 30, "没有了"), utt("agent", 31, 33, farewell)]
    rules = {r.rule_id: r for r in (CLOSING, *others)}
    return KINDS["closing"].check(CLOSING, CallView(conversation(utts), tuple(utts), {}, rules))


def test_a_missing_closing_line_points_to_a_likely_misheard_one():
    res = _closing_with_matcher("还有神马可以帮助你")  # 0.72: below the 0.8 floor, above 0.6
    assert res.outcome == "fail"
    [f] = res.findings
    assert "疑似识别误差" in f.evidence and "还有神马可以帮助你" in f.evidence and "请听录音核实" in f.evidence


def test_no_near_miss_for_a_line_that_is_not_there_or_is_another_rules_phrase():
    assert "疑似识别误差" not in _closing_with_matcher("好的,没别的事我先挂了").findings[0].evidence
    offer = "请问还有什么可以帮助您"
    # 感谢您的耐心 comes near 感谢您的来电 (0.79), but where a hold rule says 感谢您的耐心等待
    # the words are that phrase, heard well, not a misheard farewell.
    alone = _closing_with_matcher(offer, "感谢您的耐心等待")
    assert "疑似识别误差" in alone.findings[0].evidence
    hold = rule("hold", phrases={"wait_request": ["请您稍等"], "thanks": ["感谢您的耐心等待"]})
    explained = _closing_with_matcher(offer, "感谢您的耐心等待", hold)
    assert explained.outcome == "fail" and "疑似识别误差" not in explained.findings[0].evidence


def test_closing_pass():
    utts = TALK + [utt("agent", 25, 28, "请问还有什么可以帮助您"), utt("customer", 29, 30, "没有了"),
                   utt("agent", 31, 33, "感谢您的来电,再见")]
    assert run(CLOSING, conversation(utts), utts).outcome == "pass"


def test_closing_missing_offer_and_farewell_are_separate_findings():
    utts = TALK + [utt("agent", 25, 27, "好的那就这样")]
    res = run(CLOSING, conversation(utts), utts)
    assert res.outcome == "fail" and len(res.findings) == 2


def test_closing_only_counts_in_the_last_window():
    utts = TALK + [utt("agent", 21, 23, "请问还有什么可以帮助您"), utt("customer", 24, 60, "还有一个问题" * 10),
                   utt("agent", 61, 63, "感谢您的来电,再见")]
    res = run(CLOSING, conversation(utts), utts)
    assert res.outcome == "fail" and len(res.findings) == 1 and "帮助" in res.findings[0].evidence


def test_closing_exclusion_is_respected():
    utts = TALK + [utt("agent", 25, 28, "请问还有什么可以帮助您,下次再见面聊")]
    assert run(CLOSING, conversation(utts), utts).outcome == "fail"


def test_closing_na_on_a_silent_line():
    utts = [utt("agent", 1, 3, "您好,请问有什么可以帮助您")]
    assert run(CLOSING, conversation(utts), utts).outcome == "na"


# ------------------------------------------------------------------ phrase.forbidden
FORBIDDEN = rule("forbidden", points=20, phrases={"forbidden": [
    PhraseSpec("不清楚", exclusions=("不清楚的地方",)),
    PhraseSpec("喂", severity="minor"),
    PhraseSpec("有本事就投诉我", severity="critical"),
]})


def test_forbidden_one_finding_per_hit_with_phrase_severity():
    utts = [utt("agent", 1, 3, "喂,你好"), utt("customer", 4, 6, "喂?我不清楚"),
            utt("agent", 7, 9, "这个我不清楚"), utt("agent", 10, 12, "有本事就投诉我")]
    res = run(FORBIDDEN, conversation(utts), utts)
    assert res.outcome == "fail" and res.points == 20
    got = [(f.matched_phrase, f.severity, f.start_s) for f in res.findings]
    assert got == [("喂", "minor", 1), ("不清楚", "major", 7), ("有本事就投诉我", "critical", 10)]
    assert all(f.role == "agent" and f.clause == FORBIDDEN.source for f in res.findings)


def test_forbidden_exclusion_and_clean_call_pass():
    utts = [utt("agent", 1, 5, "如果您还有不清楚的地方,请再来电")]
    assert run(FORBIDDEN, conversation(utts), utts).outcome == "pass"


def test_forbidden_sentence_in_unattributed_mono_speech_is_a_marked_finding():
    utts = [utt("agent", 1, 3, "您好,请讲"), utt("unknown", 4, 7, "这个我不清楚,有本事就投诉我")]
    tl = _with(conversation(utts), stereo=False)
    res = run(FORBIDDEN, tl, utts)
    assert res.outcome == "fail"
    # 不清楚 is three characters: both sides say it, so unattributed it is not evidence
    assert [(f.matched_phrase, f.role) for f in res.findings] == [("有本事就投诉我", "unknown")]
    assert "说话人未确认" in res.findings[0].evidence


@pytest.mark.parametrize("stereo", [True, False])
def test_forbidden_word_in_unattributed_speech_passes(stereo):
    utts = [utt("agent", 1, 3, "您好,请讲"), utt("unknown", 4, 7, "我也不知道,不行就算了")]
    assert run(FORBIDDEN, _with(conversation(utts), stereo=stereo), utts).outcome == "pass"


def test_forbidden_in_unattributed_speech_can_be_turned_off():
    strict = rule("forbidden", phrases=FORBIDDEN.phrases, unattributed_min_chars=99)
    utts = [utt("unknown", 4, 7, "有本事就投诉我")]
    assert run(strict, _with(conversation(utts), stereo=False), utts).outcome == "pass"


# ------------------------------------------------------------------ silent_line.procedure
SILENT = rule("silent_line", pause_s=2.0, max_customer_speech_s=1.0, phrases={
    "greeting": ["您好,请问有什么可以帮助您"],
    "silent_closing": ["您的电话没有声音,请您换一部电话再次打来"],
    "threat": ["再不说话我就挂了"],
})
HELLO = "您好,请问有什么可以帮助您"
BYE = "对不起,您的电话没有声音,请您换一部电话再次打来,好吗?再见"


def silent_call(steps, duration):
    utts = [utt("agent", s, e, t) for s, e, t in steps]
    return conversation(utts, duration), utts


def test_silent_line_procedure_followed():
    tl, utts = silent_call([(1, 3, HELLO), (5.5, 7.5, HELLO), (10, 15, BYE)], 17.5)
    res = run(SILENT, tl, utts)
    assert res.outcome == "pass", res.detail


@pytest.mark.parametrize("steps, duration, failed", [
    ([(1, 3, HELLO), (10, 15, BYE)], 18, "没有再次问候"),
    ([(1, 3, HELLO), (3.8, 5.8, HELLO), (8, 13, BYE)], 16, "两次问候之间停顿0.8秒"),
    ([(1, 3, HELLO), (5.5, 7.5, HELLO), (8.5, 13, BYE)], 16, "结束语之前停顿1.0秒"),
    ([(1, 3, HELLO), (5.5, 7.5, HELLO)], 10, "没有说无声结束语"),
    ([(1, 3, HELLO), (5.5, 7.5, HELLO), (10, 15, BYE)], 15.3, "立即挂机"),
    ([(1, 3, HELLO), (5.5, 7.5, HELLO), (9, 11, "喂,再不说话我就挂了"), (13, 18, BYE)], 21, "威胁"),
])
def test_silent_line_names_the_failed_step(steps, duration, failed):
    tl, utts = silent_call(steps, duration)
    res = run(SILENT, tl, utts)
    assert res.outcome == "fail"
    assert len(res.findings) == 1 and failed in res.findings[0].evidence, res.detail


def test_silent_line_pause_is_a_rulebook_setting():
    tl, utts = silent_call([(1, 3, HELLO), (5.5, 7.5, HELLO), (10, 15, BYE)], 17.5)
    strict = rule("silent_line", pause_s=5.0, max_customer_speech_s=1.0, phrases=SILENT.phrases)
    res = run(strict, tl, utts)
    assert res.outcome == "fail" and len(res.findings) == 3, res.detail  # both pauses and the hang-up


def test_silent_line_na_when_the_customer_speaks():
    utts = [utt("agent", 1, 3, HELLO), utt("customer", 4, 7, "我想问一下订单")]
    assert run(SILENT, conversation(utts), utts).outcome == "na"


def test_silent_line_short_noise_from_customer_still_applies():
    tl, utts = silent_call([(1, 3, HELLO), (10, 15, BYE)], 18)
    tl = _with(tl, speech={**tl.speech, "customer": (Interval(4.0, 4.5),)})
    assert run(SILENT, tl, utts).outcome == "fail"


def test_silent_line_na_on_mono_without_roles():
    tl, utts = silent_call([(1, 3, HELLO)], 10)
    assert run(SILENT, _with(tl, stereo=False, speech={"unknown": tl.speech["agent"]}), utts).outcome == "na"


def test_silent_line_on_mono_needs_the_procedure_in_words():
    # everything attributed to the agent: a real conversation must not look like a silent line
    talk = [utt("agent", 1, 3, HELLO), utt("agent", 4, 8, "我家水管漏水了能派人来修吗"), utt("agent", 9, 12, "好的明天上门")]
    tl = _with(conversation(talk), stereo=False)
    assert run(SILENT, tl, talk).outcome == "na"
    silent, utts = silent_call([(1, 3, HELLO), (5.5, 7.5, HELLO), (10, 15, BYE)], 17.5)
    assert run(SILENT, _with(silent, stereo=False), utts).outcome == "pass"


def test_silent_line_on_mono_with_the_agents_speech_partly_unattributed():
    # Attribution named some of the agent's lines, left the threat unknown: still a silent line.
    silent, utts = silent_call([(1, 3, HELLO), (5.5, 7.5, HELLO), (9, 11, "喂,再不说话我就挂了"), (13, 18, BYE)], 21)
    speech = {"agent": silent.speech["agent"][:2], "unknown": silent.speech["agent"][2:]}
    res = run(SILENT, _with(silent, stereo=False, speech=speech), utts)
    assert res.outcome == "fail" and "威胁" in res.findings[0].evidence, res.detail


def test_silent_line_garbled_second_greeting_still_counts_as_a_greeting():
    tl, utts = silent_call([(1, 3, HELLO), (5.5, 7.5, "您好青文又什么"), (10, 15, BYE)], 17.5)
    assert run(SILENT, tl, utts).outcome == "pass"
    tl, utts = silent_call([(1, 3, HELLO), (5.5, 7.5, "喂,再不说话我就挂了"), (10, 15, BYE)], 17.5)
    res = run(SILENT, tl, utts)
    assert res.outcome == "fail" and {"没有再次问候" in f.evidence or "威胁" in f.evidence for f in res.findings} == {True}


# ------------------------------------------------------------------ hold.procedure
HOLD = rule("hold", min_hold_s=10, window_s=10, phrases={
    "wait_request": ["请您稍等"], "after_hold": ["感谢您的耐心等待", "让您久等了"]})
BEFORE = [utt("agent", 1, 4, GREET), utt("customer", 5, 8, "帮我查一下订单"),
          ]


def hold_call(ask: str, after: str, gap: float):
    utts = BEFORE + [utt("agent", 9, 11, ask), utt("agent", 11 + gap, 13 + gap, after),
                     utt("customer", 14 + gap, 16 + gap, "好的谢谢")]
    return conversation(utts), utts


def test_hold_pass():
    tl, utts = hold_call("好的,请您稍等", "感谢您的耐心等待,查到了", 15)
    res = run(HOLD, tl, utts)
    assert res.outcome == "pass" and "等待 11.0-26.0秒" in res.detail


def test_hold_missing_request_and_thanks():
    tl, utts = hold_call("好的", "查到了", 15)
    res = run(HOLD, tl, utts)
    assert res.outcome == "fail" and len(res.findings) == 2
    assert res.findings[0].end_s == 11.0 and res.findings[1].start_s == 26.0


def test_hold_thanks_misheard_is_pointed_out():
    tl, utts = hold_call("好的,请您稍等", "您的来行等待,查到了", 15)  # 感谢您的耐心等待, 0.65
    res = KINDS["hold"].check(HOLD, CallView(tl, tuple(utts), {}, {HOLD.rule_id: HOLD}))
    [f] = res.findings
    assert res.outcome == "fail" and "疑似识别误差" in f.evidence and "感谢您的耐心等待" in f.evidence
    tl, utts = hold_call("好的,请您稍等", "查到了", 15)
    assert "疑似识别误差" not in KINDS["hold"].check(HOLD, CallView(tl, tuple(utts), {}, {})).findings[0].evidence


def test_hold_music_blips_with_no_words_do_not_split_a_hold():
    """A hold-music note's attack detected as 0.12 s of 'speech' every 3 s."""
    utts = BEFORE + [utt("agent", 9, 11, "好的"), utt("agent", 24, 26, "查到了"), utt("customer", 27, 29, "好的谢谢")]
    speech = speech_of(utts, "agent") + ((12.0, 12.12), (15.0, 15.12), (18.0, 18.12), (21.0, 21.12))
    tl = timeline(30, agent=speech, customer=speech_of(utts, "customer"))
    res = run(HOLD, tl, utts)
    assert res.outcome == "fail" and "等待 11.0-24.0秒" in res.detail
    guessed = utts + [utt("agent", 17.6, 18.5, "你")]  # one character written over a blip
    assert "等待 11.0-24.0秒" in run(HOLD, tl, guessed).detail
    said = utts + [utt("customer", 18.0, 18.3, "好的")]  # words heard there: two pauses, no hold
    tl = timeline(30, agent=speech, customer=speech_of(said, "customer"))
    assert run(HOLD, tl, said).outcome == "na"


def test_hold_na_for_short_silence_and_for_silent_line():
    tl, utts = hold_call("好的", "查到了", 5)
    assert run(HOLD, tl, utts).outcome == "na"
    agent_only = [utt("agent", 1, 3, HELLO), utt("agent", 20, 25, BYE)]
    assert run(HOLD, conversation(agent_only), agent_only).outcome == "na"


def test_hold_leading_and_trailing_silence_is_not_a_hold():
    utts = [utt("agent", 30, 33, GREET), utt("customer", 34, 36, "你好")]
    assert run(HOLD, conversation(utts, duration=80), utts).outcome == "na"


# ------------------------------------------------------------------ talk.interruption
INTERRUPT = rule("interruption", min_overlap_s=1.0)


def talk_timeline(**speech):
    """A timeline whose overlaps come from its speech, as build_timeline makes them."""
    from qa.transcribe.timeline import turn_overlaps

    tl = timeline(**speech)
    return _with(tl, overlaps=turn_overlaps(tl.speech))


def test_interruption_agent_starts_inside_a_customer_turn():
    tl = talk_timeline(agent=[(1, 4), (12, 15), (21, 21.4), (31, 34)],
                       customer=[(5, 13.5), (20, 25), (30, 31.5)])
    utts = [utt("agent", 12, 15, "不是这样的你听我讲")]
    res = run(INTERRUPT, tl, utts)
    # 12-13.5 is 1.5 s over the customer; 21 is a 0.4 s backchannel; at 30 the customer started over the agent
    assert res.outcome == "fail" and len(res.findings) == 1
    f = res.findings[0]
    assert (f.start_s, f.end_s) == (12, 13.5) and "你听我讲" in f.evidence


def test_interruption_fragmented_double_talk_is_one_turn():
    # both channels break into slivers while both speak (bleed gating): 20.4-22.9 is one interruption
    tl = talk_timeline(agent=[(20.4, 20.8), (20.8, 20.9), (21.0, 21.4), (21.7, 21.9), (22.0, 23.6)],
                       customer=[(14.7, 20.5), (20.6, 21.0), (21.1, 21.3), (21.4, 22.0), (22.1, 22.2),
                                 (22.7, 22.9)])
    res = run(INTERRUPT, tl)
    assert res.outcome == "fail" and len(res.findings) == 1
    assert res.findings[0].start_s == 20.4 and res.findings[0].end_s == 22.9
    assert "2.5秒" in res.findings[0].evidence


def test_interruption_reads_the_timeline_overlaps():
    # The customer talked over the agent: not the agent's fault, however long.
    tl = timeline(agent=[(1, 6)], customer=[(2, 6)], overlaps=[(2, 6, "customer", "agent")])
    assert run(INTERRUPT, tl).outcome == "pass"
    tl = timeline(agent=[(3, 6)], customer=[(1, 6)], overlaps=[(3, 4.5, "agent", "customer")])
    res = run(INTERRUPT, tl)
    assert res.outcome == "fail" and (res.findings[0].start_s, res.findings[0].end_s) == (3, 4.5)


def test_interruption_pass_and_mono_na():
    tl = talk_timeline(agent=[(1, 4), (9.8, 12)], customer=[(5, 10)])  # 0.2 s turn-taking jitter
    assert run(INTERRUPT, tl).outcome == "pass"
    assert run(INTERRUPT, timeline(stereo=False, agent=[(1, 4)], customer=[(2, 5)])).outcome == "na"


# ------------------------------------------------------------------ talk.speech_rate
RATE = rule("speech_rate", max_chars_per_minute=300, min_speech_s=20)


def rate_call(chars: int, seconds: float):
    utts = [utt("agent", 0, seconds / 2, "好" * (chars // 2)), utt("agent", 40, 40 + seconds / 2, "好" * (chars - chars // 2))]
    return timeline(100, agent=[(0, seconds / 2), (40, 40 + seconds / 2)]), utts


@pytest.mark.parametrize("chars, seconds, expected", [(150, 30, "pass"), (150, 29.9, "fail"), (100, 15, "na")])
def test_speech_rate(chars, seconds, expected):
    tl, utts = rate_call(chars, seconds)
    res = run(RATE, tl, utts)
    assert res.outcome == expected, res.detail


def test_speech_rate_counts_han_characters_only_and_signal_time():
    tl, utts = rate_call(100, 30)
    utts = [utt("agent", u.start_s, u.end_s, u.text + "OK123,,,") for u in utts]
    assert run(RATE, tl, utts).detail.startswith("语速200字/分钟")


# ------------------------------------------------------------------ registry
def test_run_rules_skips_disabled_and_rejects_unknown_kinds():
    from dataclasses import replace
    book = rulebook(RINGS, replace(GREETING, enabled=False))
    results = run_rules(book, timeline(rings=5, ring_source="detected"), (), find=substring_find)
    assert [r.rule_id for r in results] == [RINGS.rule_id]
    from qa.phrases.rulebook import RuleSpec
    telepathy = RuleSpec("x.y", "telepathy", "t", "s", 1.0, False, "minor", ("agent",))
    with pytest.raises(CheckError, match="unknown kind"):
        run_rules(rulebook(telepathy), timeline(), (), find=substring_find)


def test_missing_phrase_group_is_a_check_error():
    broken = rule("greeting", window_s=8)
    with pytest.raises(CheckError, match="greeting"):
        run(broken, timeline(agent=[(1, 2)]), [utt("agent", 1, 2, "您好")])


def test_default_rulebook_kinds_all_have_checks():
    from qa.phrases.rulebook import load_rulebook
    assert {r.kind for r in load_rulebook().rules.values()} <= set(KINDS)
