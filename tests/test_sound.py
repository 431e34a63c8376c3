"""Lines settled by sound: readings asked, answers looked up, decisions by the rulebook's thresholds.

The checks never touch audio: the audio's answers (`Heard`) are given here as
data, as a rescore reads them from the store. One test runs the real model.
"""

from __future__ import annotations

from pathlib import Path

from built_calls import conversation, rule, timeline, utt
from qa.phrases.rulebook import PhraseSpec
from qa.records import Heard, Interval
from qa.scoring.checks import KINDS, CallView
from qa.phrases.readings import put_in
from qa.scoring.checks.sound import joined_runs, spoken_forms, unworded_speech

CLOSING = rule("closing", phrases={"offer_help": ["请问还有什么可以帮助您"], "farewell": ["感谢您的来电"],
                                   "silent_line_words": []}, window_s=20)
TALK = [utt("agent", 1, 4, "您好,宇鑫客服中心,很高兴为您服务"), utt("customer", 5, 9, "我想查一下我的快递到哪里了"),
        utt("agent", 10, 20, "好的,已经帮您查到了,明天送达"), utt("agent", 25, 28, "请问还有什么可以帮助您"),
        utt("customer", 29, 30, "没有了")]
GARBLED = utt("agent", 31, 33, "好的,敢写年底赖账")  # 感谢您的来电 heard at 0.52


def _check(r, utts, heard=(), asked=None, stereo=True):
    view = CallView(conversation(utts, stereo=stereo), tuple(utts), {}, {r.rule_id: r},
                    heard={h.reading.key: h for h in heard},
                    asked=asked)
    return KINDS[r.kind].check(r, view)


def _answer(asked, score, hypothesis="好的,敢写年底赖账"):
    return [Heard(reading, score, hypothesis, put_in(hypothesis, reading.wording)) for reading in asked]


def test_a_missing_line_asks_the_audio_and_passes_when_the_reading_is_likely():
    utts = TALK + [GARBLED]
    asked = []
    first = _check(CLOSING, utts, asked=asked)
    assert first.outcome == "fail" and asked, "a missing farewell is asked of the audio"
    assert {r.wording for r in asked} == {"感谢您的来电"}
    assert any(r.start_s == 31 for r in asked)  # over the garbled line
    limit = CLOSING.params["sound_accept"]
    passed = _check(CLOSING, utts, heard=_answer(asked, limit + 0.1))
    assert passed.outcome == "pass" and "经录音核实" in passed.detail
    rejected = _check(CLOSING, utts, heard=_answer(asked, limit - 0.5))
    assert rejected.outcome == "fail"
    assert "录音核实" in rejected.findings[0].evidence and f"{limit - 0.5:+.2f}" in rejected.findings[0].evidence


def test_a_line_found_by_text_asks_nothing():
    asked = []
    utts = TALK + [utt("agent", 31, 33, "感谢您的来电,再见")]
    assert _check(CLOSING, utts, asked=asked).outcome == "pass" and asked == []


def test_a_line_split_across_utterances_of_one_party_is_matched_as_one_text():
    r = rule("greeting", phrases={"greeting": ["您好,宇鑫客服中心,很高兴为您服务"]}, window_s=8)
    split = [utt("agent", 1, 2.5, "您好,宇鑫客服中心,很高兴为"), utt("agent", 3.0, 4, "您服务"),
             utt("customer", 5, 9, "我想查一下快递")]
    assert _check(r, split).outcome == "pass"
    apart = [split[0], utt("agent", 6.0, 7, "您服务"), split[2]]  # a customer turn and 3 s between: two lines
    assert len(joined_runs(apart)) == 0


def test_joined_runs_keep_parties_apart_and_take_unknown_on_either_side():
    from qa.records import Utterance

    mono = [Utterance("agent", 0, 0, 1, "您好工号"), Utterance("unknown", 0, 1.2, 2, "三零二七"),
            Utterance("agent", 0, 2.3, 3, "为您服务"), Utterance("customer", 0, 3.2, 4, "你好")]
    texts = {u.text for u in joined_runs(mono)}
    assert "您好工号三零二七为您服务" in texts
    assert not any("你好" in t for t in texts)


