"""Scoring on a Ray cluster, and reading inputs from URLs.

The URL tests use fsspec's `memory://` and `file://` (no network). The cluster
tests start a real two-node Ray cluster on this machine (`ray start --head`
plus `ray start --address`, one CPU each) and stop exactly the processes they
started, by their session id, so no other Ray on the machine is touched.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import fsspec
import pytest

from qa.phrases.rulebook import load_rulebook
from qa.records import TranscribeOptions
from qa.scoring.batch import ScoreTask, run_batch
from qa.scoring.metadata import load_metadata
from qa.scoring.sources import SourceError, discover_urls, is_url, local_copy, sha256_of


# --- inputs behind URLs ------------------------------------------------------

@pytest.fixture
def memfs():
    fs = fsspec.filesystem("memory")
    root = f"/calls-{id(fs)}"
    yield fs, root
    if fs.exists(root):
        fs.rm(root, recursive=True)


def test_is_url_tells_urls_from_paths():
    assert is_url("s3://bucket/day/")
    assert is_url("file:///srv/calls")
    assert is_url("memory://x/y.wav")
    assert not is_url("/srv/calls/a.wav")
    assert not is_url("calls/a.wav")
    assert not is_url("C:\\calls\\a.wav")


def test_discover_urls_finds_audio_with_relative_call_ids(memfs):
    fs, root = memfs
    for name in ("b/2.wav", "a.flac", "b/1.MP3", "notes.txt", "b/2.json", "c/d/e.ogg", "b/.partial.wav"):
        fs.pipe(f"{root}/{name}", b"x" * 10)
    found = discover_urls(f"memory://{root}/")
    assert [c.call_id for c in found] == ["a", "b/1", "b/2", "c/d/e"]
    assert found[0].url == f"memory://{root}/a.flac"
    assert all(c.size == 10 for c in found)


def test_discover_urls_matches_local_discovery_through_file_urls(tmp_path):
    (tmp_path / "team1").mkdir()
    for name in ("team1/0001.wav", "0002.ogg", "readme.md"):
        (tmp_path / name).write_bytes(b"RIFF")
    found = discover_urls(tmp_path.as_uri())
    assert [c.call_id for c in found] == ["0002", "team1/0001"]
    assert found[1].url == (tmp_path / "team1/0001.wav").as_uri()


def test_discover_urls_names_a_missing_folder_and_an_unknown_scheme(memfs):
    _, root = memfs
    with pytest.raises(SourceError, match="no such folder"):
        discover_urls(f"memory://{root}/nothing-here")
    with pytest.raises(SourceError, match="nosuchscheme://bucket"):
        discover_urls("nosuchscheme://bucket/day")


def test_local_copy_downloads_keeps_extension_and_deletes_after(memfs):
    fs, root = memfs
    payload = bytes(range(256)) * 100
    fs.pipe(f"{root}/x/call.flac", payload)
    with local_copy(f"memory://{root}/x/call.flac") as path:
        assert path.suffix == ".flac"
        assert path.read_bytes() == payload
    assert not path.exists()


def test_local_copy_is_deleted_when_scoring_fails(memfs):
    fs, root = memfs
    fs.pipe(f"{root}/y.wav", b"abc")
    with pytest.raises(RuntimeError):
        with local_copy(f"memory://{root}/y.wav") as path:
            raise RuntimeError("decoder crashed")
    assert not path.exists()


def test_local_copy_passes_plain_paths_through(tmp_path):
    f = tmp_path / "a.wav"
    f.write_bytes(b"abc")
    with local_copy(str(f)) as path:
        assert path == f
    assert f.exists()


def test_local_copy_of_a_missing_object_names_it(memfs):
    _, root = memfs
    with pytest.raises(SourceError, match=f"memory://{root}/gone.wav: no such object"):
        with local_copy(f"memory://{root}/gone.wav"):
            pass


def test_sha256_is_the_same_for_a_url_and_a_path(memfs, tmp_path):
    fs, root = memfs
    payload = b"call audio bytes" * 70000
    fs.pipe(f"{root}/h.wav", payload)
    (tmp_path / "h.wav").write_bytes(payload)
    expected = hashlib.sha256(payload).hexdigest()
    assert sha256_of(f"memory://{root}/h.wav") == expected
    assert sha256_of(tmp_path / "h.wav") == expected
    with pytest.raises(SourceError, match="no such file"):
        sha256_of(tmp_path / "missing.wav")


def test_ray_engine_without_ray_says_how_to_install_it(monkeypatch, tmp_path):
    from qa.scoring.engine_ray import RayEngine, RayUnavailableError

    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    task = ScoreTask(str(tmp_path / "a.wav"), "a", {}, None, None)
    with pytest.raises(RayUnavailableError, match=r"pip install 'callqa\[ray\]'"):
        list(RayEngine().map([task]))


def test_ray_engine_with_no_tasks_never_touches_ray(monkeypatch):
    from qa.scoring.engine_ray import RayEngine

    monkeypatch.setitem(sys.modules, "ray", None)
    assert list(RayEngine().map([])) == []


# --- a real two-node cluster on this machine ---------------------------------

RAY_BIN = Path(sys.executable).with_name("ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _session_members(sid: int) -> list[int]:
    """Every live process in session `sid`: the Ray daemons and workers one `ray start` spawned."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()  # state ppid pgrp session ...
            if fields[0] != "Z" and int(fields[3]) == sid:
                pids.append(int(entry))
    return pids


