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
