"""Loading recordings: formats, rates, layouts, and a typed error for each bad file."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from qa.transcribe.audio import (
    AudioError,
    ChannelError,
    EmptyAudioError,
    NotAudioError,
    SampleRateError,
    TooLongError,
    TruncatedAudioError,
    load_audio,
)


def tone(seconds: float, rate: int, channels: int = 1, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * freq * t)
    return np.stack([x * (0.5 + 0.5 * c) for c in range(channels)], axis=1) if channels > 1 else x


@pytest.mark.parametrize(
    "name,fmt,subtype,rate,channels",
    [
        ("pcm16.wav", "WAV", "PCM_16", 8000, 2),
        ("mulaw.wav", "WAV", "ULAW", 8000, 1),
        ("call.flac", "FLAC", "PCM_16", 16000, 2),
        ("call.ogg", "OGG", "VORBIS", 16000, 1),
        ("call.mp3", "MP3", "MPEG_LAYER_III", 16000, 1),
        ("wide.wav", "WAV", "PCM_16", 48000, 2),
    ],
)
def test_formats_rates_and_layouts_load(tmp_path, name, fmt, subtype, rate, channels):
    path = tmp_path / name
    sf.write(path, tone(2.0, rate, channels), rate, format=fmt, subtype=subtype)
    audio = load_audio(path)
    assert audio.sample_rate == rate
    assert audio.channels == channels
    assert audio.samples.dtype == np.float32
    assert audio.duration_s == pytest.approx(2.0, abs=0.1)  # mp3 pads a frame
    assert 0.1 < np.abs(audio.samples[0]).max() <= 1.0
    assert audio.channel(0, 16000).shape[0] == pytest.approx(2.0 * 16000, rel=0.06)


def test_pure_silence_is_a_valid_call(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(8000 * 5), 8000, subtype="PCM_16")
    audio = load_audio(path)
    assert audio.duration_s == pytest.approx(5.0)
    assert not audio.samples.any()


def test_text_file_is_not_audio(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is a call note, not a recording\n" * 20)
    with pytest.raises(NotAudioError) as err:
        load_audio(path)
    assert "notes.wav" in str(err.value) and "not an audio file" in str(err.value)


def test_zero_byte_file_is_empty(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(EmptyAudioError, match="empty.wav"):
        load_audio(path)


def test_header_only_wav_is_empty(tmp_path):
    path = tmp_path / "header.wav"
    sf.write(path, np.zeros(0), 8000, subtype="PCM_16")
    with pytest.raises(EmptyAudioError, match="header.wav"):
        load_audio(path)


def test_cut_off_wav_is_truncated(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, tone(4.0, 8000, 2), 8000, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedAudioError) as err:
        load_audio(path)
    assert "cut.wav" in str(err.value) and "truncated" in str(err.value)


def test_cut_off_flac_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "cut.flac"
    sf.write(path, np.random.default_rng(0).normal(0, 0.1, (16000 * 4, 2)), 16000, format="FLAC")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(AudioError, match="cut.flac"):
        load_audio(path)


def test_more_than_two_channels_needs_a_pick(tmp_path):
    path = tmp_path / "four.wav"
    sf.write(path, tone(1.0, 8000, 4), 8000, subtype="PCM_16")
    with pytest.raises(ChannelError, match="4 channels"):
        load_audio(path)
    picked = load_audio(path, channel_pick=(2, 3))
    assert picked.channels == 2
    np.testing.assert_allclose(picked.samples[0], tone(1.0, 8000, 4)[:, 2], atol=1e-3)
    with pytest.raises(ChannelError, match="channel pick"):
        load_audio(path, channel_pick=(0, 5))


def test_longer_than_limit(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, tone(3.0, 8000), 8000, subtype="PCM_16")
    with pytest.raises(TooLongError, match="long.wav"):
        load_audio(path, max_duration_s=2.0)
    assert load_audio(path, max_duration_s=5.0).duration_s == pytest.approx(3.0)


def test_unsupported_sample_rate(tmp_path):
    path = tmp_path / "low.wav"
    sf.write(path, tone(1.0, 4000), 4000, subtype="PCM_16")
    with pytest.raises(SampleRateError, match="4000 Hz"):
        load_audio(path)


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="not found"):
        load_audio(tmp_path / "nope.wav")
