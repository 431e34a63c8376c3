"""Scenario rules (kind response), addressing by surname, hang-up order."""

from __future__ import annotations

import numpy as np
import pytest

from built_calls import conversation, utt
from qa.phrases.rulebook import RulebookError, load_rulebook
from qa.records import Utterance
from qa.samplegen.scenario import SCENARIO_RULE_IDS, assemble
from qa.samplegen.situations import SITUATIONS, situation_specs
from qa.scoring.checks import run_rules
from qa.scoring.metadata import load_metadata

BOOK = load_rulebook()
GREETING = utt("agent", 0.5, 3.5, "您好,宇鑫公司客服中心,工号2100,请问有什么可以帮您?")


def results(*utts, duration=None, metadata=None, stereo=True):
    utts = (GREETING,) + utts
    tl = conversation(utts, duration=duration, stereo=stereo)
    return {r.rule_id: r for r in run_rules(BOOK, tl, utts, metadata=metadata)}


def test_a_customers_thanks_needs_an_answer_and_the_finding_shows_both_ends():
    thanked = utt("customer", 5.0, 7.0, "太感谢了,你帮了我大忙。")
    assert results(thanked, utt("agent", 7.5, 9.5, "不客气,这是我们应该做的。"))["scenario.thanks"].outcome == "pass"
    res = results(thanked, utt("agent", 7.5, 9.5, "那我再跟您确认一下地址。"))["scenario.thanks"]
    assert res.outcome == "fail"
    f = res.findings[0]
    assert "太感谢了" in f.evidence and "确认一下地址" in f.evidence and f.message == "response.no_answer"
    assert f.start_s == 5.0 and f.end_s >= 9.5 and f.clause.startswith("001 第三篇 31")
    # an answer given only after the rule's window is no answer
    late = results(thanked, utt("agent", 20.0, 22.0, "不客气。"), duration=30)["scenario.thanks"]
    assert late.outcome == "fail"


def test_a_customers_trigger_said_by_the_agent_never_fires():
    res = results(utt("customer", 5.0, 7.0, "帮我看看什么时候到。"),
                  utt("agent", 7.5, 10.0, "谢谢您的耐心,不好意思让您久等了。"))
    assert res["scenario.thanks"].outcome == "na" and res["scenario.apology_accepted"].outcome == "na"


def test_an_answer_not_allowed_fails_even_beside_an_allowed_one():
    res = results(utt("customer", 5.0, 7.0, "你们的服务态度太差了,我要投诉。"),
                  utt("agent", 7.5, 9.0, "这不关我的事。"))
    assert res["scenario.complaint"].outcome == "fail"
    assert res["scenario.complaint"].findings[0].message == "response.not_allowed"
    assert res["phrase.forbidden"].outcome == "fail"  # the same words are a 服务忌语
    fine = results(utt("customer", 5.0, 7.0, "你们的服务态度太差了,我要投诉。"),
                   utt("agent", 7.5, 10.0, "对不起,由于我们服务不周给您添麻烦了,请您原谅。"))
    assert fine["scenario.complaint"].outcome == "pass"


def test_the_agents_own_situation_line_must_take_the_mandated_wording():
    # 听不见,再讲一次 holds no trigger word: the rude form of the line is the situation itself
    asks = {"对不起,请您大声一点,好吗?": "pass", "喂,大声一点儿!": "fail", "说话大声点!": "fail",
            "听不见,再讲一次。": "fail"}
    for text, want in asks.items():
        assert results(utt("agent", 5.0, 7.0, text))["scenario.speak_up"].outcome == want, text
    # the customer saying it is another situation (the customer's complaint), not this rule's
    assert results(utt("customer", 5.0, 7.0, "你那边声音太小了,大声一点。"))["scenario.speak_up"].outcome == "na"


def test_an_agents_trigger_on_mono_is_only_the_agents_words_or_a_rude_line_no_customer_says():
    # 大声点 is as often the customer's: unattributed, it fires nothing
    assert results(utt("unknown", 5.0, 7.0, "说话大声点!"), stereo=False)["scenario.speak_up"].outcome == "na"
    # 喂,大声一点儿 is the agent's rude form of the line (roles agent + unknown in the rulebook)
    rude = results(utt("unknown", 5.0, 7.0, "喂,大声一点儿!"), stereo=False)["scenario.speak_up"]
    assert rude.outcome == "fail" and rude.findings[0].message == "response.not_allowed"


