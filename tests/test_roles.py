"""`--roles auto`: the agent's channel from the service lines each channel says."""

from __future__ import annotations

import pytest

from qa.records import Utterance
from qa.transcribe.roles import decide_agent_channel


def line(channel: int, start: float, text: str) -> Utterance:
    return Utterance("agent" if channel == 0 else "customer", channel, start, start + 2.0, text)


AGENT = ["您好,宇鑫客服中心,工号1023,很高兴为您服务", "好的,请您稍等,我帮您查询", "感谢您的耐心等待,已经查到了",
         "请问还有什么可以帮助您", "感谢您的来电,再见"]
CUSTOMER = ["您好,我想查一下我的快递", "好的", "谢谢", "没有了,再见"]


def call(agent_channel: int) -> list[Utterance]:
    other = 1 - agent_channel
    utts = [line(agent_channel, 1.0 + 8 * i, t) for i, t in enumerate(AGENT)]
    utts += [line(other, 4.0 + 8 * i, t) for i, t in enumerate(CUSTOMER)]
    return sorted(utts, key=lambda u: u.start_s)


@pytest.mark.parametrize("agent_channel", [0, 1])
def test_the_channel_with_the_service_lines_is_the_agent(agent_channel):
    decision = decide_agent_channel(call(agent_channel))
    assert decision.agent_channel == agent_channel and decision.confidence >= 0.8


def test_a_customer_who_also_says_hello_and_goodbye_does_not_win():
    utts = [line(0, 1.0, "您好,请问是快递公司吗"), line(1, 3.0, "您好,客服中心,很高兴为您服务"), line(0, 20, "再见")]
    assert decide_agent_channel(utts).agent_channel == 1


@pytest.mark.parametrize("utts", [
    [],  # nothing said
    [line(0, 1.0, "喂"), line(1, 2.0, "喂,听得到吗")],  # no service line on either side
    [line(0, 1.0, "工号1023"), line(1, 2.0, "工号是多少")],  # as much on both sides
])
def test_without_clear_evidence_the_decision_is_unsure(utts):
    decision = decide_agent_channel(utts)
    assert decision.agent_channel is None


def test_with_no_service_line_the_polite_party_who_picks_up_is_the_agent():
    """A rude agent (喂,什么事) still answers first and says 您; the customer says 你."""
    utts = [line(1, 1.0, "喂,什么事,您说"), line(0, 3.0, "你们的快递怎么还没到"), line(1, 6.0, "您的单号是多少"),
            line(0, 9.0, "你自己查一下不行吗")]
    decision = decide_agent_channel(utts)
    assert decision.agent_channel == 1 and decision.evidence[1] > decision.evidence[0]


@pytest.mark.parametrize("agent_channel", [0, 1])
def test_what_only_callers_say_finds_an_agent_who_says_no_service_line(agent_channel):
    """No greeting, no 您, no closing from the agent: the caller's reason for calling and 你们 still tell."""
    caller = 1 - agent_channel
    utts = [line(agent_channel, 1.0, "嗯,你说吧"), line(caller, 3.0, "我想咨询一下你们的流量套餐"),
            line(agent_channel, 9.0, "有一个每月一百元的"), line(caller, 12.0, "好")]
    decision = decide_agent_channel(utts)
    assert decision.agent_channel == agent_channel and decision.evidence[caller] == 0.0


def test_an_agent_thanking_the_caller_is_no_caller_marker():
    """谢谢您 is heard as 谢谢你 by a fuzzy match: neither counts as a caller's words."""
    from qa.transcribe.roles import _marker_weights, CUSTOMER_MARKERS

    assert _marker_weights(CUSTOMER_MARKERS, [line(0, 1.0, "谢谢您的耐心等待"), line(0, 3.0, "谢谢你")], 2) == [0, 0]
