"""Calls stored as two files (agent leg, customer leg): paired, joined, scored as one stereo call."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from built_calls import fake_score, small_rulebook
from qa.scoring.batch import LegPattern, LocalEngine, find_recordings, run_batch
from qa.scoring.db import reading
from qa.transcribe.audio import Audio, load_audio
from qa.transcribe.errors import ChannelError
from qa.transcribe.legs import LegMismatchError, Legs, join_legs

SAMPLES = Path(__file__).resolve().parents[1] / "recordings_sample"


def tone(seconds: float, rate: int = 8000, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.2 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_legs_join_into_stereo_and_the_shorter_is_padded():
    agent, customer = Audio("a.wav", tone(10.0)[None], 8000), Audio("b.wav", tone(9.2, hz=800)[None], 8000)
    joined = join_legs(agent, customer, max_mismatch_s=1.0)
    assert joined.channels == 2 and joined.sample_rate == 8000 and joined.duration_s == pytest.approx(10.0)
    assert np.array_equal(joined.samples[0], agent.samples[0])
    assert np.array_equal(joined.samples[1, : customer.samples.shape[1]], customer.samples[0])
    assert not joined.samples[1, customer.samples.shape[1]:].any()


def test_pcm_legs_are_joined_as_pcm():
    pcm = (tone(3.0) * 32767).astype(np.int16)[None]
    joined = join_legs(Audio("a.wav", pcm, 8000), Audio("b.wav", pcm[:, :20000], 8000))
    assert joined.samples.dtype == np.int16 and np.array_equal(joined.samples[0], pcm[0])
    mixed = join_legs(Audio("a.wav", pcm, 8000), Audio("b.wav", tone(3.0)[None], 8000))
    assert mixed.samples.dtype == np.float32
    np.testing.assert_allclose(mixed.samples[0], mixed.samples[1], atol=1e-4)


def test_legs_at_different_rates_meet_at_the_higher():
    joined = join_legs(Audio("a.wav", tone(4.0, 8000)[None], 8000), Audio("b.wav", tone(4.0, 16000)[None], 16000))
    assert joined.sample_rate == 16000 and joined.samples.shape == (2, 64000)


def test_legs_too_far_apart_or_not_mono_are_named_errors():
    with pytest.raises(LegMismatchError, match=r"a\.wav: the two legs .*b\.wav 7\.0 s: 3\.0 s apart, more than 2 s"):
        join_legs(Audio("a.wav", tone(10.0)[None], 8000), Audio("b.wav", tone(7.0)[None], 8000))
    stereo = Audio("b.wav", np.stack([tone(5.0), tone(5.0)]), 8000)
    with pytest.raises(ChannelError, match="b.wav: .*must be mono"):
        join_legs(Audio("a.wav", tone(5.0)[None], 8000), stereo)


def _folder(tmp_path: Path) -> Path:
    calls = tmp_path / "calls" / "day1"
    calls.mkdir(parents=True)
    for name in ("c1_agent.wav", "c1_customer.wav", "c2_agent.wav", "c3.wav"):
        sf.write(calls / name, tone(3.0), 8000)
    return calls.parent


def test_discovery_pairs_legs_and_names_the_one_without_its_pair(tmp_path):
    found = find_recordings(_folder(tmp_path), LegPattern())
    ids = [cid for cid, _ in found.calls]
    assert ids == ["day1/c1", "day1/c2_agent", "day1/c3"] and found.unpaired == ["day1/c2_agent"]
    legs = dict(found.calls)["day1/c1"]
    assert isinstance(legs, Legs) and legs.agent.endswith("c1_agent.wav") and legs.customer.endswith("c1_customer.wav")
    assert len(find_recordings(tmp_path / "calls", None).calls) == 4  # pairing off


@pytest.mark.parametrize("text, ok", [("{call}-A,{call}-B", True), ("none", True), ("{call}_a", False),
                                      ("x,y", False), ("{call},{call}", False)])
def test_leg_patterns_are_checked(text, ok):
    if ok:
        LegPattern.parse(text)
    else:
        with pytest.raises(ValueError, match="two different name patterns"):
            LegPattern.parse(text)


def test_a_paired_call_is_one_stored_call_and_stays_up_to_date(tmp_path):
    calls, db = _folder(tmp_path), tmp_path / "qa.duckdb"
    engine = LocalEngine(1, score_fn=fake_score, initializer=None)
    first = run_batch(calls, db, rulebook=small_rulebook(), engine=engine)
    assert first.scored == 3 and first.unpaired == ["day1/c2_agent"]
    with reading(db) as con:
        path, legs = con.execute("SELECT path, legs_json FROM calls WHERE call_id = 'day1/c1'").fetchone()
    assert path.endswith("c1_agent.wav")
    again = run_batch(calls, db, rulebook=small_rulebook(), engine=engine)
    assert again.skipped == 3
    sf.write(calls / "day1" / "c1_customer.wav", tone(3.0, hz=900), 8000)  # one leg changed: the call changed
    changed = run_batch(calls, db, rulebook=small_rulebook(), engine=engine)
    assert (changed.scored, changed.why) == (1, {"audio changed": 1})


@pytest.mark.slow
def test_a_sample_split_into_legs_scores_as_the_stereo_call(tmp_path):
    """The real pipeline: the two legs of a stereo sample give the stereo call's transcript and score."""
    from qa.phrases import load_rulebook

    source = SAMPLES / "call01_compliant_billing.wav"
    stereo = load_audio(source)
    legs_dir, whole_dir = tmp_path / "legs", tmp_path / "whole"
    legs_dir.mkdir()
    whole_dir.mkdir()
    for i, role in enumerate(("agent", "customer")):
        sf.write(legs_dir / f"call01_{role}.wav", stereo.channel(i), stereo.sample_rate, subtype="FLOAT")
    sf.write(whole_dir / "call01.wav", np.stack([stereo.channel(0), stereo.channel(1)], axis=1),
             stereo.sample_rate, subtype="FLOAT")
    book = load_rulebook()
    for folder in (legs_dir, whole_dir):
        summary = run_batch(folder, tmp_path / f"{folder.name}.duckdb", rulebook=book, workers=1)
        assert summary.scored == 1 and not summary.errors, summary.errors
    rows = {}
    for name in ("legs", "whole"):
        with reading(tmp_path / f"{name}.duckdb") as con:
            rows[name] = (con.execute("SELECT score, passed FROM scores").fetchall(),
                          con.execute("SELECT role, text FROM utterances ORDER BY idx").fetchall(),
                          con.execute("SELECT rule_id, outcome FROM rule_results ORDER BY rule_id").fetchall())
            legs = con.execute("SELECT legs_json FROM calls").fetchone()[0]
            assert (legs is not None and json.loads(legs)[1].endswith("call01_customer.wav")) == (name == "legs")
    assert rows["legs"] == rows["whole"] and rows["legs"][1]
