"""The accuracy bench's reference mode: the label's script over the measured timeline."""

from __future__ import annotations

from dataclasses import replace

from bench.accuracy import event_match, near_miss_hints, reference_transcript, rule_counts
from qa.records import Finding, RuleResult
from qa.scoring import store
from qa.scoring.store import StoredCall
from tests.built_calls import sample_call

LABEL = {
    "channel_roles": ["agent", "customer"],
    "script": [
        {"role": "agent", "start_s": 1.0, "end_s": 2.5, "text": "您好,客服中心"},
        {"role": "customer", "start_s": 3.0, "end_s": 6.0, "text": "我的快递丢了"},
        {"role": "agent", "start_s": 7.0, "end_s": 9.0, "text": " "},  # a pause line, no words
        {"role": "agent", "start_s": 9.5, "end_s": 11.0, "text": "这个我不清楚"},
    ],
}


def test_reference_transcript_takes_the_script_words_and_keeps_the_measured_timeline():
    result = sample_call("c1", variant=1)
    stored = StoredCall("c1", result.path, result.sha256, result.transcript, {})
    ref = reference_transcript(stored, LABEL)
    assert [(u.role, u.channel, u.start_s, u.text) for u in ref.utterances] == [
        ("agent", 0, 1.0, "您好,客服中心"), ("customer", 1, 3.0, "我的快递丢了"), ("agent", 0, 9.5, "这个我不清楚")]
    assert all(not u.words for u in ref.utterances)  # times come from the spans, proportionally
    assert ref.timeline == result.transcript.timeline


def test_rule_counts_and_events_score_fail_as_the_positive_class():
    labels = {"a": {"expected": {"r": "fail"}}, "b": {"expected": {"r": "pass"}}, "c": {"expected": {"r": "na"}}}
    counts = rule_counts(labels, {("a", "r"): "fail", ("b", "r"): "fail", ("c", "r"): "na"}, "r")
    assert (counts["tp"], counts["fp"], counts["fn"], counts["agree"]) == (1, 1, 0, 2)
    # a call not labelled for the rule (a sample older than it) is left out, not counted as a false alarm
    unlabelled = rule_counts({**labels, "d": {"expected": {}}}, {("a", "r"): "fail", ("d", "r"): "fail"}, "r")
    assert (unlabelled["fp"], unlabelled["labelled"]) == (0, 3)
    labelled = [{"start_s": 10.0, "end_s": 11.0, "phrase": "不知道"}, {"start_s": 30.0, "end_s": 31.0, "phrase": "不行"}]
    found = [(10.5, 11.0, "不知道"), (12.9, 13.0, "不知道"), (50.0, 51.0, "不行")]
    assert event_match(labelled, found) == (1, 2, 1)  # one hit, two stray findings, one miss


def test_misheard_line_hints_are_judged_by_the_tagged_line_in_the_finding_window(tmp_path):
    db = tmp_path / "qa.duckdb"
    hint = "开头8秒内没有标准问候语: 也好; 疑似识别误差: “也好”接近“您好”(相似度0.70), 请听录音核实"
    labels = {}
    for call_id, said, evidence in (("a", True, hint), ("b", True, "开头8秒内没有标准问候语: 也好"),
                                    ("c", False, "开头8秒内没有标准问候语: 什么问题"), ("d", False, hint)):
        greeting = RuleResult("greeting.opening", "fail", 15.0,
                              (Finding("greeting.opening", 1.0, 9.0, "agent", evidence),))
        store.save_call(db, replace(sample_call(call_id), rule_results=(greeting,)))
        line = {"role": "agent", "start_s": 1.2, "end_s": 3.0, "text": "您好", "tags": ["greeting"] if said else []}
        labels[call_id] = {"expected": {"greeting.opening": "pass" if said else "fail"}, "script": [line]}
    assert near_miss_hints(db, labels) == ((1, 2), (1, 2))  # (hinted, findings): line said / not said


def test_a_finding_of_a_longer_phrase_serves_each_labelled_phrase_it_contains():
    labelled = [{"start_s": 20.0, "end_s": 23.0, "phrase": "喂,说话呀"},
                {"start_s": 20.0, "end_s": 23.0, "phrase": "再不说话我就挂了"},
                {"start_s": 20.0, "end_s": 23.0, "phrase": "你自己去看"}]
    found = [(20.1, 22.9, "喂,说话呀!再不说话我就挂了啊")]
    assert event_match(labelled, found) == (2, 0, 1)  # 你自己去看 is not in it


def test_situation_counts_tell_a_missed_trigger_from_a_misjudged_answer():
    from bench.accuracy import situation_counts

    labels = {"a": {"expected": {"scenario.thanks": "fail"}, "notes": "thanks missed"},
              "b": {"expected": {"scenario.thanks": "pass"}, "notes": "thanks handled"},
              "c": {"expected": {"scenario.thanks": "na"}, "notes": "thanks other"},
              "d": {"expected": {"scenario.thanks": "fail"}, "notes": "thanks wrong"},
              "e": {"expected": {}, "notes": ""}}
    outcomes = {("a", "scenario.thanks"): "pass", ("b", "scenario.thanks"): "na",
                ("c", "scenario.thanks"): "fail", ("d", "scenario.thanks"): "fail"}
    c = situation_counts(labels, outcomes, "scenario.thanks")
    # a and d heard (b's trigger missed, c fired on the other party's words); of the two judged, d right
    assert (c["tp"], c["fn"], c["fp"], c["na"]) == (2, 1, 1, 1)
    assert (c["judged"], c["right"], c["other"], c["other_fired"]) == (2, 1, 1, 1)
