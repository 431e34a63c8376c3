"""Assembling the embedded Whisper model: verified, atomic, safe under concurrency."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qa.transcribe import model as model_mod
from qa.transcribe.model import (
    MODEL_BIN_SIZE,
    ModelError,
    assemble_embedded,
    default_model_dir,
    resolve_model,
)


def test_default_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("CALLQA_MODEL_DIR", str(tmp_path / "m"))
    assert default_model_dir() == tmp_path / "m"
    monkeypatch.delenv("CALLQA_MODEL_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_model_dir() == tmp_path / "cache" / "callqa" / "models" / "whisper-base"


def test_assembles_verified_model(tmp_path):
    target = assemble_embedded(tmp_path / "whisper")
    assert (target / "model.bin").stat().st_size == MODEL_BIN_SIZE
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (target / name).is_file()
    assert not list(target.glob("*.tmp-*")), "no temporary file is left behind"
    mtime = (target / "model.bin").stat().st_mtime_ns
    assert assemble_embedded(target) == target
    assert (target / "model.bin").stat().st_mtime_ns == mtime, "a complete model is not rebuilt"


def test_half_written_model_is_replaced(tmp_path):
    target = tmp_path / "whisper"
    target.mkdir()
    (target / "model.bin").write_bytes(b"\0" * 1000)  # what a crash mid-copy would leave
    assemble_embedded(target)
    assert (target / "model.bin").stat().st_size == MODEL_BIN_SIZE


def test_crash_during_assembly_leaves_no_model(tmp_path, monkeypatch):
    """A failure while writing never leaves a model.bin that would later load."""
    target = tmp_path / "whisper"

    def broken_parts():
        data, part1, part2 = real_parts()
        return data, part1, tmp_path / "missing.part2"

    real_parts = model_mod._part_files
    monkeypatch.setattr(model_mod, "_part_files", broken_parts)
    with pytest.raises(FileNotFoundError):
        assemble_embedded(target)
    assert not (target / "model.bin").exists()
    assert not list(target.glob("model.bin.tmp-*"))


def test_wrong_checksum_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(model_mod, "MODEL_BIN_SHA256", "0" * 64)
    with pytest.raises(ModelError, match="sha256"):
        assemble_embedded(tmp_path / "whisper")
    assert not (tmp_path / "whisper" / "model.bin").exists()


def test_two_processes_at_once(tmp_path):
    target = tmp_path / "whisper"
    code = ("import sys; from pathlib import Path; from qa.transcribe.model import assemble_embedded; "
            "print((assemble_embedded(Path(sys.argv[1])) / 'model.bin').stat().st_size)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    sizes = [int(p.communicate(timeout=600)[0].strip()) for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert sizes == [MODEL_BIN_SIZE, MODEL_BIN_SIZE]
    assert not list(target.glob("*.tmp-*"))


def test_resolve_accepts_a_model_directory_and_rejects_others(tmp_path):
    good = assemble_embedded(tmp_path / "whisper")
    assert resolve_model(str(good)) == str(good)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="no model.bin"):
        resolve_model(str(tmp_path / "empty"))
    with pytest.raises(ModelError, match="no such model directory"):
        resolve_model(str(tmp_path / "nowhere" / "model"))
    assert resolve_model("small") == "small"  # a name, downloaded by faster-whisper when online


def test_model_name_offline_says_what_to_do(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="not available offline"):
        model_mod.load_model("tiny")