def test_spoken_forms_expand_closed_slots_and_keep_the_fixed_piece_of_open_ones():
    slots = {"holiday": ("节日", "新年")}
    assert spoken_forms("{holiday}好,很高兴为您服务", slots) == ["节日好,很高兴为您服务", "新年好,很高兴为您服务"]
    assert spoken_forms("{agent_no}号为您服务", slots) == ["号为您服务"]
    assert spoken_forms("工号{agent_no}", slots) == []  # 工号 alone says too little to the ear


def test_put_in_replaces_what_sounds_closest():
    assert put_in("好的感谢您的来店再见", "感谢您的来电") == "好的感谢您的来电再见"
    assert put_in("为什么是", "喂,什么事") == "喂,什么事"
    assert put_in("好的,敢写年底赖账", "感谢您的来电").startswith("好")  # the garbled line is replaced, 好 kept


FORBIDDEN = rule("forbidden", phrases={"forbidden": [PhraseSpec("你问我,我问谁", innocent=("你问我,我问问",))]})


def test_a_forbidden_near_miss_counts_only_when_the_audio_prefers_it_to_its_innocent_readings():
    utts = [utt("agent", 1, 3, "你吻我好闷谁")]  # 0.71: under the 0.78 floor, a near miss
    asked = []
    assert _check(FORBIDDEN, utts, asked=asked).outcome == "pass"
    by_wording = {r.wording: r for r in asked}
    assert set(by_wording) == {"你问我,我问谁", "你问我,我问问"}
    phrase, innocent = by_wording["你问我,我问谁"], by_wording["你问我,我问问"]
    confirmed = _check(FORBIDDEN, utts, heard=[Heard(phrase, 3.5, "你吻我好闷谁"), Heard(innocent, 2.0, "")])
    assert confirmed.outcome == "fail" and "录音核实" in confirmed.findings[0].evidence
    assert confirmed.findings[0].matched_phrase == "你问我,我问谁"
    tied = _check(FORBIDDEN, utts, heard=[Heard(phrase, 3.5, ""), Heard(innocent, 3.45, "")])
    assert tied.outcome == "pass", "a homophone the ear cannot tell apart is not a finding"


SLOW = rule("response", phrases={"trigger": [PhraseSpec("等了半天", exclusions=("等了半天才到",))],
                                  "answer": ["让您久等了"]})


def test_a_garbled_trigger_counts_when_the_audio_says_it_and_not_its_innocent_context():
    utts = [utt("customer", 1, 3, "等了办台了"), utt("agent", 4, 6, "好的,我看一下。")]  # 0.75: under the floor
    asked = []
    assert _check(SLOW, utts, asked=asked).outcome == "na"
    by_wording = {r.wording: r for r in asked}
    assert set(by_wording) == {"等了半天", "等了半天才到"}  # the garbled trigger and its innocent context
    said, innocent = by_wording["等了半天"], by_wording["等了半天才到"]
    heard = _check(SLOW, utts, heard=[Heard(said, 3.5, "等了办台了"), Heard(innocent, 1.0, "")])
    assert heard.outcome == "fail", "the trigger heard by sound, and no answer"
    assert "录音核实为“等了半天”" in heard.findings[0].evidence
    low = _check(SLOW, utts, heard=[Heard(said, 2.0, ""), Heard(innocent, 1.0, "")])
    assert low.outcome == "na", "a reading under trigger_sound_accept is no trigger"
    context = _check(SLOW, utts, heard=[Heard(said, 3.5, ""), Heard(innocent, 3.6, "")])
    assert context.outcome == "na", "the innocent context explains the sound as well"
    answered = _check(SLOW, utts[:1] + [utt("agent", 4, 6, "对不起,让您久等了。")],
                      heard=[Heard(said, 3.5, ""), Heard(innocent, 1.0, "")])
    assert answered.outcome == "pass" and "录音核实" in answered.detail


def test_a_garbled_address_by_surname_is_asked_of_the_audio():
    surname = rule("surname", phrases={"given": ["我姓{surname}"], "address": ["{surname}先生", "{surname}女士"],
                                       "not_surnames": []})
    utts = [utt("customer", 1, 4, "你好,我姓赵,我想改一下套餐。"), utt("agent", 5, 11, "照你是,我们有一个每月一百元的套餐。"),
            utt("agent", 12, 20, "还有一个每月五十元的套餐,流量少一点。"), utt("agent", 21, 28, "您看哪个合适?")]
    asked = []
    assert _check(surname, utts, asked=asked).outcome == "fail"
    assert {(r.start_s, r.wording) for r in asked} == {(s, w) for s in (5, 12) for w in ("赵先生", "赵女士")}, \
        "the agent's first two utterances after the surname, each title"
    said = next(r for r in asked if r.start_s == 5 and r.wording == "赵女士")
    heard = _check(surname, utts, heard=[Heard(said, 3.4, "照你是")])
    assert heard.outcome == "pass" and "录音核实" in heard.detail
    rejected = _check(surname, utts, heard=[Heard(said, 1.0, "照你是")])
    assert rejected.outcome == "fail" and "未采纳" in rejected.findings[0].evidence


