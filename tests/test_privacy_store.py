"""Personal numbers in a stored call: spans with times, masked text, trainers' views, exports, redaction at rest."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from built_calls import MOBILE, ORDER, RATE, VOICE_HZ, pii_call, voice_wav
from qa.access.roles import Viewer
from qa.scoring import store
from qa.scoring.clips import TONE_HZ, Clip, clips_zip
from qa.scoring.db import reading
from qa.scoring.export import export_examples
from qa.scoring.queries_phrases import search_phrases
from qa.scoring.queries_reviews import call_detail

TRAINER = Viewer("trainer-sun", "trainer")
SUPERVISOR = Viewer("主管", "supervisor")


@pytest.fixture
def stored(tmp_path) -> tuple[Path, Path]:
    audio = tmp_path / "c1.wav"
    voice_wav(audio, 24.0)
    db = tmp_path / "calls.duckdb"
    store.save_call(db, pii_call("c1", audio))
    return db, audio


def _digit_runs(text: str) -> list[str]:
    return re.findall(r"\d{7,}", text or "")


def test_spans_are_stored_with_times_and_the_masked_text_beside_the_raw(stored):
    db, _ = stored
    with reading(db) as con:
        spans = con.execute("SELECT kind, role, idx, start_s, end_s FROM pii_spans ORDER BY start_s").fetchall()
        lines = dict(con.execute("SELECT idx, redacted_text FROM utterances").fetchall())
        evidence, masked = con.execute("SELECT evidence, evidence_redacted FROM findings").fetchone()
    kinds = [(kind, role, idx) for kind, role, idx, _s, _e in spans]
    assert kinds == [("mobile", "customer", 1), ("mobile", "customer", 2), ("mobile", "agent", 4)]
    # times come from the words: 幺 of 幺三八一二 starts 6 characters into the line at 3.0 s
    assert spans[0][3] == pytest.approx(3.0 + 6 * 0.2) and spans[1][3] == pytest.approx(6.0)
    assert lines[1] == "我的手机号是【手机号】" and lines[2] == "【手机号】" and lines[3] is None  # order number kept
    assert MOBILE in evidence and MOBILE not in masked and "【手机号】" in masked


def test_a_trainer_sees_masks_only_and_no_call(stored):
    db, _ = stored
    with reading(db) as con:
        mine = search_phrases(con, TRAINER, "不清楚", fuzzy=False)
        raw = search_phrases(con, SUPERVISOR, "不清楚", fuzzy=False)
        assert call_detail(con, TRAINER, "c1") is None
        assert call_detail(con, SUPERVISOR, "c1") is not None
    assert MOBILE in raw["text"].iloc[0]  # a supervisor may read what was said
    shown = " ".join(str(v) for v in mine[["text", "match_text", "before", "after", "masked_text"]].to_numpy().ravel())
    assert "【手机号】" in shown and not [r for r in _digit_runs(shown) if r != ORDER]
    assert mine["words_json"].isna().all()  # word texts would spell the digits


def _band_energy(samples: np.ndarray, hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / RATE)
    return float(spectrum[np.abs(freqs - hz) < 20].sum())


def test_an_exported_clip_carries_the_tone_where_the_number_was_said(stored, tmp_path):
    db, _ = stored
    summary = export_examples(db, "phrase.forbidden", tmp_path / "out", pad_s=0.5)
    assert summary.clips == 1 and not summary.problems
    (clip,) = sorted((tmp_path / "out").glob("*.wav"))
    data, rate = sf.read(str(clip))
    with reading(db) as con:
        start, end = con.execute("SELECT start_s, end_s FROM pii_spans WHERE role = 'agent'").fetchone()
        f_start = con.execute("SELECT start_s FROM findings").fetchone()[0]
    first = f_start - 0.5  # the clip's first sample in call time
    inside = data[int((start - first) * rate) + 10:int((end - first) * rate) - 10, 0]
    outside = data[:int((start - first) * rate) - 10, 0]
    assert _band_energy(inside, TONE_HZ) > 20 * _band_energy(inside, VOICE_HZ)  # the tone, not the voice
    assert _band_energy(outside, VOICE_HZ) > 20 * _band_energy(outside, TONE_HZ)  # the voice around it
    text = (tmp_path / "out" / "examples.csv").read_text("utf-8-sig")
    assert MOBILE not in text and "【手机号】" in text


def test_the_phrase_library_zip_is_masked_and_names_files_safely(stored):
    db, audio = stored
    with reading(db) as con:
        hit = search_phrases(con, TRAINER, "不清楚", fuzzy=False).iloc[0]
    clip = Clip("../../etc/c1", str(audio), float(hit.clip_start_s), float(hit.clip_end_s), text=hit.masked_text,
                hidden=tuple(map(tuple, hit.hidden)))
    archive, problems = clips_zip([clip], pad_s=0.5)
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        names = z.namelist()
        index = z.read("clips.csv").decode("utf-8-sig")
    assert all("/" not in n and not n.startswith(".") for n in names)
    assert any("not a safe file name" in p for p in problems)
    assert MOBILE not in index


def test_redaction_at_rest_leaves_no_raw_digits_in_the_database(tmp_path):
    audio = tmp_path / "c1.wav"
    voice_wav(audio, 24.0)
    db = tmp_path / "calls.duckdb"
    result = pii_call("c1", audio)
    store.save_call(db, result, redact_at_rest=True)
    assert result.score is not None and any(r.findings for r in result.rule_results)  # the rules ran on the raw
    with reading(db) as con:
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        found = []
        for table in tables:
            columns = [c for (c, kind) in con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
                [table]).fetchall() if kind == "VARCHAR"]
            for column in columns:
                for (value,) in con.execute(f'SELECT "{column}" FROM "{table}"').fetchall():
                    found += [(table, column, r) for r in _digit_runs(value) if r != ORDER]
        # the mobile number in Chinese numerals is gone too
        assert not con.execute("SELECT count(*) FROM utterances WHERE contains(text, '幺三八')").fetchone()[0]
        assert con.execute("SELECT bool_and(redacted_at_rest) FROM calls").fetchone()[0]
    assert found == []
    assert store.redacts_at_rest(db)
