"""Scoring calls on a Ray cluster: the same per-call function, many machines.

Each Ray worker is an actor that loads the Whisper model once (on a GPU when
it is given one) and then runs `score_call` for call after call. The driver
keeps a bounded number of calls in flight, two per worker so no worker waits
between calls, and takes results back as they complete (`ray.wait`), so the
batch's single DuckDB writer stores each call in its own transaction while
the cluster works on.

Nothing is lost when a worker dies: Ray restarts the actor (`max_restarts`)
and re-runs the calls it held (`max_task_retries`). A call whose worker died
on every attempt becomes an error row naming it, like any bad file, and the
next night's run tries it again. The driver yields each call exactly once.

Inputs must be readable by every worker: a shared path, or a URL (s3://...)
that the worker copies to a temporary file for the duration of the call.
Ray is an optional extra (`pip install 'callqa[ray]'`), imported only here.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import replace
from itertools import chain
from pathlib import Path
from typing import Any, Iterable, Iterator

from qa.records import CallResult, TranscribeOptions
from qa.scoring.batch import ScoreTask, failed_result, run_task
from qa.scoring.sources import score_source

log = logging.getLogger("callqa.ray")

__all__ = ["RayEngine", "RayEngineError", "RayUnavailableError", "gpu_options"]

IN_FLIGHT_PER_WORKER = 2  # one running, one queued: the worker never idles between calls
MAX_RESTARTS = 4  # per actor, over the whole batch
MAX_TASK_RETRIES = 2  # a call re-run by Ray after its worker died
MAX_ATTEMPTS = 3  # the driver's own resubmissions once an actor is gone for good


class RayEngineError(Exception):
    """The Ray batch cannot go on (no cluster, no worker left); says what to do."""


class RayUnavailableError(RayEngineError):
    """Ray is not installed."""


def _ray():
    try:
        import ray
    except ModuleNotFoundError as exc:
        raise RayUnavailableError(
            "the Ray engine needs Ray: pip install 'callqa[ray]' (or pip install 'ray>=2.40') "
            "on the driver and on every node of the cluster"
        ) from exc
    return ray


def gpu_options(options: TranscribeOptions, gpus_per_worker: float) -> TranscribeOptions:
    """Transcription settings for workers with `gpus_per_worker` GPUs: float16 on CUDA.

    Apply it to the options the batch plans with (not only inside the workers),
    so the options stored with each call match the next night's plan and
    nothing is re-scored for nothing.
    """
    if gpus_per_worker > 0:
        return replace(options, device="cuda", compute_type="float16")
    return options


class ScoringWorker:
    """One Ray actor: the model stays loaded, calls come in one at a time."""

    def __init__(self, task: ScoreTask, threads: int | None):
        from qa.scoring.score import init_worker

        init_worker(task.options, threads, task.signal_options, task.model_dir)

    def score(self, task: ScoreTask) -> CallResult:
        return run_task(score_source, task)


def _code_runtime_env() -> dict:
    """Ship this `qa` package to the workers, so they run the driver's code."""
    import qa

    return {"py_modules": [str(Path(qa.__file__).parent)]}


