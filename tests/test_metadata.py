"""Metadata CSV: known and extra columns, bad rows reported by line and skipped."""

from __future__ import annotations

import pytest

from qa.scoring.metadata import MetadataError, load_metadata, normalize_call_id

GOOD = "call_id,agent_id,team,started_at,direction,ring_seconds,queue\n"


def write(tmp_path, text, encoding="utf-8"):
    p = tmp_path / "meta.csv"
    p.write_bytes(text.encode(encoding))
    return p


def test_rows_keep_every_column(tmp_path):
    p = write(tmp_path, GOOD + "day1/c1,1023,北区,2024-05-01 09:30:00,Inbound,12.5,售后\n"
                              "c2.wav,1024,南区,,,,\n")
    meta = load_metadata(p)
    assert meta.problems == []
    assert meta.row("day1/c1") == {"call_id": "day1/c1", "agent_id": "1023", "team": "北区",
                                   "started_at": "2024-05-01 09:30:00", "direction": "inbound",
                                   "ring_seconds": "12.5", "queue": "售后"}
    assert meta.row("c2")["agent_id"] == "1024" and meta.row("missing") == {}


@pytest.mark.parametrize("line, problem", [
    ("c3,1,t,2024-13-45 99:00,inbound,3,", "started_at"),
    ("c3,1,t,,sideways,3,", "direction"),
    ("c3,1,t,,,三秒,", "ring_seconds"),
    ("c3,1,t,,,-4,", "ring_seconds"),
    (",1,t,,,3,", "empty call_id"),
    ("c3,1,t,,,3,x,extra", "more fields"),
])
def test_bad_row_is_reported_with_its_line_and_skipped(tmp_path, line, problem):
    p = write(tmp_path, GOOD + "c1,1,t,,,2,\n" + line + "\nc4,4,t,,,,\n")
    meta = load_metadata(p)
    assert [pr.line for pr in meta.problems] == [3] and problem in meta.problems[0].message
    assert sorted(meta.rows) == ["c1", "c4"]


def test_repeated_call_id_keeps_the_first(tmp_path):
    meta = load_metadata(write(tmp_path, GOOD + "c1,1,t,,,,\nc1.wav,2,t,,,,\n"))
    assert meta.row("c1")["agent_id"] == "1" and meta.problems[0].line == 3


def test_gbk_export_and_excel_bom(tmp_path):
    assert load_metadata(write(tmp_path, GOOD + "c1,1,北区,,,,\n", "gb18030")).row("c1")["team"] == "北区"
    assert load_metadata(write(tmp_path, "\ufeff" + GOOD + "c1,1,北区,,,,\n")).row("c1")["team"] == "北区"


def test_unusable_files_raise(tmp_path):
    with pytest.raises(MetadataError, match="no call_id column"):
        load_metadata(write(tmp_path, "id,agent\n1,2\n"))
    with pytest.raises(MetadataError, match="cannot read"):
        load_metadata(tmp_path / "absent.csv")


def test_normalize_call_id():
    assert normalize_call_id(" day1\\c1.WAV ") == "day1/c1"
    assert normalize_call_id("/a/b.mp3") == "a/b"
