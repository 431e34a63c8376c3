"""Loading recordings: formats, rates, layouts, and a typed error for each bad file."""

from __future__ import annotations

import av
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
    # At most 16 bits a sample are kept as int16 (half of float32); lossy codecs decode to float32.
    assert audio.samples.dtype == (np.int16 if subtype in ("PCM_16", "ULAW") else np.float32)
    assert audio.duration_s == pytest.approx(2.0, abs=0.1)  # mp3 pads a frame
    assert audio.channel(0).dtype == np.float32
    assert 0.1 < np.abs(audio.channel(0)).max() <= 1.0
    if subtype in ("PCM_16", "ULAW"):  # read as float32 in [-1, 1], as written
        sent = tone(2.0, rate, channels)
        np.testing.assert_allclose(audio.channel(0), sent if channels == 1 else sent[:, 0],
                                   atol=1e-4 if subtype == "PCM_16" else 1e-2)
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
    np.testing.assert_allclose(picked.channel(0), tone(1.0, 8000, 4)[:, 2], atol=1e-3)
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


# --- Containers and codecs the call recorders write -------------------------------------------
#
# Each file is made here from a known signal (a 440 Hz tone on the left/agent channel, 1000 Hz on
# the right/customer channel), encoded with PyAV (FFmpeg's encoders; GSM 06.10 with libsndfile's,
# FFmpeg has no GSM encoder), then loaded and compared with the tone.

FREQS = (440.0, 1000.0)


def two_tones(seconds: float, rate: int, channels: int) -> np.ndarray:
    """(channels, frames) float32: 440 Hz left, 1000 Hz right, amplitude 0.3."""
    t = np.arange(int(seconds * rate)) / rate
    return np.stack([0.3 * np.sin(2 * np.pi * FREQS[c] * t) for c in range(channels)]).astype(np.float32)


def tone_share(x: np.ndarray, rate: int, freq: float) -> float:
    """How much of `x` (middle 80%) is a sinusoid at `freq`: 1.0 for a pure tone, ~0 for another
    tone. Phase-blind, so codec delay and priming do not matter."""
    x = x[len(x) // 10 : len(x) - len(x) // 10].astype(np.float64)
    t = np.arange(len(x)) / rate
    return float(np.sqrt(2) * abs(np.sum(x * np.exp(-2j * np.pi * freq * t))) / np.sqrt(len(x) * np.sum(x * x) + 1e-12))


def have_encoder(name: str) -> bool:
    try:
        av.Codec(name, "w")
    except Exception:
        return False
    return True


def encode(path, muxer: str, codec: str, x: np.ndarray, rate: int, bit_rate: int | None = None, options=None):
    """Write (channels, frames) `x` with PyAV: `muxer` container, `codec` encoder."""
    layout = "stereo" if x.shape[0] == 2 else "mono"
    with av.open(str(path), "w", format=muxer, options=options or {}) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        if bit_rate:
            stream.bit_rate = bit_rate
        fmt = stream.codec_context.codec.audio_formats[0].name
        resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate)
        frames = [av.AudioFrame.from_ndarray(np.ascontiguousarray(x[:, i : i + 960]), format="fltp", layout=layout)
                  for i in range(0, x.shape[1], 960)]
        for frame in [*frames, None]:
            if frame is not None:
                frame.sample_rate = rate
            for converted in resampler.resample(frame):
                for packet in stream.encode(converted):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


AAC_FRAME = 1024  # samples per AAC frame; Opus, AMR and GSM frames are 20 ms