class RayEngine:
    """Scores `ScoreTask`s on Ray actors; `map` yields results as they complete.

    `address`: "auto" (the cluster this machine belongs to), "HOST:PORT", or
    "local" (a private Ray on this machine). `workers`: actors to start
    (default: as many as the cluster's CPUs, or GPUs, allow). `cpu_threads`:
    CTranslate2 threads per worker (default: its CPUs).
    """

    def __init__(self, *, address: str = "auto", workers: int | None = None, cpus_per_worker: float = 1,
                 gpus_per_worker: float = 0, cpu_threads: int | None = None, ship_code: bool = True,
                 in_flight_per_worker: int = IN_FLIGHT_PER_WORKER, max_restarts: int = MAX_RESTARTS,
                 max_task_retries: int = MAX_TASK_RETRIES, max_attempts: int = MAX_ATTEMPTS):
        self.address, self.workers = address, workers
        self.cpus_per_worker, self.gpus_per_worker = cpus_per_worker, gpus_per_worker
        self.cpu_threads = cpu_threads or max(1, int(cpus_per_worker))
        self.ship_code = ship_code
        self.in_flight_per_worker = max(1, in_flight_per_worker)
        self.max_restarts, self.max_task_retries = max_restarts, max_task_retries
        self.max_attempts = max(1, max_attempts)
        self.resubmitted = 0  # calls the driver sent again after their worker was lost for good

    # -- cluster --------------------------------------------------------------

    def _connect(self, ray) -> bool:
        """Join the cluster; True when this call opened the connection (and must close it)."""
        if ray.is_initialized():
            return False
        kwargs: dict[str, Any] = dict(log_to_driver=False, logging_level=logging.WARNING)
        if self.ship_code:
            kwargs["runtime_env"] = _code_runtime_env()
        try:
            if self.address == "local":
                ray.init(include_dashboard=False, **kwargs)
            else:
                ray.init(address=self.address, **kwargs)
        except ConnectionError as exc:
            raise RayEngineError(
                f"no Ray cluster at {self.address!r} ({exc}); start one with `ray start --head`, "
                f"pass --address HOST:PORT, or --address local for a private one"
            ) from exc
        return True

    def _worker_count(self, ray) -> int:
        if self.workers:
            return self.workers
        resources = ray.cluster_resources()
        if self.gpus_per_worker > 0:
            n = int(resources.get("GPU", 0) // self.gpus_per_worker)
        else:
            n = int(resources.get("CPU", 0) // self.cpus_per_worker)
        if n < 1:
            kind = "GPU" if self.gpus_per_worker > 0 else "CPU"
            raise RayEngineError(f"the Ray cluster has no {kind} for a worker (it has {resources})")
        return n

    def _spawn(self, ray, n: int, first: ScoreTask) -> list:
        """`n` actors, each loading the model for the inputs of the batch's tasks (`first`'s)."""
        if self.gpus_per_worker > 0 and first.options.device != "cuda":
            log.warning("workers get GPUs but the options say device=%s; see gpu_options()", first.options.device)
        actor_cls = ray.remote(ScoringWorker)
        env = {"OMP_NUM_THREADS": str(self.cpu_threads)}
        return [
            actor_cls.options(num_cpus=self.cpus_per_worker, num_gpus=self.gpus_per_worker,
                              max_restarts=self.max_restarts, max_task_retries=self.max_task_retries,
                              runtime_env={"env_vars": env}).remote(first, self.cpu_threads)
            for _ in range(n)
        ]

    # -- the batch ------------------------------------------------------------

    def map(self, tasks: Iterable[ScoreTask]) -> Iterator[CallResult]:
        """Score every task on the cluster; yield each call's result once, as it finishes."""
        it = iter(tasks)
        first = next(it, None)
        if first is None:
            return
        ray = _ray()
        owns_connection = self._connect(ray)
        actors: list = []
        try:
            actors = self._spawn(ray, self._worker_count(ray), first)
            yield from self._drive(ray, actors, chain([first], it))
        finally:
            for actor in actors:
                try:
                    ray.kill(actor, no_restart=True)
                except Exception:  # the cluster may be gone already; nothing left to free
                    pass
            if owns_connection:
                ray.shutdown()

    def _drive(self, ray, actors: list, tasks: Iterator[ScoreTask]) -> Iterator[CallResult]:
        from ray.exceptions import ActorUnavailableError, RayActorError, RayTaskError

        retry: deque[ScoreTask] = deque()  # calls to send again, before new ones
        pending: dict[Any, tuple[ScoreTask, int]] = {}  # object ref -> (call, actor index)
        load = [0] * len(actors)
        alive = [True] * len(actors)
        attempts: dict[str, int] = {}
        done: set[str] = set()

        def fill() -> None:
            while True:
                free = [i for i in range(len(actors)) if alive[i] and load[i] < self.in_flight_per_worker]
                task = (retry.popleft() if retry else next(tasks, None)) if free else None
                if task is None:
                    return
                i = min(free, key=lambda k: load[k])
                pending[actors[i].score.remote(task)] = (task, i)
                load[i] += 1

        fill()
        while pending:
            [ref], _ = ray.wait(list(pending), num_returns=1)
            task, i = pending.pop(ref)
            load[i] -= 1
            try:
                result = ray.get(ref)
            except RayTaskError as exc:  # score_call raised: a broken run (model) or a bug
                cause = getattr(exc, "cause", None) or exc
                if type(cause).__name__ == "ModelError":
                    raise RayEngineError(f"a worker cannot load the model: {cause}") from cause
                result = failed_result(task, f"{type(cause).__name__}: {cause}")
            except (RayActorError, ActorUnavailableError) as exc:
                if not isinstance(exc, ActorUnavailableError):
                    alive[i] = _still_alive(ray, actors[i])
                attempts[task.call_id] = attempts.get(task.call_id, 0) + 1
                if not any(alive):
                    raise RayEngineError(f"every Ray worker died; the last said: {exc}") from exc
                if attempts[task.call_id] < self.max_attempts:
                    log.warning("%s: its worker was lost (%s); sending it again", task.call_id, type(exc).__name__)
                    self.resubmitted += 1
                    retry.append(task)
                    fill()
                    continue
                result = failed_result(task, f"its worker died {attempts[task.call_id]} times while scoring it")
            if task.call_id not in done:  # one result per call, whatever Ray re-ran
                done.add(task.call_id)
                yield result
            fill()


def _still_alive(ray, actor, timeout_s: float = 300.0) -> bool:
    """After a call failed with its actor: is the actor back (restarted) or gone for good?

    Ray also reports a call whose retries ran out while the actor itself came
    back; only an actor out of restarts (or that cannot start) is dropped.
    """
    from ray.exceptions import GetTimeoutError, RayActorError

    try:
        ray.get(actor.__ray_ready__.remote(), timeout=timeout_s)
        return True
    except RayActorError:
        return False
    except GetTimeoutError:
        return True  # still restarting (a model loads slowly): its next call will tell