def test_unattributed_mono_speech_fires_a_customers_trigger_only_in_a_wording_no_agent_says():
    complaint = results(utt("unknown", 5.0, 8.0, "你们的服务态度太差了,我要投诉。"),
                        utt("unknown", 8.5, 10.0, "好的,我帮您看一下。"), stereo=False)
    assert complaint["scenario.complaint"].outcome == "fail"
    answered = results(utt("unknown", 5.0, 8.0, "你们的服务态度太差了,我要投诉。"),
                       utt("unknown", 8.5, 11.0, "对不起,由于我们服务不周给您添麻烦了。"), stereo=False)
    assert answered["scenario.complaint"].outcome == "pass"
    # 谢谢 and 太慢了 are the agent's words as often (谢谢您的耐心, 今天系统太慢了)
    both = results(utt("unknown", 5.0, 9.0, "谢谢您的耐心,今天系统太慢了,我马上帮您查到。"), stereo=False)
    assert both["scenario.thanks"].outcome == "na" and both["scenario.slow"].outcome == "na"


def test_on_mono_unattributed_speech_is_the_agents_or_customers_only_in_words_the_other_never_says():
    # only the agent offers more help: the offer, then silence, is the linger situation
    offer = utt("unknown", 5.0, 7.0, "请问还有什么可以帮助您?")
    assert results(offer, duration=12.0, stereo=False)["scenario.linger"].findings[0].message == "response.no_answer"
    # only the customer says 我姓陈; the agent's address may run on in the same unattributed speech
    merged = "你好,我姓陈,我的快递丢了。{}我帮您联系一下配送站。"
    rest = utt("unknown", 12.5, 18.0, "配送站说是放在了驿站,他们会送上门。")
    used = results(utt("unknown", 5.0, 12.0, merged.format("陈先生,")), rest, stereo=False)["scenario.surname"]
    assert used.outcome == "pass"
    unused = results(utt("unknown", 5.0, 12.0, merged.format("")), rest, stereo=False)["scenario.surname"]
    assert unused.outcome == "fail"
    # the agent's 我是陈先生 is not given: a form without roles stays the customer's
    assert results(utt("unknown", 5.0, 12.0, "我是陈先生吗?我帮您联系一下配送站。"), rest,
                   stereo=False)["scenario.surname"].outcome == "na"


def test_a_customer_silent_on_the_line_is_told_before_the_agent_hangs_up():
    offer = utt("agent", 5.0, 7.0, "请问还有什么可以帮助您?")
    announce = utt("agent", 11.0, 13.5, "对不起,我挂线了。")
    assert results(offer, announce, duration=16.0)["scenario.linger"].outcome == "pass"
    at_once = results(offer, announce, duration=13.8)["scenario.linger"]
    assert at_once.outcome == "fail" and at_once.findings[0].message == "response.hung_up_at_once"
    assert results(offer, duration=12.0)["scenario.linger"].findings[0].message == "response.no_answer"
    # the customer answered: the usual close, not this situation
    answered = results(offer, utt("customer", 7.5, 8.3, "没有了。"), utt("agent", 8.8, 10.5, "感谢您的来电,再见!"),
                       duration=12.0)
    assert answered["scenario.linger"].outcome == "na"
    # a long silence after the offer is the customer's, not a hold the agent failed to announce
    long_wait = results(offer, utt("agent", 15.0, 17.0, "对不起,我挂线了。"), duration=20.0)
    assert long_wait["scenario.linger"].outcome == "pass" and long_wait["hold.procedure"].outcome == "na"
    # the line closed before the customer's silence was long: who hung up is not this rule's question
    assert results(offer, duration=8.0)["scenario.linger"].outcome == "na"


def test_a_surname_given_is_used_later_even_when_heard_as_a_homophone():
    given = utt("customer", 5.0, 8.0, "你好,我姓王,上周买了一台冰箱。")
    used = results(given, utt("agent", 9.0, 16.0, "汪先生,我帮您查一下,冰箱明天就送到。"))["scenario.surname"]
    assert used.outcome == "pass" and "汪先生" in used.detail
    unused = results(given, utt("agent", 9.0, 16.0, "好的,我帮您查一下,冰箱明天就送到。"))["scenario.surname"]
    assert unused.outcome == "fail" and "“王”" in unused.findings[0].evidence
    assert results(utt("customer", 5.0, 8.0, "我想问一下冰箱。"),
                   utt("agent", 9.0, 16.0, "好的,我帮您查一下。"))["scenario.surname"].outcome == "na"
    # no chance to use it: the agent said almost nothing afterwards
    assert results(given, utt("agent", 9.0, 10.0, "好的。"))["scenario.surname"].outcome == "na"
    # the agent's own 我姓李 is nobody's surname to use
    assert results(utt("agent", 5.0, 8.0, "我姓李,是这里的客服。"),
                   utt("agent", 9.0, 16.0, "您的冰箱明天就送到。"))["scenario.surname"].outcome == "na"


CLOSE = (utt("agent", 5.0, 7.0, "请问还有什么可以帮助您?"), utt("customer", 7.5, 8.2, "没有了。"),
         utt("agent", 8.7, 10.5, "感谢您的来电,再见!"))


