"""Long PCM calls read from their file: the same samples as a held call, without holding them."""

from __future__ import annotations

import pickle
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from qa.transcribe.audio import TruncatedAudioError, load_audio
from qa.transcribe.filesamples import FileSamples


def noise_call(path, seconds=20.0, rate=8000, subtype="PCM_16", channels=2):
    x = (np.random.default_rng(5).standard_normal((channels, int(seconds * rate))) * 3000).astype(np.int16)
    sf.write(path, x.T, rate, subtype=subtype)
    return path


@pytest.mark.parametrize("name,subtype", [("pcm16.wav", "PCM_16"), ("alaw.wav", "ALAW"), ("mulaw.wav", "ULAW"),
                                          ("pcm8.wav", "PCM_U8"), ("pcm16.aiff", "PCM_16")])
def test_a_call_read_from_its_file_gives_the_held_samples(tmp_path, name, subtype):
    path = noise_call(tmp_path / name, subtype=subtype)
    held, backed = load_audio(path, hold_max_s=1e9), load_audio(path, hold_max_s=5)
    assert isinstance(backed.samples, FileSamples) and isinstance(held.samples, np.ndarray)
    assert backed.duration_s == held.duration_s and backed.channels == 2
    for ch in (0, 1):
        for rate in (8000, 16000):  # as the timeline and as the recognizer read it
            a, b = held.channel_at(ch, rate), backed.channel_at(ch, rate)
            assert len(a) == len(b)
            for start, stop in ((0, 100), (12_345, 54_321), (len(a) - 10, len(a) + 5)):
                assert np.array_equal(a[start:stop], b[start:stop])
        assert np.array_equal(held.channel(ch), backed.channel(ch))
    assert np.array_equal(np.asarray(backed.samples), held.samples)
    again = pickle.loads(pickle.dumps(backed))  # as a batch worker receives it
    assert np.array_equal(again.channel(1), held.channel(1))


def test_a_long_call_read_from_its_file_is_not_held(tmp_path):
    path = noise_call(tmp_path / "long.wav", seconds=120.0)
    tracemalloc.start()
    try:
        audio = load_audio(path, hold_max_s=60)
        piece = audio.channel_at(1, 8000)[8000:16000]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(piece) == 8000
    assert peak < 0.1 * 2 * 120 * 8000 * 2  # a tenth of the int16 call: nothing but the piece was read


def test_short_calls_and_compressed_ones_are_held(tmp_path):
    assert isinstance(load_audio(noise_call(tmp_path / "short.wav", seconds=5.0), hold_max_s=60).samples, np.ndarray)
    assert isinstance(load_audio(noise_call(tmp_path / "long.flac", seconds=20.0), hold_max_s=5).samples, np.ndarray)


def test_a_file_cut_while_it_is_scored_names_the_file(tmp_path):
    path = noise_call(tmp_path / "call.wav")
    audio = load_audio(path, hold_max_s=5)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(TruncatedAudioError, match="call.wav.*got shorter"):
        audio.channel(0)


def test_a_header_promising_more_frames_than_the_file_holds_is_cut(tmp_path):
    path = noise_call(tmp_path / "call.wav")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedAudioError, match="call.wav"):
        load_audio(path, hold_max_s=5)