# id, file name, muxer, encoder, rate, channels, rate expected back, codec frame (s), bit rate
CODECS = [
    ("amr-nb", "call.amr", "amr", "libopencore_amrnb", 8000, 1, 8000, 0.02, 12200),
    ("amr-nb-3gp", "call.3gp", "3gp", "libopencore_amrnb", 8000, 1, 8000, 0.02, 12200),
    ("amr-wb", "call.awb", "amr", "libvo_amrwbenc", 16000, 1, 16000, 0.02, 23850),
    ("opus-stereo", "call.opus", "opus", "libopus", 16000, 2, 16000, 0.02, None),
    ("opus-in-ogg", "call.ogg", "ogg", "libopus", 48000, 1, 48000, 0.02, None),
    ("opus-webm-stereo", "call.webm", "webm", "libopus", 16000, 2, 16000, 0.02, None),  # 48 kHz decode, back to 16
    ("opus-m4a", "opus.m4a", "mp4", "libopus", 8000, 1, 8000, 0.02, None),
    ("aac-m4a-stereo", "call.m4a", "ipod", "aac", 16000, 2, 16000, AAC_FRAME / 16000, None),
    ("aac-mp4", "call.mp4", "mp4", "aac", 8000, 1, 8000, AAC_FRAME / 8000, None),
    ("aac-adts", "call.aac", "adts", "aac", 16000, 1, 16000, AAC_FRAME / 16000, None),
    ("alaw-wav-stereo", "alaw.wav", "wav", "pcm_alaw", 8000, 2, 8000, 0.0, None),
    ("mulaw-wav", "mulaw_av.wav", "wav", "pcm_mulaw", 8000, 1, 8000, 0.0, None),
    ("g726-wav", "g726.wav", "wav", "adpcm_g726", 8000, 1, 8000, 0.0, None),  # libsndfile cannot read it
    ("yamaha-adpcm-wav-stereo", "adpcm.wav", "wav", "adpcm_yamaha", 8000, 2, 8000, 1024 / 8000, None),  # 1024-sample blocks
]


def check_tones(audio, rate: int, channels: int, seconds: float, frame_s: float):
    assert audio.sample_rate == rate
    assert audio.channels == channels
    assert audio.samples.dtype in (np.float32, np.int16) and audio.samples.flags.c_contiguous
    assert abs(audio.duration_s - seconds) <= 2 * frame_s + 1e-3, audio.duration_s
    for c in range(channels):
        x = audio.channel(c)
        assert tone_share(x, rate, FREQS[c]) > 0.95  # the tone that went in ...
        assert tone_share(x, rate, FREQS[1 - c]) < 0.1  # ... and not the other channel's
        middle = x[len(x) // 10 : -len(x) // 10]
        assert 0.5 * 0.3 / np.sqrt(2) < np.sqrt(np.mean(middle**2)) < 1.5 * 0.3 / np.sqrt(2)


@pytest.mark.parametrize(
    "name,muxer,codec,rate,channels,rate_back,frame_s,bit_rate", [c[1:] for c in CODECS], ids=[c[0] for c in CODECS]
)
def test_recorder_codecs_decode_to_the_tones_that_went_in(
    tmp_path, name, muxer, codec, rate, channels, rate_back, frame_s, bit_rate
):
    if not have_encoder(codec):
        pytest.skip(f"this PyAV build has no {codec} encoder to make the test file with")
    path = tmp_path / name
    encode(path, muxer, codec, two_tones(2.0, rate, channels), rate, bit_rate)
    audio = load_audio(path)
    check_tones(audio, rate_back, channels, 2.0, frame_s)
    assert audio.channel(0, 16000).shape[0] == pytest.approx(audio.duration_s * 16000, abs=2)


def test_stereo_aac_and_opus_keep_agent_and_customer_apart(tmp_path):
    for name, muxer, codec in (("call.m4a", "ipod", "aac"), ("call.webm", "webm", "libopus")):
        path = tmp_path / name
        encode(path, muxer, codec, two_tones(2.0, 16000, 2), 16000)
        audio = load_audio(path)
        assert audio.channels == 2
        left, right = audio.channel(0), audio.channel(1)
        assert abs(np.corrcoef(left, right)[0, 1]) < 0.05  # distinct signals, not one copied twice
        assert tone_share(left, 16000, 440.0) > 0.95 and tone_share(right, 16000, 1000.0) > 0.95
        picked = load_audio(path, channel_pick=(1,))
        assert picked.channels == 1
        np.testing.assert_array_equal(picked.channel(0), right)


def test_gsm_raw_and_in_wav(tmp_path):
    # FFmpeg has no GSM 06.10 encoder; libsndfile has one and writes both layouts.
    x = two_tones(2.0, 8000, 1)[0]
    raw, wav = tmp_path / "call.gsm", tmp_path / "gsm.wav"
    sf.write(raw, x, 8000, format="RAW", subtype="GSM610")
    sf.write(wav, x, 8000, format="WAV", subtype="GSM610")
    assert len(raw.read_bytes()) == 100 * 33  # 100 frames of 20 ms, no header
    for path in (raw, wav):
        check_tones(load_audio(path), 8000, 1, 2.0, 0.02)


def test_amr_wb_container_and_decoder(tmp_path):
    """No AMR-WB encoder ships with this PyAV (libvo-amrwbenc), so the tone test above skips.

    This file is built by hand to the AMR-WB storage format (RFC 4867: the magic, then one TOC
    byte and 60 payload bytes per 20 ms frame at 23.85 kbit/s) with random payload bits: it checks
    the container, rate, length and a cut file, not the sound.
    """
    rng = np.random.default_rng(0)
    frames = b"".join(bytes([8 << 3 | 0x04]) + rng.bytes(60) for _ in range(100))
    path = tmp_path / "call.awb"
    path.write_bytes(b"#!AMR-WB\n" + frames)
    audio = load_audio(path)
    assert (audio.sample_rate, audio.channels) == (16000, 1)
    assert audio.duration_s == pytest.approx(2.0, abs=0.04)
    assert np.isfinite(audio.samples).all() and np.abs(audio.samples).max() <= 1.0
    assert audio.samples.std() > 0.01
    cut = tmp_path / "cut.awb"
    cut.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(TruncatedAudioError, match="cut.awb"):
        load_audio(cut)


def _ogg_header_pages_end(data: bytes) -> int:
    """Offset of the first audio page of an Ogg Opus file (after OpusHead and OpusTags)."""
    at = data.index(b"OggS", 1)
    return data.index(b"OggS", at + 1)


CUTS = [
    # id, file name, muxer, encoder, rate, where the header ends, class for a header-only file
    ("amr", "cut.amr", "amr", "libopencore_amrnb", 8000, lambda d: 6, EmptyAudioError),  # no length in an AMR header
    ("opus", "cut.opus", "opus", "libopus", 16000, _ogg_header_pages_end, TruncatedAudioError),
    ("m4a", "cut.m4a", "ipod", "aac", 16000, lambda d: int.from_bytes(d[:4], "big"), TruncatedAudioError),  # ftyp
    ("webm", "cut.webm", "webm", "libopus", 16000, lambda d: 200, TruncatedAudioError),
    ("aac", "cut.aac", "adts", "aac", 16000, lambda d: 7, EmptyAudioError),  # one ADTS frame header, no length
]


@pytest.mark.parametrize("name,muxer,codec,rate,header_end,header_error", [c[1:] for c in CUTS], ids=[c[0] for c in CUTS])
def test_cut_off_recorder_files_are_truncated(tmp_path, name, muxer, codec, rate, header_end, header_error):
    full = tmp_path / f"full_{name}"
    encode(full, muxer, codec, two_tones(4.0, rate, 1), rate, 12200 if muxer == "amr" else None)
    data = full.read_bytes()
    assert load_audio(full).duration_s == pytest.approx(4.0, abs=0.2)

    path = tmp_path / name
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedAudioError) as err:
        load_audio(path)
    assert name in str(err.value) and "truncated" in str(err.value)

    path.write_bytes(data[: header_end(data)])
    with pytest.raises(header_error) as err:
        load_audio(path)
    assert name in str(err.value)


