"""Speech recognition with faster-whisper, decoded region by region.

Whisper is given only the speech regions that the signal timeline found, each
decoded on its own (a "clip"), so it never sees ringback, hold music or long
silences to invent text over, and a chunk border never cuts a sentence: a
region longer than the 30 s window is split at its quietest point. Both
channels' regions go through one batched call so the batch stays full.
"""

from __future__ import annotations

import logging
import mmap
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from qa.records import Interval, TranscribeOptions, Word
from qa.transcribe.model import load_model

log = logging.getLogger("callqa.asr")

ASR_RATE = 16000
MAX_CLIP_S = 28.0  # below Whisper's 30 s window, which truncates longer clips
MERGE_GAP_S = 0.6  # regions closer than this are decoded together, keeping context
PAD_S = 0.15
# Batches of clips handed to faster-whisper at a time: it keeps the features and
# samples of every clip it is handed until it has decoded them all, so on a long
# call a group of 8 batches peaked ~100-300 MB above one batch, at the same speed.
GROUP_BATCHES = 1


@dataclass(frozen=True)
class AsrSegment:
    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...]


def plan_clips(regions: Sequence[Interval], signal: np.ndarray, rate: int = ASR_RATE,
               max_clip_s: float = MAX_CLIP_S, merge_gap_s: float = MERGE_GAP_S,
               pad_s: float = PAD_S) -> list[Interval]:
    """Padded, merged speech regions, none longer than `max_clip_s`."""
    duration = len(signal) / rate
    clips: list[Interval] = []
    for region in sorted(regions, key=lambda r: r.start_s):
        start, end = max(0.0, region.start_s - pad_s), min(duration, region.end_s + pad_s)
        if end <= start:
            continue
        if clips and start - clips[-1].end_s < merge_gap_s and end - clips[-1].start_s <= max_clip_s:
            clips[-1] = Interval(clips[-1].start_s, end)
        else:
            clips.append(Interval(start, end))
    out: list[Interval] = []
    for clip in clips:
        out.extend(_split_long(clip, signal, rate, max_clip_s))
    return out


def _split_long(clip: Interval, signal: np.ndarray, rate: int, max_clip_s: float) -> list[Interval]:
    """Split at the quietest 100 ms in the middle part of an over-long region."""
    if clip.duration_s <= max_clip_s:
        return [clip]
    lo = clip.start_s + clip.duration_s * 0.25
    hi = min(clip.start_s + max_clip_s, clip.end_s - clip.duration_s * 0.1)
    hop = int(0.1 * rate)
    seg = signal[int(lo * rate): int(hi * rate)]
    frames = seg[: len(seg) // hop * hop].reshape(-1, hop) if len(seg) >= hop else seg.reshape(1, -1)
    cut = lo + (int(np.argmin((frames.astype(np.float64) ** 2).mean(axis=1))) + 0.5) * hop / rate
    return (_split_long(Interval(clip.start_s, cut), signal, rate, max_clip_s)
            + _split_long(Interval(cut, clip.end_s), signal, rate, max_clip_s))


@dataclass(frozen=True)
class Compacted:
    """Speech regions laid end to end with short gaps, and the way back to call time.

    Whisper's encoder always runs on a 30 s window, so ten 2 s regions decoded
    one by one cost ten windows; packed together they cost one.
    """

    signal: np.ndarray
    regions: list[Interval]  # in compacted time
    starts: np.ndarray  # compacted start of each region
    origins: np.ndarray  # call-time start of each region
    lengths: np.ndarray

    def to_call_time(self, t: float) -> float:
        if not len(self.starts):
            return t
        k = max(0, int(np.searchsorted(self.starts, t, side="right")) - 1)
        offset = min(max(0.0, t - self.starts[k]), self.lengths[k])
        return round(float(self.origins[k] + offset), 3)


def compact(signal: np.ndarray, regions: Sequence[Interval], rate: int = ASR_RATE, gap_s: float = 0.3,
            pad_s: float = PAD_S) -> Compacted:
    """Cut the padded speech regions out of `signal` and join them with `gap_s` of silence."""
    duration = len(signal) / rate
    spans: list[list[float]] = []
    for r in sorted(regions, key=lambda r: r.start_s):
        a, b = max(0.0, r.start_s - pad_s), min(duration, r.end_s + pad_s)
        if b <= a:
            continue
        if spans and a <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], b)
        else:
            spans.append([a, b])
    gap = np.zeros(int(gap_s * rate), np.float32)
    pieces, starts, out_regions, t = [], [], [], 0.0
    for a, b in spans:
        piece = np.asarray(signal[int(a * rate): int(b * rate)], np.float32)
        starts.append(t)
        out_regions.append(Interval(t, t + len(piece) / rate))
        pieces += [piece, gap]
        t += (len(piece) + len(gap)) / rate
    joined = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    return Compacted(joined, out_regions, np.array(starts), np.array([a for a, _ in spans]),
                     np.array([b - a for a, b in spans]))


