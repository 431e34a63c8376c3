"""Hang-up order: the agent puts the phone down after the customer.

001 第三篇 / 第五篇: 待对方挂机后再放电话, 不可以直接挂机. Who hung up comes from
the call's metadata when the recorder or the CDR says it (`hangup_by`:
agent/customer, 坐席/客户). Otherwise the recording shows one case clearly:
the customer still speaking when it ends (cut off), unless its last words
closed the call (`customer_closing`: 再见, 好的谢谢). An agent's last words
followed by `wait_s` of silence say the agent waited (on mono, only when no
speech the voices left unattributed follows them); anything else is na,
because a customer who hangs up right after 再见 looks the same as an agent
who does.

An agent hanging up first is no fault after a procedure that ends that way
(the silent line's closing, 对不起,我挂线了, 请您挂机): the `procedure_end`
group, said by the agent in the last `window_s` of speech and after the
customer's last words, or on a silent line (nobody but the agent heard; on
mono, unattributed speech may be the customer's and so is not silence).
"""

from __future__ import annotations

from typing import Any

from qa.records import RuleResult
from qa.scoring.checks.base import EDGE_SLACK_S, CallView, finding, outcome, param
from qa.scoring.checks.kinds import SIMILARITY, Kind, seconds
from qa.scoring.messages import detail
from qa.scoring.metadata import hangup_party


def check_hangup(rule: Any, call: CallView) -> RuleResult:
    end = call.timeline.duration_s
    last_agent = call.last_speech_end_of("agent")
    last_customer = call.last_speech_end_of("customer")
    by = hangup_party((call.metadata or {}).get("hangup_by"))
    if by == "customer":
        return outcome(rule, (), detail("hangup.customer_first", source=detail("hangup.metadata")))
    procedure = _procedure_end(rule, call, last_customer)
    if by == "agent":
        # Nobody but the agent heard: a silent line (on mono, unattributed speech may be the customer's).
        if procedure is not None or call.others_last_speech_end() is None:
            return outcome(rule, (), detail("hangup.by_procedure", said=procedure or detail("hangup.silent")))
        return outcome(rule, [finding(rule, last_agent or end, end, "hangup.agent_first", anchor_s=end,
                                      said=call.said("agent", max(0.0, end - 10.0), end))],
                       detail("hangup.metadata"))
    cut = param(rule, "cut_s")
    if last_customer is not None and last_customer >= end - cut and last_customer >= (last_agent or 0.0) \
            and not _customer_closed(rule, call):
        if procedure is not None:
            return outcome(rule, (), detail("hangup.by_procedure", said=procedure))
        return outcome(rule, [finding(rule, max(0.0, last_customer - 3.0), end, "hangup.cut_off",
                                      anchor_s=end, role="customer",
                                      said=call.said("customer", max(0.0, end - 5.0), end),
                                      left=round(end - last_customer, 2))], detail("hangup.inferred_sure"))
    # The agent's words last of all (on mono, none left unattributed after them), then the wait.
    if last_agent is not None and last_agent >= call.last_speech_end() - EDGE_SLACK_S \
            and end - last_agent >= param(rule, "wait_s"):
        return outcome(rule, (), detail("hangup.waited", waited=end - last_agent))
    return outcome(rule, (), detail("hangup.unknown"), na=True)


def _customer_closed(rule: Any, call: CallView) -> bool:
    """The customer's last words close the call (再见, 好的谢谢): a customer who hangs up
    right after them looks cut off but was not."""
    last = max((u for u in call.utterances if u.role == "customer"), key=lambda u: u.end_s, default=None)
    if last is None or not rule.phrases.get("customer_closing"):
        return False
    return bool(call.find(rule.phrases["customer_closing"], (last,), roles=None, slots=call.slots or None,
                          min_similarity=rule.params.get("min_similarity")))


def _procedure_end(rule: Any, call: CallView, last_customer: float | None) -> str | None:
    """The procedure line that lets the agent hang up first, when said near the end."""
    if not rule.phrases.get("procedure_end"):
        return None
    # Near the end, and after the customer's last words: a call that went on after it was not ended by it.
    start = max(call.last_speech_end() - param(rule, "window_s"), last_customer or 0.0)
    hits = [m for m in call.matches(rule, "procedure_end", roles=call.required_roles(rule))
            if m.start_s >= start - 0.3]
    return hits[-1].text if hits else None


HANGUP = Kind(check_hangup, groups=(), optional_groups=("procedure_end", "customer_closing"), params={
    "cut_s": seconds(0, 10), "wait_s": seconds(0, 60), "window_s": seconds(0, 600),
    "min_similarity": SIMILARITY})