def test_who_hung_up_from_the_metadata():
    assert results(*CLOSE, metadata={"hangup_by": "customer"})["closing.hangup_order"].outcome == "pass"
    first = results(*CLOSE, metadata={"hangup_by": "agent"})["closing.hangup_order"]
    assert first.outcome == "fail" and first.findings[0].message == "hangup.agent_first"
    procedure = CLOSE[:1] + (utt("agent", 11.5, 13.0, "对不起,我挂线了。"),)
    assert results(*procedure, duration=16, metadata={"hangup_by": "agent"})["closing.hangup_order"].outcome == "pass"


def test_who_hung_up_from_the_recording_and_how_sure():
    cut = results(*CLOSE, utt("customer", 11.0, 13.95, "哎,等一下,我还有一个问题"), duration=14.0)
    res = cut["closing.hangup_order"]
    assert res.outcome == "fail" and res.findings[0].message == "hangup.cut_off" and "把握" in res.detail
    # the customer's own goodbye right before the end: the customer hung up
    bye = results(*CLOSE, utt("customer", 11.0, 11.9, "好的,再见。"), duration=12.0)["closing.hangup_order"]
    assert bye.outcome == "na"
    waited = results(*CLOSE, duration=13.0)["closing.hangup_order"]
    assert waited.outcome == "pass" and "把握" in waited.detail
    assert results(*CLOSE, duration=11.0)["closing.hangup_order"].outcome == "na"


def test_who_hung_up_on_mono_does_not_take_unattributed_speech_for_silence():
    talked = (utt("unknown", 5.0, 9.0, "我的快递丢了。好的,我帮您查一下。"), utt("agent", 9.5, 11.0, "请问还有什么可以帮助您?"))
    first = results(*talked, metadata={"hangup_by": "agent"}, stereo=False)["closing.hangup_order"]
    assert first.outcome == "fail" and first.findings[0].message == "hangup.agent_first"
    # nobody but the agent heard (on stereo: on mono all speech the voices left is unattributed): a silent line
    alone = results(utt("agent", 5.0, 8.0, "喂,您好,请问能听到吗?"), metadata={"hangup_by": "agent"})
    assert alone["closing.hangup_order"].outcome == "pass"
    # speech after the agent's last words: the agent did not wait, whoever spoke
    after = (utt("agent", 5.0, 7.0, "感谢您的来电,再见!"), utt("unknown", 7.5, 9.0, "哎,等一下,我还有个问题"))
    assert results(*after, duration=14.0, stereo=False)["closing.hangup_order"].outcome == "na"
    assert results(after[0], duration=14.0, stereo=False)["closing.hangup_order"].outcome == "pass"


def test_hangup_by_in_the_metadata_is_read_and_checked(tmp_path):
    path = tmp_path / "meta.csv"
    path.write_text("call_id,hangup_by\na,坐席\nb,Customer\nc,nobody\n", "utf-8")
    meta = load_metadata(path)
    assert meta.row("a")["hangup_by"] == "agent" and meta.row("b")["hangup_by"] == "customer"
    assert "c" not in meta.rows and "hangup_by 'nobody'" in str(meta.problems[0])


def test_a_response_rule_names_who_says_the_trigger(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[rules."scenario.thanks"]\nparams = { trigger_party = "robot" }\n', "utf-8")
    with pytest.raises(RulebookError, match="trigger_party"):
        load_rulebook(bad)


class LengthTTS:
    """Speech-length noise for each line: the script's times without synthesis."""

    def synthesize(self, text, voice, speed):
        n = int(24000 * 0.2 * len(text) / speed)
        return (0.1 * np.sin(np.arange(n) * 0.05)).astype(np.float32)


def test_the_rules_agree_with_the_situation_labels_on_the_script_text():
    """The rules' logic, recognition taken out: each rule over each call's script
    (what was said, by whom, when) gives the generator's label."""
    wrong = []
    for spec in situation_specs(150, seed=3):
        labels = assemble(spec, LengthTTS(), 1).labels
        utts = tuple(Utterance(s["role"], 0 if s["role"] == "agent" else 1, s["start_s"], s["end_s"], s["text"])
                     for s in labels["script"])
        tl = conversation(utts, duration=labels["duration_s"], stereo=not spec.mono)
        got = {r.rule_id: r.outcome for r in run_rules(BOOK, tl, utts, metadata=spec.metadata)}
        wrong += [(spec.call_id, rule) for rule in SCENARIO_RULE_IDS if got[rule] != spec.expected[rule]]
    assert wrong == []


def test_every_situation_is_a_default_rule_with_its_clause():
    for rule_id in SCENARIO_RULE_IDS:
        rule = BOOK.rules[rule_id]
        assert rule.source.startswith("001 ") and rule.title, rule_id
    specs = situation_specs(200, seed=4)
    assert specs == situation_specs(200, seed=4) and specs != situation_specs(200, seed=5)
    for rule_id in SITUATIONS:
        assert {"pass", "fail", "na"} <= {s.expected[rule_id] for s in specs}, rule_id