class Recognizer:
    """Loads the model once; transcribes 16 kHz float32 signals."""

    def __init__(self, options: TranscribeOptions | None = None, model=None, model_dir: str | None = None,
                 cpu_threads: int = 0):
        self.options = options or TranscribeOptions()
        self.cpu_threads = cpu_threads  # 0: CTranslate2's default
        self._model = model
        self._model_dir = model_dir
        self._batched = None

    @property
    def model(self):
        if self._model is None:
            o = self.options
            self._model = load_model(o.model, model_dir=self._model_dir, device=o.device, compute_type=o.compute_type,
                                     cpu_threads=self.cpu_threads)
        return self._model

    def _common_kwargs(self) -> dict:
        o = self.options
        return dict(language=o.language, beam_size=o.beam_size, word_timestamps=True,
                    initial_prompt=o.initial_prompt, condition_on_previous_text=False)

    def transcribe_clips(self, signals: Sequence[np.ndarray], clips: Sequence[Sequence[Interval]],
                         group_batches: int = GROUP_BATCHES) -> list[list[AsrSegment]]:
        """Decode each signal's clips; returns segments per signal with absolute times.

        The signals are laid end to end and every clip of every signal is one
        batch entry, so two channels share the batches. faster-whisper computes
        the features of every clip it is handed before decoding, so the batched
        decoder takes a long call `group_batches` batches at a time (`_LaidOut`).
        """
        offsets = np.cumsum([0] + [len(s) for s in signals])
        flat = [Interval(c.start_s + offsets[k] / ASR_RATE, c.end_s + offsets[k] / ASR_RATE)
                for k, per in enumerate(clips) for c in per]
        results: list[list[AsrSegment]] = [[] for _ in signals]
        if not flat:
            return results
        laid = _LaidOut(signals)
        try:
            if self.options.batched:
                size = max(1, group_batches * self.options.batch_size)
                segments = [seg for i in range(0, len(flat), size) for seg in self._batched_group(laid, flat[i:i + size])]
            else:  # the plain decoder seeks through one feature matrix of the whole call
                laid.fill(0, len(laid.array))
                segments = list(self._sequential(laid.array, flat))
        finally:
            laid.close()
        bounds = offsets / ASR_RATE
        for seg in segments:
            k = int(np.searchsorted(bounds, (seg.start + seg.end) / 2, side="right") - 1)
            k = min(max(k, 0), len(signals) - 1)
            results[k].append(_to_segment(seg, -float(bounds[k])))
        for per in results:
            per.sort(key=lambda s: s.start_s)
        return results

    def _batched_group(self, laid: "_LaidOut", group: Sequence[Interval]) -> list:
        """The segments of one group of clips, with only the samples they span in memory."""
        if self._batched is None:
            from faster_whisper import BatchedInferencePipeline
            self._batched = BatchedInferencePipeline(self.model)
        lo, hi = int(min(c.start_s for c in group) * ASR_RATE), int(max(c.end_s for c in group) * ASR_RATE) + 1
        laid.fill(lo, hi)
        try:
            stamps = [{"start": c.start_s, "end": c.end_s} for c in group]
            segments, _ = self._batched.transcribe(laid.array, clip_timestamps=stamps,
                                                   batch_size=self.options.batch_size, vad_filter=False,
                                                   **self._common_kwargs())
            return list(segments)
        finally:
            laid.release(lo, hi)

    def transcribe_regions(self, signals: Sequence[np.ndarray], regions: Sequence[Sequence[Interval]]) -> list[list[AsrSegment]]:
        """Decode the speech regions of each signal, packed into few windows; call-time results."""
        packed = [compact(s, r) for s, r in zip(signals, regions)]
        clips = [plan_clips(c.regions, c.signal, pad_s=0.0, merge_gap_s=MERGE_GAP_S) for c in packed]
        decoded = self.transcribe_clips([c.signal for c in packed], clips)
        return [[_to_call_time(seg, c) for seg in segs] for segs, c in zip(decoded, packed)]

    def _sequential(self, signal: np.ndarray, clips: Sequence[Interval]):
        """The plain decoder over the same clips (no batching)."""
        stamps = []
        for c in clips:
            stamps += [c.start_s, c.end_s]
        segments, _ = self.model.transcribe(np.asarray(signal, np.float32), clip_timestamps=stamps, vad_filter=False,
                                            **self._common_kwargs())
        return segments

    def transcribe_plain(self, signal: np.ndarray, vad: bool = True) -> list[AsrSegment]:
        """Whole-signal sequential decoding with Silero VAD: the reference pipeline."""
        segments, _ = self.model.transcribe(np.asarray(signal, np.float32), vad_filter=vad, **self._common_kwargs())
        return [_to_segment(s, 0.0) for s in segments]


