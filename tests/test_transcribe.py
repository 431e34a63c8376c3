"""The real Whisper model on the sample calls: key phrases, roles, times, silence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from qa.phrases import PhraseSpec, find
from qa.records import TranscribeOptions
from qa.transcribe.normalize import to_simplified
from qa.transcribe.pipeline import Transcriber

SAMPLES = Path(__file__).resolve().parents[1] / "recordings_sample"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    return Transcriber(TranscribeOptions())


def label(call_id: str) -> dict:
    return json.loads((SAMPLES / f"{call_id}.json").read_text("utf-8"))


def test_compliant_call_key_phrases_roles_and_times(transcriber):
    lab = label("call01_compliant_billing")
    t = transcriber.transcribe_file(SAMPLES / lab["audio"])
    assert t.timeline is not None and t.timeline.ring_count == lab["ring_count"]
    agent = [u for u in t.utterances if u.role == "agent"]
    customer = [u for u in t.utterances if u.role == "customer"]
    assert agent and customer
    for u in t.utterances:
        assert u.text == to_simplified(u.text), "text is Simplified Chinese"
        assert u.words and u.start_s <= u.words[0].start_s and u.words[-1].end_s <= u.end_s + 1e-6
        assert all(a.start_s <= b.start_s for a, b in zip(u.words, u.words[1:]))
    # Key phrases survive recognition and normalization, on the agent's side.
    for phrase in ("您好,{company}客服中心,工号{agent_no},很高兴为您服务", "请问还有什么可以帮助您", "感谢您的来电"):
        hits = find([PhraseSpec(phrase)], t.utterances, roles=["agent"])
        assert hits, f"{phrase!r} not found in {[u.text for u in agent]}"
        assert hits[0].start_s >= lab["answer_onset_s"] - 0.5
    # Nothing the customer said leaks into the agent's channel (crosstalk gate).
    customer_lines = [s for s in lab["script"] if s["role"] == "customer"]
    for u in agent:
        for line in customer_lines:
            overlap = min(u.end_s, line["end_s"]) - max(u.start_s, line["start_s"])
            assert overlap < 0.5, f"agent utterance {u.text!r} overlaps customer line {line['text']!r}"


def test_batched_pipeline_keeps_the_threat_at_chunk_borders(transcriber):
    """喂,说话呀 was once dropped at a chunk border by the batched decoder."""
    lab = label("call06_silent_line_rude")
    t = transcriber.transcribe_file(SAMPLES / lab["audio"])
    threat = next(s for s in lab["script"] if "threat" in s.get("tags", []))
    hits = find([PhraseSpec("再不说话我就挂了")], t.utterances, roles=["agent"])
    assert hits and threat["start_s"] - 1.0 <= hits[0].start_s <= threat["end_s"], [u.text for u in t.utterances]
    # The opening 喂? 喂,说话呀 is recognized too (possibly misheard): the words
    # cover the line from its first second, none are lost at a border.
    words = [w for u in t.utterances if u.role == "agent" for w in u.words
             if threat["start_s"] - 0.5 <= w.start_s <= threat["end_s"] + 0.5]
    said = sum(ch.isalnum() for ch in threat["text"])
    heard = sum(ch.isalnum() for w in words for ch in w.text)
    assert heard >= 0.85 * said, [w.text for w in words]
    assert words[0].start_s <= threat["start_s"] + 0.7


def test_silence_and_line_noise_give_no_words(tmp_path, transcriber):
    rng = np.random.default_rng(11)
    stereo = np.stack([np.zeros(8000 * 20), rng.normal(0, 10 ** (-55 / 20), 8000 * 20)], axis=1)
    path = tmp_path / "silent_line.wav"
    sf.write(path, stereo, 8000, subtype="PCM_16")
    t = transcriber.transcribe_file(path)
    assert t.utterances == ()
    assert t.timeline is not None and not any(t.timeline.speech.values())


def test_mono_call_attributes_both_parties(transcriber):
    lab = label("call09_mono_cdr_ring_seconds")
    t = transcriber.transcribe_file(SAMPLES / lab["audio"], ring_seconds=24.0)
    assert t.channels == 1
    assert t.timeline.ring_source == "metadata"
    roles = {u.role for u in t.utterances}
    assert "agent" in roles, [(u.role, u.text) for u in t.utterances]
    first = t.utterances[0]
    assert first.role in ("agent", "unknown")


def test_a_long_call_decoded_a_group_of_batches_at_a_time_gives_the_same_words(transcriber, monkeypatch):
    """Long calls are decoded in groups of clips so memory stays bounded; the words stay the same."""
    from qa.transcribe import asr

    path = SAMPLES / "call02_late_apology_hold.flac"
    whole = transcriber.transcribe_file(path)
    monkeypatch.setattr(asr.Recognizer.transcribe_clips, "__defaults__", (1,))  # groups of one batch
    grouped = transcriber.transcribe_file(path)
    assert len(whole.utterances) > 4 and grouped.utterances == whole.utterances


def test_a_call_read_from_its_file_scores_as_the_held_call(transcriber):
    """Long PCM calls are read from the file where each stage slices them: the same call either way."""
    from qa.transcribe.audio import load_audio
    from qa.transcribe.filesamples import FileSamples

    path = SAMPLES / "call01_compliant_billing.wav"
    held, backed = load_audio(path, hold_max_s=1e9), load_audio(path, hold_max_s=10)
    assert isinstance(backed.samples, FileSamples)
    a, b = transcriber.transcribe_audio(held), transcriber.transcribe_audio(backed)
    assert len(a.utterances) > 4 and b.utterances == a.utterances and b.timeline == a.timeline