class LocalCluster:
    """`ray start --head` + `ray start --address` on 127.0.0.1, one CPU each.

    Each `ray start` runs in a new session, so stopping kills exactly the
    processes of these two nodes (Ray workers set their own process group but
    keep the session) and never another Ray on the machine, as `ray stop` would.
    """

    def __init__(self, nodes: int = 2, cpus_per_node: int = 1):
        self.nodes, self.cpus = nodes, cpus_per_node
        self.temp_dir = tempfile.mkdtemp(prefix="rq", dir="/tmp")  # short: Ray's socket paths must fit
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.sessions: list[int] = []
        self.startup_s: list[float] = []
        # Ray >= 2.52 may turn on token auth by itself; one private token for this
        # cluster and its driver makes every node agree and touches no ~/.ray.
        token = Path(self.temp_dir) / "auth_token"
        token.write_text(secrets.token_hex(32))
        self.env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token), "RAY_USAGE_STATS_ENABLED": "0"}

    def _ray_start(self, *args: str) -> None:
        env = dict(os.environ, **self.env)
        t0 = time.monotonic()
        proc = subprocess.Popen([str(RAY_BIN), "start", "--node-ip-address", "127.0.0.1", "--num-cpus",
                                 str(self.cpus), "--num-gpus", "0", "--disable-usage-stats", *args],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        self.sessions.append(proc.pid)  # the session id of everything it starts
        out, _ = proc.communicate(timeout=180)
        self.startup_s.append(time.monotonic() - t0)
        if proc.returncode != 0:
            raise RuntimeError(f"ray start {' '.join(args)} failed:\n{out}")

    def start(self) -> "LocalCluster":
        self._ray_start("--head", "--port", str(self.port), "--temp-dir", self.temp_dir,
                        "--include-dashboard=false")
        for _ in range(self.nodes - 1):
            self._ray_start("--address", self.address)
        return self

    def worker_pids(self, name: str) -> list[int]:
        """Live processes of this cluster whose title names the actor class."""
        out = []
        for sid in self.sessions:
            for pid in _session_members(sid):
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                except OSError:
                    continue
                if cmd.startswith(f"ray::{name}"):
                    out.append(pid)
        return out

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for sid in self.sessions:
                for pid in _session_members(sid):
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and any(_session_members(s) for s in self.sessions):
                time.sleep(0.2)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


# --- scoring on the cluster ---------------------------------------------------

SAMPLES = Path(__file__).resolve().parents[1] / "recordings_sample"
# Four short calls, one of each container, stereo and mono, with a CDR ring time.
SUBSET = ("call04_no_greeting_threat", "call05_silent_line_handled", "call06_silent_line_rude",
          "call09_mono_cdr_ring_seconds")
TABLES = {  # what must be identical; scored_at is a timestamp
    "calls": "SELECT * EXCLUDE (scored_at) FROM calls",
    "utterances": "SELECT * FROM utterances",
    "rule_results": "SELECT * FROM rule_results",
    "findings": "SELECT * FROM findings",
    "scores": "SELECT * FROM scores",
}
# Workers use one thread each; the local reference does too, so both decode alike.
OPTIONS = TranscribeOptions()


def _table_rows(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {name: sorted(con.execute(sql).fetchall(), key=repr) for name, sql in TABLES.items()}
    finally:
        con.close()


def _audio(call_id: str) -> Path:
    return next(p for p in SAMPLES.glob(f"{call_id}.*") if p.suffix != ".json")


@pytest.fixture(scope="module")
def calls_dir(tmp_path_factory):
    missing = [c for c in SUBSET if not list(SAMPLES.glob(f"{c}.json"))]
    if missing:
        pytest.skip(f"recordings_sample lacks {missing}")
    out = tmp_path_factory.mktemp("calls")
    for call_id in SUBSET:
        shutil.copy(_audio(call_id), out)
    return out


@pytest.fixture(scope="module")
def batch_inputs():
    return dict(rulebook=load_rulebook(), options=OPTIONS, metadata=load_metadata(SAMPLES / "metadata.csv"))


@pytest.fixture(scope="module")
def local_rows(calls_dir, tmp_path_factory):
    """The local engine's rows, computed in a process set up like a Ray worker
    (one BLAS/OpenMP thread), so the engines differ only in how calls travel."""
    db = tmp_path_factory.mktemp("local") / "local.duckdb"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "qa", "score", str(calls_dir), "--db", str(db), "--metadata",
                           str(SAMPLES / "metadata.csv"), "--workers", "1", "--quiet"],
                          env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr
    assert f"{len(SUBSET)} transcribed and scored ({len(SUBSET)} new), 0 rescored (rulebook changed), " \
           f"0 up to date, 0 errors" in done.stdout, done.stdout
    return _table_rows(db)


@pytest.fixture(scope="module")
def cluster():
    c = LocalCluster(nodes=2, cpus_per_node=1)
    saved = {k: os.environ.get(k) for k in c.env}
    os.environ.update(c.env)  # the driver (this process) joins with the same token...
    pytest.importorskip("ray")  # ...which Ray reads once, when it is first imported
    try:
        c.start()
        print(f"ray start took {', '.join(f'{s:.1f} s' for s in c.startup_s)} (head, worker node)")
        yield c
    finally:
        c.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _engine(cluster, **kwargs):
    from qa.scoring.engine_ray import RayEngine

    return RayEngine(address=cluster.address, workers=2, cpu_threads=1, **kwargs)


@pytest.mark.slow
def test_callqa_score_on_ray_stores_the_same_rows_as_the_local_engine(cluster, calls_dir, local_rows, tmp_path):
    from click.testing import CliRunner

    from qa.cli import cli

    db = tmp_path / "ray.duckdb"
    args = ["score", str(calls_dir), "--db", str(db), "--metadata", str(SAMPLES / "metadata.csv"),
            "--engine", "ray", "--address", cluster.address, "--quiet"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert f"{len(SUBSET)} transcribed and scored ({len(SUBSET)} new), 0 rescored (rulebook changed), " \
           f"0 up to date, 0 errors" in first.output
    rows = _table_rows(db)
    for table in TABLES:
        assert rows[table] == local_rows[table], table
    assert {r[0] for r in rows["calls"]} == set(SUBSET)

    again = CliRunner().invoke(cli, args)  # incremental: nothing is sent to the cluster again
    assert again.exit_code == 0, again.output
    assert f"0 transcribed and scored, 0 rescored (rulebook changed), {len(SUBSET)} up to date" in again.output


class KillOneWorker:
    """The Ray engine, with kill -9 of one scoring actor's process after the first result."""

    def __init__(self, engine, cluster):
        self.engine, self.cluster = engine, cluster
        self.killed: int | None = None
        self.pids_after_kill: set[int] = set()
        self.yielded: list[str] = []

    def map(self, tasks):
        for result in self.engine.map(tasks):
            self.yielded.append(result.call_id)
            pids = set(self.cluster.worker_pids("ScoringWorker"))
            if self.killed is None:
                # Ray titles a process `ray::ScoringWorker.score` while it scores a call.
                busy = self.cluster.worker_pids("ScoringWorker.score")
                self.killed = sorted(busy or pids)[0]
                os.kill(self.killed, signal.SIGKILL)
            else:
                self.pids_after_kill |= pids
            yield result


@pytest.mark.slow
@pytest.mark.parametrize("restarts", [2, 0], ids=["ray-restarts-the-actor", "driver-resends-to-the-other"])
def test_a_killed_worker_loses_and_duplicates_nothing(cluster, calls_dir, batch_inputs, local_rows, tmp_path,
                                                       restarts):
    db = tmp_path / "ray.duckdb"
    ray_engine = _engine(cluster, max_restarts=restarts)
    engine = KillOneWorker(ray_engine, cluster)
    summary = run_batch(calls_dir, db, engine=engine, **batch_inputs)
    assert engine.killed is not None
    with pytest.raises(ProcessLookupError):
        os.kill(engine.killed, 0)
    if restarts:
        assert engine.pids_after_kill - {engine.killed}, "no worker ran after the kill"
    else:  # the actor stays dead: its calls went to the surviving worker
        assert ray_engine.resubmitted >= 1
    assert sorted(engine.yielded) == sorted(SUBSET)  # each call handed to the writer once
    assert summary.scored == len(SUBSET) and not summary.errors
    rows = _table_rows(db)
    for table in TABLES:
        assert rows[table] == local_rows[table], table


@pytest.mark.slow
def test_url_inputs_are_scored_from_a_temporary_copy(cluster, calls_dir, batch_inputs, local_rows):
    rb, metadata = batch_inputs["rulebook"], batch_inputs["metadata"]
    picked = SUBSET[:1]
    tasks = [ScoreTask((calls_dir / _audio(c).name).as_uri(), c, metadata.row(c), rb, OPTIONS) for c in picked]
    tasks.append(ScoreTask((calls_dir / "gone.wav").as_uri(), "gone", {}, rb, OPTIONS))
    before = set(Path(tempfile.gettempdir()).glob("callqa-*"))
    results = {r.call_id: r for r in _engine(cluster).map(tasks)}
    assert set(results) == {*picked, "gone"}
    for task in tasks[:1]:
        r = results[task.call_id]
        assert r.status == "scored" and r.path == task.path and r.transcript.path == task.path
        stored = {row[0]: row for row in local_rows["scores"]}[task.call_id]
        assert (r.rulebook_version, r.score, r.passed) == stored[1:]
        expected_rules = sorted(row[1:4] for row in local_rows["rule_results"] if row[0] == task.call_id)
        assert sorted((x.rule_id, x.outcome, x.points) for x in r.rule_results) == expected_rules
    gone = results["gone"]
    assert gone.status == "error" and gone.error.startswith(tasks[-1].path) and "no such object" in gone.error
    assert set(Path(tempfile.gettempdir()).glob("callqa-*")) <= before  # every copy deleted
