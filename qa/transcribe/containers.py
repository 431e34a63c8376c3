"""Which container a file is, and whether its own structure shows it whole.

A cut recording often still decodes, just shorter: these checks read the
container's framing (Ogg pages, MP4 boxes, Matroska/WebM elements, WAV
chunks, raw GSM frames) so a truncated file is a typed error, not a short call.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from qa.transcribe.errors import NotAudioError, TruncatedAudioError

GSM_FRAME = 33  # bytes of one 20 ms GSM 06.10 frame in a raw .gsm file
_EBML_SEGMENT = 0x18538067


def sniff(head: bytes) -> str | None:
    """The container a file's first bytes announce, if it is one read through FFmpeg."""
    if head[4:8] == b"ftyp":
        return "mp4"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"#!AMR"):
        return "amr"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "adts"
    return None


def check_complete(path: Path, container: str | None) -> None:
    """Proves the file is whole as far as its container's framing can tell (else TruncatedAudioError)."""
    if container == "wav":
        _check_wav_complete(path)
    elif container == "ogg":
        _check_ogg_complete(path)
    elif container == "matroska":
        _check_matroska_complete(path)
    elif container == "mp4":
        _check_mp4_complete(path)


def check_gsm_frames(path: Path) -> None:
    """Proves a headerless file is raw GSM 06.10: every 33-byte frame signed 0xD, the last one whole."""
    # libsndfile and FFmpeg both take any file named .gsm for raw GSM and would
    # decode a text file as noise.
    data = np.fromfile(path, dtype=np.uint8)
    starts = data[::GSM_FRAME] >> 4
    bad = np.flatnonzero(starts != 0xD)
    if bad.size and (bad[0] == 0 or bad.size > starts.size // 100):  # a flipped byte here and there is noise
        raise NotAudioError(path, f"no GSM 06.10 frame signature at byte {bad[0] * GSM_FRAME}")
    if len(data) % GSM_FRAME:
        raise TruncatedAudioError(path, f"ends inside a GSM frame ({len(data) % GSM_FRAME} of {GSM_FRAME} bytes)")


def _check_ogg_complete(path: Path) -> None:
    """Proves the Ogg stream was closed: the file ends with a whole page flagged end-of-stream."""
    size = path.stat().st_size
    tail_len = min(size, 27 + 255 + 255 * 255)  # the largest Ogg page
    with path.open("rb") as f:
        f.seek(size - tail_len)
        tail = f.read()
    pos = tail.rfind(b"OggS")
    while pos >= 0:  # the last page header whose page ends exactly at the end of the file
        if pos + 27 <= len(tail) and tail[pos + 4] == 0:
            segments = tail[pos + 26]
            lacing = tail[pos + 27 : pos + 27 + segments]
            if len(lacing) == segments and pos + 27 + segments + sum(lacing) == len(tail):
                if not tail[pos + 5] & 0x04:
                    raise TruncatedAudioError(path, "the last Ogg page is not marked end-of-stream")
                return
        pos = tail.rfind(b"OggS", 0, pos)
    raise TruncatedAudioError(path, "the last Ogg page is cut off")


def _check_matroska_complete(path: Path) -> None:
    """Proves the Matroska/WebM segment fits in the file (in a live recording, every element in it)."""
    # A browser or WebRTC recorder writes a live WebM: no duration to compare
    # with, and segment and clusters of unknown size. Elements of unknown size
    # are stepped into, the rest are skipped over; only the blocks of such
    # clusters are walked one by one.
    size = path.stat().st_size
    with path.open("rb") as f:
        pos = 0
        while pos < size:
            f.seek(pos)
            head = f.read(12)
            element = _ebml_header(head)
            if element is None:
                raise TruncatedAudioError(path, f"Matroska element header cut off at byte {pos}")
            element_id, header_len, length = element
            start = pos + header_len
            if length is None:  # unknown size (a live recording): step inside
                pos = start
                continue
            if start + length > size:
                raise TruncatedAudioError(
                    path, f"Matroska element at byte {pos} declares {length} bytes, the file holds {size - start}"
                )
            if element_id == _EBML_SEGMENT:
                return  # the whole segment is there
            pos = start + length


def _check_mp4_complete(path: Path) -> None:
    """Proves every top-level MP4 box (ftyp, moov, mdat, moof...) fits in the file."""
    size = path.stat().st_size
    with path.open("rb") as f:
        pos = 0
        while pos + 8 <= size:
            f.seek(pos)
            length, kind = struct.unpack(">I4s", f.read(8))
            name = kind.decode("latin-1")
            if length == 1:  # 64-bit size follows
                if pos + 16 > size:
                    break
                length = struct.unpack(">Q", f.read(8))[0]
            elif length == 0:  # runs to the end of the file (a recorder that never patched it)
                return
            if length < 8:
                raise TruncatedAudioError(path, f"broken MP4 box {name!r} at byte {pos}")
            if pos + length > size:
                raise TruncatedAudioError(
                    path, f"MP4 box {name!r} at byte {pos} declares {length} bytes, the file holds {size - pos}"
                )
            pos += length
        if pos != size:
            raise TruncatedAudioError(path, f"MP4 box header cut off at byte {pos}")


def _ebml_header(head: bytes) -> tuple[int, int, int | None] | None:
    """(id, header bytes, data bytes or None when unknown) of the EBML element at `head`."""
    if not head or head[0] == 0:
        return None
    id_len = 8 - head[0].bit_length() + 1
    if id_len > 4 or len(head) <= id_len or head[id_len] == 0:
        return None
    size_len = 8 - head[id_len].bit_length() + 1
    if len(head) < id_len + size_len:
        return None
    element_id = int.from_bytes(head[:id_len], "big")
    raw = int.from_bytes(head[id_len : id_len + size_len], "big") & ((1 << (7 * size_len)) - 1)
    return element_id, id_len + size_len, None if raw == (1 << (7 * size_len)) - 1 else raw


def _check_wav_complete(path: Path) -> None:
    """Proves a WAV's data chunk holds every byte its header declares (streamed sizes aside)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            return  # let libsndfile judge other containers
        if head[:4] == b"RF64":
            return
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"data":
                available = size - (pos + 8)
                # 0 and 0xFFFFFFFF are written by streaming recorders that never patch the size.
                if chunk_size not in (0, 0xFFFFFFFF) and available < chunk_size:
                    raise TruncatedAudioError(
                        path, f"data chunk declares {chunk_size} bytes, file holds {available}"
                    )
                return
            pos += 8 + chunk_size + (chunk_size & 1)