def test_on_mono_the_address_is_asked_of_the_rest_of_the_speech_that_gave_the_surname():
    given = PhraseSpec("我姓{surname}", roles=("customer", "unknown"))
    surname = rule("surname", phrases={"given": [given], "address": ["{surname}先生"], "not_surnames": []})
    utts = [utt("unknown", 1, 11, "你好,我姓赵,我想改一下套餐。总理是,我们有一个每月一百元的套餐。"),
            utt("unknown", 12, 20, "还有一个每月五十元的套餐,流量少一点。"), utt("unknown", 21, 28, "您看哪个合适?")]
    asked = []
    assert _check(surname, utts, asked=asked, stereo=False).outcome == "fail"
    spans = sorted(r.start_s for r in asked)
    assert len(spans) == 2 and 1 < spans[0] < 11 and spans[1] == 12, \
        "the rest of the first stretch after 我姓赵, then the next one"
    said = min(asked, key=lambda r: r.start_s)
    assert _check(surname, utts, heard=[Heard(said, 3.4, "总理是")], stereo=False).outcome == "pass"


def test_apply_rules_asks_hears_and_records_what_it_could_not_hear():
    from built_calls import rulebook
    from qa.scoring.score import apply_rules
    from qa.records import Transcript, TranscribeOptions

    utts = TALK + [GARBLED]
    t = Transcript("x.wav", 40.0, 8000, 2, tuple(utts), TranscribeOptions(), conversation(utts))
    book = rulebook(CLOSING)
    calls = []

    def hear(readings):
        calls.append(list(readings))
        return [Heard(r, 3.5 if r.wording == "感谢您的来电" else -1.0, "好的,敢写年底赖账") for r in readings]

    def closing(result):
        return result.rule_results[0].outcome

    heard = apply_rules("c", "x.wav", "", t, {}, book, hear=hear)
    assert closing(heard) == "pass" and len(calls) == 1 and heard.unheard == 0 and heard.heard
    again = apply_rules("c", "x.wav", "", t, {}, book, heard=heard.heard, hear=hear)
    assert len(calls) == 1 and closing(again) == "pass", "stored answers are reused, nothing is heard twice"
    alone = apply_rules("c", "x.wav", "", t, {}, book)
    assert closing(alone) == "fail" and alone.unheard == len(calls[0])
    off = apply_rules("c", "x.wav", "", t, {}, book, heard=heard.heard, verify=False)
    assert closing(off) == "fail" and not off.verify


SAMPLE = Path(__file__).resolve().parents[1] / "recordings_sample" / "call04_no_greeting_threat.mp3"


def test_the_real_decoder_prefers_what_was_said_over_a_distractor():
    """call04's agent says 查到了,维修要等到下个月 (24.4-26.7 s): the reading with the words said
    scores near the decoder's own, a closing line put in their place far below."""
    from qa.records import TranscribeOptions
    from qa.transcribe.audio import load_audio
    from qa.transcribe.model import load_model
    from qa.transcribe.verify import AcousticVerifier

    verifier = AcousticVerifier(load_model(TranscribeOptions().model, device="cpu", compute_type="int8"))
    signal = load_audio(SAMPLE).channel(0, 16000)
    said, other = "查到了,维修要等到下个月", "感谢您的来电,再见"
    scored = verifier.score_span(signal, 24.35, 26.69, [said, other])
    assert scored.hypothesis and scored.readings[0] == said
    assert scored.ratios[0] > -1.0 > -3.0 > scored.ratios[1]  # against the decoder's own reading
    assert scored.scores[0] > 3.0 > 1.0 > scored.scores[1]  # against unrelated sentences (the cohort)