class _LaidOut:
    """The signals end to end in one array whose memory is taken only where samples are filled in.

    The array lives in anonymous memory: untouched pages read as zeros and take
    no memory, `fill` copies in the samples of a span, `release` gives its pages
    back. faster-whisper is then handed the whole call's array with the clips'
    own times, so it cuts and decodes exactly what one pass would, while only
    the current group of clips is resident.
    """

    def __init__(self, signals: Sequence[np.ndarray]):
        self.signals = signals
        self.offsets = np.cumsum([0] + [len(s) for s in signals])
        size = max(4, int(self.offsets[-1]) * 4)
        self._map = mmap.mmap(-1, size)
        self.array = np.frombuffer(self._map, dtype=np.float32, count=int(self.offsets[-1]))

    def fill(self, start: int, end: int) -> None:
        for k, signal in enumerate(self.signals):
            a, b = max(start, int(self.offsets[k])), min(end, int(self.offsets[k + 1]))
            if a < b:
                self.array[a:b] = signal[a - self.offsets[k]:b - self.offsets[k]]

    def release(self, start: int, end: int) -> None:
        page = mmap.PAGESIZE
        lo, hi = (start * 4) // page * page, -(-(min(end, len(self.array)) * 4) // page) * page
        if hasattr(self._map, "madvise") and hi > lo:
            self._map.madvise(mmap.MADV_DONTNEED, lo, min(hi, len(self._map)) - lo)

    def close(self) -> None:
        del self.array
        self._map.close()


def _to_call_time(seg: AsrSegment, packed: Compacted) -> AsrSegment:
    words = tuple(Word(w.text, packed.to_call_time(w.start_s), packed.to_call_time(w.end_s), w.probability)
                  for w in seg.words)
    return AsrSegment(packed.to_call_time(seg.start_s), packed.to_call_time(seg.end_s), seg.text, words)


def _to_segment(seg, shift: float) -> AsrSegment:
    words = tuple(
        Word(w.word.strip(), max(0.0, round(float(w.start) + shift, 3)), max(0.0, round(float(w.end) + shift, 3)),
             round(float(w.probability), 3))
        for w in (seg.words or ()) if w.word.strip()
    )
    return AsrSegment(max(0.0, round(float(seg.start) + shift, 3)), max(0.0, round(float(seg.end) + shift, 3)),
                      seg.text.strip(), words)