def test_cut_off_m4a_with_the_index_first(tmp_path):
    # A recorder that writes the moov index up front (faststart): the header declares 4 s.
    full = tmp_path / "full.m4a"
    encode(full, "ipod", "aac", two_tones(4.0, 16000, 2), 16000, options={"movflags": "+faststart"})
    data = full.read_bytes()
    path = tmp_path / "fast.m4a"
    for cut in (len(data) // 2, data.index(b"mdat") + 4, data.index(b"mdat") + 5):
        path.write_bytes(data[:cut])
        with pytest.raises(TruncatedAudioError, match="fast.m4a"):
            load_audio(path)


def test_cut_off_live_webm_is_truncated(tmp_path):
    # Browser and WebRTC recorders write live WebM: no duration, clusters of unknown size.
    full = tmp_path / "full.webm"
    encode(full, "webm", "libopus", two_tones(4.0, 16000, 2), 16000, options={"live": "1"})
    assert load_audio(full).duration_s == pytest.approx(4.0, abs=0.05)
    data = full.read_bytes()
    path = tmp_path / "live.webm"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedAudioError, match="live.webm"):
        load_audio(path)


@pytest.mark.parametrize("name", ["notes.amr", "notes.m4a", "notes.opus", "notes.gsm", "notes.aac", "notes.webm"])
def test_text_file_renamed_to_a_recorder_format_is_not_audio(tmp_path, name):
    path = tmp_path / name
    path.write_text("this is a call note, not a recording\n" * 20)
    with pytest.raises(NotAudioError) as err:
        load_audio(path)
    assert name in str(err.value) and "not an audio file" in str(err.value)


