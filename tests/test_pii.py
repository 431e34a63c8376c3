"""Personal numbers found as callers say them, and look-alikes left alone."""

from __future__ import annotations

import pytest

from qa.privacy import find_in_text, find_in_utterances, redact
from qa.privacy.numbers import digit_runs
from qa.privacy.pii import id_check_ok, luhn_ok
from qa.records import Utterance


@pytest.mark.parametrize(("text", "masked"), [
    ("我的手机号是幺三八 一二三四 五六七八", "我的手机号是【手机号】"),
    ("电话138-1234-5678谢谢", "电话【手机号】谢谢"),
    ("号码一三八1234五六七八", "号码【手机号】"),  # digits and 汉字 mixed, as the recognizer writes them
    ("手机要三八一二三四五六七八", "手机要【手机号】"),  # 幺 misheard first: ten digits a 手机 announces
    ("幺三八要二三四五六七八", "【手机号】"),  # 要 inside a run of digits is 幺 misheard
    ("身份证号码是11010519491231002X", "身份证号码是【身份证号】"),
    ("卡号6222 0212 3456 7890 128", "卡号【银行卡号】"),
    ("座机零幺零 六二五八 三九二三", "座机【座机号】"),
    ("邮箱是zhang.san@example.com", "邮箱是【邮箱】"),
    ("13812345678 13987654321", "【手机号】 【手机号】"),  # two numbers in one breath
])
def test_personal_numbers_are_masked(text, masked):
    assert redact(text, find_in_text(text)) == masked


@pytest.mark.parametrize("text", [
    "订单号13812345678", "订单号是一三八一二三四五六七八", "一共三百五十元", "金额1380元", "工号三零二七为您服务",
    "验证码123456", "二零二四年五月六日寄出的", "我们两个人去的", "快递单号6222021234567890128",
])
def test_look_alikes_are_left_alone(text):
    assert find_in_text(text) == []


def test_place_values_end_a_digit_reading():
    assert [r.digits for r in digit_runs("一百三十八元, 幺三八")] == ["8", "138"]


def test_checks_of_id_and_card_numbers():
    assert id_check_ok("11010519491231002X") and not id_check_ok("110105194912310021")
    assert luhn_ok("6222021234567890128") is luhn_ok("6222021234567890128")
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


def test_a_number_split_over_two_utterances_of_one_party_is_found_in_both():
    utts = [Utterance("customer", 1, 0.0, 2.0, "我的手机是一三八一二"), Utterance("agent", 0, 1.0, 1.5, "嗯"),
            Utterance("customer", 1, 2.5, 4.0, "三四五六七八")]
    spans = find_in_utterances(utts)
    assert [(s.index, s.kind, s.start, s.end) for s in spans] == [(0, "mobile", 5, 10), (2, "mobile", 0, 6)]


def test_the_other_party_does_not_complete_a_number():
    utts = [Utterance("customer", 1, 0.0, 2.0, "一三八一二"), Utterance("agent", 0, 2.2, 4.0, "三四五六七八")]
    assert find_in_utterances(utts) == []


@pytest.mark.parametrize(("text", "digits", "kind"), [
    ("我身份证52755919509054754", "52755919509054754", "id_card"),  # a digit lost; what stays passes Luhn
    ("卡号是6206 0708 8517 167 957，建设银行的", "620607088517167957", "bank_card"),  # passes the ID check
    ("身份证号码是65232 19631006 5957", "65232196310065957", "id_card"),  # 号码 inside 身份证号码 is not a phone
])
def test_between_an_id_and_a_card_the_announcing_word_decides(text, digits, kind):
    assert luhn_ok(digits) or id_check_ok(digits)  # the shape alone would say the other kind
    assert [s.kind for s in find_in_text(text)] == [kind]


def test_a_filler_before_the_pause_does_not_end_a_number():
    utts = [Utterance("customer", 1, 0.0, 2.0, "座机010 呃 "), Utterance("customer", 1, 2.6, 4.0, " 6097 1024")]
    assert [(s.index, s.kind) for s in find_in_utterances(utts)] == [(0, "landline"), (1, "landline")]


@pytest.mark.parametrize(("text", "kind"), [
    ("后马是一般奇28692499", "mobile"),  # 号码 heard as 后马, the mobile's first digits garbled
    ("政见号5505141954-07-76548", "id_card"),  # 证件号 heard as 政见号, a digit lost
    ("我的电话是010 6097 1024", "landline"),  # an announced phone that starts with 0
])
def test_an_announcing_word_is_known_by_its_sound(text, kind):
    assert [s.kind for s in find_in_text(text)] == [kind]


@pytest.mark.parametrize("text", ["订单号是28692499123", "工单号5505141954", "快递单号码是7531246809"])
def test_words_that_only_look_like_announcing_ones_mask_nothing(text):
    assert find_in_text(text) == []
