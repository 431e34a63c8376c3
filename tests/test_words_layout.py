"""The stored words layout: what one side writes the other reads back, bad rows are skipped."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for bench.make_db

from bench.make_db import _words_json  # noqa: E402
from qa.records import Transcript, Utterance, Word  # noqa: E402
from qa.transcribe.pipeline import transcript_to_dict  # noqa: E402
from qa.words_layout import span_times, words_from_json, words_to_json, words_to_lists  # noqa: E402

WORDS = (Word("您好", 1.0, 1.4, 0.9), Word(",欢迎", 1.4, 2.0, 0.75), Word("致电", 2.0, 2.5, 0.5), Word("本公司", 2.5, 3.2))
TEXT = "您好,欢迎致电本公司"


def test_round_trip_keeps_every_field():
    text = words_to_json(WORDS)
    assert "致电" in text  # stored as characters, not \u escapes
    assert json.loads(text)[2] == ["致电", 2.0, 2.5, 0.5]
    assert words_from_json(text) == WORDS
    assert words_from_json(words_to_json(())) == ()


def test_rows_without_probability_default_to_one():
    assert words_from_json('[["好", 0.5, 0.9], ["的", 0.9, 1.2, null]]') == (Word("好", 0.5, 0.9, 1.0), Word("的", 0.9, 1.2, 1.0))


@pytest.mark.parametrize("text", [None, "", "not json", "[", '{"text": "好"}', '"好"', "3", "[]"])
def test_unreadable_layouts_give_no_words(text):
    assert words_from_json(text) == ()


def test_short_and_odd_rows_are_left_out():
    text = '[["好", 0.5], "的", null, {"text": "吗"}, ["您好", 1.0, 1.4, 0.9], []]'
    assert words_from_json(text) == (Word("您好", 1.0, 1.4, 0.9),)


def test_phrase_search_clip_times_from_written_layout():
    stored = words_to_json(WORDS)
    at = TEXT.index("致电")
    assert span_times(words_from_json(stored), TEXT, at, at + 2, 1.0, 3.2) == (2.0, 2.5)
    assert span_times(words_from_json(stored), TEXT, 0, len(TEXT), 1.0, 3.2) == (1.0, 3.2)
    hand_written = '[["您好", 1.0, 1.4, 0.9], [",欢迎", 1.4, 2.0, 0.75], ["致电", 2.0, 2.5, 0.5], ["本公司", 2.5, 3.2, 1.0]]'
    assert all(
        span_times(words_from_json(stored), TEXT, a, a + 2, 1.0, 3.2) == span_times(words_from_json(hand_written), TEXT, a, a + 2, 1.0, 3.2)
        for a in range(len(TEXT) - 1)
    )
    assert span_times(words_from_json('[["致电", 2.0]]'), TEXT, at, at + 2, 1.0, 3.2) == (1.0, 3.2)  # short rows only: whole line
    assert span_times((), TEXT, 0, 2, 1.0, 3.2) == (1.0, 3.2)  # no words: the whole line


def test_transcribe_json_and_synthetic_store_use_the_layout():
    transcript = Transcript("/calls/c1.wav", 4.0, 8000, 2, (Utterance("agent", 0, 1.0, 3.2, TEXT, WORDS),))
    rows = transcript_to_dict(transcript)["utterances"][0]["words"]
    assert rows == words_to_lists(WORDS)
    assert words_from_json(json.dumps(rows)) == WORDS
    stored = _words_json([("您好", 0.0, 0.5), ("致电", 0.5, 1.0)], 1.0, 2.26)  # times to 10 ms
    assert stored == '[["您好", 1.0, 1.63, 0.9], ["致电", 1.63, 2.26, 0.9]]'
    assert words_from_json(stored) == (Word("您好", 1.0, 1.63, 0.9), Word("致电", 1.63, 2.26, 0.9))