def test_cut_raw_gsm_is_truncated(tmp_path):
    path = tmp_path / "cut.gsm"
    sf.write(path, two_tones(2.0, 8000, 1)[0], 8000, format="RAW", subtype="GSM610")
    path.write_bytes(path.read_bytes()[: 33 * 50 + 10])
    with pytest.raises(TruncatedAudioError, match="cut.gsm"):
        load_audio(path)


def test_limits_and_picks_apply_to_decoded_formats(tmp_path):
    amr, m4a = tmp_path / "long.amr", tmp_path / "long.m4a"
    encode(amr, "amr", "libopencore_amrnb", two_tones(3.0, 8000, 1), 8000, 12200)
    encode(m4a, "ipod", "aac", two_tones(3.0, 16000, 2), 16000)
    for path in (amr, m4a):  # AMR declares no length: the limit stops the decode
        with pytest.raises(TooLongError, match=path.name):
            load_audio(path, max_duration_s=2.0)
        assert load_audio(path, max_duration_s=5.0).duration_s == pytest.approx(3.0, abs=0.2)
    with pytest.raises(ChannelError, match="channel pick"):
        load_audio(m4a, channel_pick=(0, 2))


@pytest.mark.parametrize("name,muxer,codec,seconds", [("long.wav", None, None, 60.0), ("long.m4a", "ipod", "aac", 30.0)])
def test_a_long_call_is_held_once_not_copied(tmp_path, name, muxer, codec, seconds):
    import tracemalloc

    path = tmp_path / name
    x = two_tones(seconds, 16000, 2)
    if muxer is None:
        sf.write(path, x.T, 16000, subtype="PCM_16")
    else:
        encode(path, muxer, codec, x, 16000)
    tracemalloc.start()
    try:
        audio = load_audio(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The signal once, plus a few blocks; reading it all and then transposing or concatenating
    # (as the loader did) peaks at twice the signal.
    assert peak < 1.05 * audio.samples.nbytes + (2 << 20)


@pytest.mark.parametrize("capacity", [1, 700, 1000, 1003, 5000])
def test_decode_buffer_grows_and_trims_in_place(capacity):
    from qa.transcribe.buffer import Buffer

    rng = np.random.default_rng(capacity)
    blocks = [rng.uniform(-1, 1, (2, n)).astype(np.float32) for n in (160, 333, 7, 500)]
    buf = Buffer(2, capacity)
    for block in blocks:
        buf.append(block)
    out = buf.finish()
    np.testing.assert_array_equal(out, np.concatenate(blocks, axis=1))
    assert out.flags.c_contiguous and out.flags.owndata


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000])
def test_a_channel_resampled_piece_by_piece_equals_the_whole_call_resampled(rate):
    from qa.transcribe.audio import Resampled, resample

    x = np.random.default_rng(rate).standard_normal(rate * 5).astype(np.float32)
    whole, lazy = resample(x, rate, 16_000), Resampled(x, rate, 16_000)
    assert len(lazy) == len(whole)
    n = len(whole)
    for a, b in ((0, 160), (7, 16_000), (33_333, 48_001), (n - 500, n), (n - 10, n + 10), (5, 5)):
        assert np.allclose(lazy[a:b], whole[a:b], atol=1e-6), (a, b)
    assert np.allclose(np.asarray(lazy), whole, atol=1e-6)
    with pytest.raises(TypeError):
        lazy[::2]


def test_pcm_is_read_as_float_piece_by_piece_and_resampled_like_the_whole():
    from qa.transcribe.audio import Audio, Pcm, resample

    pcm = (np.random.default_rng(1).standard_normal((2, 8000 * 3)) * 5000).astype(np.int16)
    audio = Audio("pcm.wav", pcm, 8000)
    as_float = pcm.astype(np.float32) / 32768
    view = audio.channel_at(1, 8000)
    assert isinstance(view, Pcm) and len(view) == pcm.shape[1]
    np.testing.assert_array_equal(view[100:900], as_float[1, 100:900])
    np.testing.assert_array_equal(audio.channel(1), as_float[1])
    up = audio.channel_at(0, 16000)  # resampled from the float reading, a piece at a time
    assert np.allclose(up[1000:5000], resample(as_float[0], 8000, 16000)[1000:5000], atol=1e-6)
    with pytest.raises(TypeError):
        view[::2]
