"""Decoding through FFmpeg (PyAV): what libsndfile cannot read.

AMR, AAC/Opus in MP4, ADTS AAC, Opus in WebM, raw GSM, G.726 WAV... PyAV is
imported only when such a file comes, and only audio demuxers on local files
are allowed to open it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa.transcribe.audio import Audio, check_layout
from qa.transcribe.buffer import Buffer, capacity
from qa.transcribe.containers import GSM_FRAME, check_complete
from qa.transcribe.errors import (
    AudioError,
    ChannelError,
    EmptyAudioError,
    NotAudioError,
    SampleRateError,
    TooLongError,
    TruncatedAudioError,
    first_line,
)

# Containers FFmpeg may open: audio demuxers only (no playlists, no image or
# network demuxers), and only files on disk.
_AV_FORMATS = "wav,w64,amr,ogg,mov,mp4,m4a,matroska,webm,aac,gsm,mp3,flac,caf,aiff,au"
# Containers whose header declares the length: a shorter decode means a cut file
# (WAV's data chunk is checked against the file size instead).
_DECLARED_LENGTH = ("mov", "mp4", "matroska", "webm")
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


def load_with_av(
    path: Path, container: str | None, sf_error: str, max_duration_s: float | None,
    channel_pick: tuple[int, ...] | None,
) -> Audio:
    """Decode `path` with FFmpeg; `sf_error` (libsndfile's reason) names a file neither can open."""
    import av

    try:
        media = av.open(
            str(path),
            options={"format_whitelist": _AV_FORMATS, "protocol_whitelist": "file"},
            metadata_errors="replace",  # GBK tags from Chinese recorders
        )
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        if container is not None:  # a real header, then nothing FFmpeg can use: the rest is missing
            check_complete(path, container)  # says where, when it can
            raise TruncatedAudioError(path, f"{container} file cannot be opened: {_av_detail(exc)}") from exc
        raise NotAudioError(path, sf_error) from exc
    with media:
        format_name = media.format.name
        if not media.streams.audio:
            raise NotAudioError(path, f"{format_name} file with no audio stream")
        stream = media.streams.audio[0]
        ctx = stream.codec_context
        channels = len(ctx.layout.channels) if ctx.layout else 0
        rate = _output_rate(ctx)
        if rate and channels:  # else the first decoded frame tells
            check_layout(path, rate, channels, channel_pick)
        declared = _declared_seconds(media, stream)
        if max_duration_s is not None and declared is not None and declared > max_duration_s:
            raise TooLongError(path, f"{declared:.0f} s > limit {max_duration_s:.0f} s")
        check_complete(path, container)
        buf, rate = _decode(
            path, av, media, stream, container, rate, channel_pick, max_duration_s, _estimate_seconds(media, stream)
        )

    if buf is None:
        if declared:
            raise TruncatedAudioError(path, f"header declares {declared:.1f} s, no audio frames follow")
        if container is None:
            raise NotAudioError(path, f"no {format_name} audio frames in the file")
        raise EmptyAudioError(path, "no audio frames")
    seconds = buf.frames / rate
    # Codec frames and encoder priming make the two differ by a frame or two.
    if declared is not None and seconds < declared * 0.99 - 0.25:
        raise TruncatedAudioError(path, f"decoded {seconds:.1f} s of the {declared:.1f} s the header declares")
    return Audio(path=str(path), samples=buf.finish(), sample_rate=rate)


def _output_rate(ctx) -> int:
    """The decoder's rate, except Opus: FFmpeg always decodes it at 48 kHz, so it
    comes back at the rate the recorder captured (as libsndfile reads .opus)."""
    rate = int(ctx.sample_rate or 0)
    extra = bytes(ctx.extradata or b"")
    if ctx.name == "opus" and extra.startswith(b"OpusHead") and len(extra) >= 16:
        captured = int.from_bytes(extra[12:16], "little")
        if captured:
            return next((r for r in _OPUS_RATES if r >= captured), 48000)
    return rate


def _declared_seconds(media, stream) -> float | None:
    """The length a container's header declares (not an estimate from the bitrate)."""
    if not any(name in media.format.name.split(",") for name in _DECLARED_LENGTH):
        return None
    return _estimate_seconds(media, stream)


def _estimate_seconds(media, stream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return media.duration / 1_000_000 if media.duration and media.duration > 0 else None


def _decode(
    path: Path, av, media, stream, container: str | None, rate: int, channel_pick: tuple[int, ...] | None,
    max_duration_s: float | None, estimate_s: float | None,
) -> tuple[Buffer | None, int]:
    """Decode `stream` packet by packet into a buffer; typed errors for cut or broken data.

    Returns (None, rate) when no frame decodes. The first decoded frame fixes
    the layout (HE-AAC decodes at twice the rate its header names, Opus is
    brought back to the captured rate). A packet that fails to decode in the
    middle is a glitch: its span becomes silence so the timeline holds.
    Packets that fail at the very end are a cut file. A file whose packets
    mostly fail is unreadable.
    """
    buf: Buffer | None = None
    keep: list[int] = []
    limit: int | None = None
    resampler = None
    layout: tuple[int, int] | None = None  # (channels, rate) of the first decoded frame
    packets = failed = trailing = lost = 0  # trailing: failures since the last good frame
    last_error = ""
    is_gsm = stream.codec_context.name == "gsm"
    demuxed = media.demux(stream)
    while True:
        try:
            packet = next(demuxed)
        except StopIteration:
            break
        except (av.FFmpegError, OSError) as exc:  # the demuxer met the end of a cut file
            failed += 1
            trailing += 1
            last_error = _av_detail(exc)
            break
        data_packet = bool(packet.size)
        packets += data_packet
        try:
            if is_gsm and data_packet and any(b >> 4 != 0xD for b in bytes(packet)[::GSM_FRAME]):
                raise ValueError("not GSM 06.10 frames (no frame signature)")
            frames = packet.decode()
        except (av.FFmpegError, ValueError) as exc:
            failed += 1
            trailing += 1
            last_error = _av_detail(exc)
            if packet.duration and packet.time_base and rate:
                lost += int(round(packet.duration * packet.time_base * rate))
            continue
        for frame in frames:
            shape = (len(frame.layout.channels), frame.sample_rate)
            if layout is None:
                layout = shape
                if stream.codec_context.name != "opus" or not rate:
                    rate = frame.sample_rate
                keep = check_layout(path, rate, shape[0], channel_pick)
                limit = None if max_duration_s is None else int(max_duration_s * rate) + 1
                buf = Buffer(len(keep), capacity(estimate_s * rate if estimate_s else None, limit))
                if frame.sample_rate != rate:
                    resampler = av.AudioResampler(format="fltp", layout=frame.layout, rate=rate)
            elif shape != layout:
                error = ChannelError if shape[0] != layout[0] else SampleRateError
                raise error(
                    path, f"changes mid-recording from {layout[0]} ch {layout[1]} Hz to {shape[0]} ch {shape[1]} Hz"
                )
            if data_packet:
                trailing = 0
            buf.append_silence(lost)
            lost = 0
            for out in resampler.resample(frame) if resampler else (frame,):
                buf.append(_frame_samples(out, keep))
            if limit is not None and buf.frames > limit:
                raise TooLongError(path, f"{buf.frames / rate:.0f}+ s > limit {max_duration_s:.0f} s")
    if buf is None:
        if failed and container is not None and failed <= 2:  # a header, then one partial packet
            raise TruncatedAudioError(path, f"cut off inside the first frame ({last_error})")
        if failed:
            raise NotAudioError(path, f"no decodable {media.format.name} audio ({last_error})")
        return None, rate
    if resampler is not None:
        for out in resampler.resample(None):
            buf.append(_frame_samples(out, keep))
    if trailing:
        raise TruncatedAudioError(path, f"cut off after {buf.frames / rate:.1f} s ({last_error})")
    if failed > max(1, packets // 100):
        raise AudioError(path, f"{failed} of {packets} packets could not be decoded ({last_error})")
    return buf, rate


_SCALE = {"u8": 1 / 128, "s16": 1 / 32768, "s32": 1 / 2**31, "s64": 1 / 2**63}


def _frame_samples(frame, keep: list[int]) -> np.ndarray:
    """One decoded frame as float32 (channels, samples), only the kept channels."""
    channels = len(frame.layout.channels)
    x = frame.to_ndarray()
    if not frame.format.is_planar:
        x = x.reshape(-1, channels).T
    x = x[:, : frame.samples]
    if keep != list(range(channels)):
        x = x[keep]
    name = frame.format.name.rstrip("p")
    if name == "u8":
        return (x.astype(np.float32) - 128) * np.float32(_SCALE["u8"])
    if name in _SCALE:
        return x.astype(np.float32) * np.float32(_SCALE[name])
    return x.astype(np.float32, copy=False)


def _av_detail(exc: Exception) -> str:
    """FFmpeg's reason without the errno and the path, which the message already names."""
    text = getattr(exc, "strerror", None) or str(exc)
    return first_line(Exception(text))