def test_agent_speech_the_recognizer_left_without_words_is_asked_about_too():
    # the closing said 31-33 s and heard by the signal, but the recognizer wrote nothing there
    tl = timeline(40.0, agent=[(1, 4), (10, 20), (25, 28), (31, 33)], customer=[(5, 9), (29, 30)])
    view = CallView(tl, tuple(TALK), {}, {CLOSING.rule_id: CLOSING}, heard={}, asked=(asked := []))
    assert KINDS["closing"].check(CLOSING, view).outcome == "fail"
    wordless = {(r.channel, r.start_s, r.end_s) for r in asked if r.wording == "感谢您的来电"}
    assert (0, 31, 33) in wordless, "the wordless agent speech after the offer"
    said = next(r for r in asked if (r.start_s, r.end_s, r.wording) == (31, 33, "感谢您的来电"))
    view = CallView(tl, tuple(TALK), {}, {CLOSING.rule_id: CLOSING}, heard={said.key: Heard(said, 3.5, "感谢您的来电")})
    assert KINDS["closing"].check(CLOSING, view).outcome == "pass"
    # speech covered by words, or a breath under UNWORDED_MIN_S, is never asked about again
    assert unworded_speech({"agent": (Interval(1, 4), Interval(34, 34.5))}, TALK) == []


THANKS = rule("response", phrases={"trigger": ["太感谢了"], "answer": ["不客气"], "not_allowed": ["客气啥"]})


def test_an_answer_not_allowed_asks_the_audio_for_the_customers_trigger_just_before_it():
    utts = [utt("customer", 1, 2.5, "好的呀哈哈"), utt("agent", 3, 4.5, "小意思,客气啥。")]
    asked = []
    assert _check(THANKS, utts, asked=asked).outcome == "na"
    said = next(r for r in asked if r.wording == "太感谢了")
    assert (said.channel, said.start_s, said.end_s) == (1, 1, 2.5), "the customer's words before the answer"
    heard = _check(THANKS, utts, heard=[Heard(said, 3.0, "太感谢了")])
    assert heard.outcome == "fail" and heard.findings[0].message == "response.not_allowed"
    assert "录音核实为“太感谢了”" in heard.findings[0].evidence
    assert _check(THANKS, utts, heard=[Heard(said, 1.0, "")]).outcome == "na"
    # no answer out of place, nothing to ask
    asked = []
    _check(THANKS, [utts[0], utt("agent", 3, 4.5, "好的,我看一下。")], asked=asked)
    assert not any(r.wording == "太感谢了" for r in asked)


def test_a_customers_words_are_answered_by_sound_in_the_agents_next_turn_only():
    slow = rule("response", phrases={"trigger": ["等了半天"], "answer": ["马上为您处理"]})
    utts = [utt("customer", 1, 3, "等了半天了。"), utt("agent", 3.5, 5, "系统查询需要一点时间。"),
            utt("customer", 5.5, 7, "我要投诉。"), utt("agent", 7.5, 9, "我马上为您更正。")]
    asked = []
    assert _check(slow, utts, asked=asked).outcome == "fail"
    assert {r.start_s for r in asked} == {3.5}, "the line after the customer's next words is another answer"


def test_a_surname_the_text_lost_is_asked_of_the_audio_among_common_surnames():
    surname = rule("surname", phrases={"given": ["我姓{surname}"], "address": ["{surname}先生", "{surname}女士"],
                                       "not_surnames": [], "common_surnames": ["王", "黄", "郭"]})
    utts = [utt("customer", 1, 4, "你好,国庆皇,我想改一下套餐。"), utt("agent", 5, 11, "好的,我们有一个每月一百元的套餐。"),
            utt("agent", 12, 20, "还有一个每月五十元的套餐,流量少一点。")]
    asked = []
    assert _check(surname, utts, asked=asked).outcome == "na"
    by_wording = {r.wording: r for r in asked}
    assert set(by_wording) == {"我姓郭", "我姓黄"}, "the common surnames that sound like its first characters"
    heard = _check(surname, utts, heard=[Heard(by_wording["我姓黄"], 3.4, ""), Heard(by_wording["我姓郭"], 0.2, "")])
    assert heard.outcome == "fail" and "录音核实为“我姓黄”" in heard.findings[0].evidence
    tied = _check(surname, utts, heard=[Heard(by_wording["我姓黄"], 3.4, ""), Heard(by_wording["我姓郭"], 3.2, "")])
    assert tied.outcome == "na", "two surnames explain the sound alike"
    low = _check(surname, utts, heard=[Heard(by_wording["我姓黄"], 2.0, ""), Heard(by_wording["我姓郭"], 0.2, "")])
    assert low.outcome == "na"
