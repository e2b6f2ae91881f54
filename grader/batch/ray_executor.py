"""Grading on a Ray cluster: one Ray task per submission, the gradebook still on the driver.

Ray reuses its worker processes, so each worker keeps the Grader (and zygote) it built for the
last Settings and closes it when the worker exits: start-up is paid once per worker, on whichever
node that worker runs. A task gets the submission's files as bytes, not a path, because the
driver's folders do not exist on the other nodes; the data root and grader itself must be
installed at the same paths on every node. Ray is imported only here, and only when an executor
is made, so grader works without it.
"""

from __future__ import annotations

import atexit
import logging
import os
import platform
import shutil
import socket
import tempfile
import traceback
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path, PurePosixPath

from grader.batch.executor import Executor, ExecutorError, Finished, Job, Settings, utcnow
from grader.batch.submissions import read_files

GPU_FRACTION = 0.25  # four submissions share a GPU: a check's tensors are small
IN_FLIGHT_PER_CPU = 2  # a queued task per busy one keeps workers fed without flooding Ray
THREADS = 1  # each task holds one CPU (num_cpus=1): its torch gets one thread


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ExecutorError("the ray executor needs Ray: pip install 'grader[ray]'") from None
    return ray


class RayExecutor(Executor):
    """One Ray task per submission, on the cluster at ``address`` or on a local one.

    Args:
        settings: what every task's Grader is built from.
        jobs: CPUs of the local cluster started when there is no address (default: the
            machine's cores); with an address, at most this many tasks at once.
        address: a Ray cluster's address; None: ``RAY_ADDRESS``, else a new local cluster.
            Where this process has called ``ray.init`` already, that connection is used.
        gpu_fraction: the share of a GPU each task asks for when grading on cuda.
    """

    def __init__(self, settings: Settings, jobs: int | None = None, *, address: str | None = None,
                 gpu_fraction: float = GPU_FRACTION) -> None:
        if not 0 < gpu_fraction <= 1:
            raise ValueError(f"gpu_fraction is {gpu_fraction}; it must be in (0, 1]")
        self.settings, self.jobs, self.gpu_fraction = settings, jobs, gpu_fraction
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self._ray = _import_ray()  # before anything slow: a missing Ray is a one-line error
        self._started_ray = False  # shut down only a cluster (or connection) made here
        self._local = False  # a cluster of ``jobs`` CPUs started here
        self._task = None
        self._version: str | None = None
        self._pending: dict = {}  # ObjectRef -> Job

    def start(self, expected: int) -> None:
        if self._task is not None:
            return
        ray = self._ray
        if not ray.is_initialized():
            self._init()
        from grader.options import data_root

        # A worker shares neither this process's environment nor its folder: None would mean
        # its own $GRADER_DATA or ./data, so it gets the path resolved here.
        root = data_root(self.settings.data_root).resolve()
        self.settings = replace(self.settings, data_root=str(root))
        self._version = _version(self.settings.assignment, self.settings.course)
        # max_calls=0: Ray would otherwise end a GPU task's worker after one call, and with it
        # the Grader it took seconds to start. max_retries=0: a lost task is the grader's fault,
        # retried once by the batch after a pause and else by the next batch, as locally.
        self._task = ray.remote(num_cpus=1, num_gpus=self._gpus(), max_calls=0,
                                max_retries=0)(_grade_files)

    def _init(self) -> None:
        quiet = {"logging_level": logging.ERROR, "log_to_driver": False}  # the progress bar
        try:
            if self.address:
                _check_reachable(self.address)
                self._ray.init(address=self.address, **quiet)
            else:  # "local": never join a stray cluster this machine happens to run
                self._ray.init(address="local", num_cpus=self.jobs or os.cpu_count() or 1,
                               include_dashboard=False, **quiet)
                self._local = True
        except ExecutorError:
            raise
        except Exception as err:  # Ray raises ConnectionError, RuntimeError, ValueError...
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray"
            raise ExecutorError(f"cannot start or reach {where}: {_one_line(err)}") from None
        self._started_ray = True

    def _gpus(self) -> float:
        if self.settings.device == "cpu":
            return 0
        gpus = self._ray.cluster_resources().get("GPU", 0)
        if self.settings.device == "cuda" and not gpus:
            raise ExecutorError("--device cuda was asked for, but the Ray cluster has no GPU; "
                                "start its nodes with --num-gpus or grade with --device cpu")
        return self.gpu_fraction if gpus else 0  # auto: cuda where the cluster has GPUs

    def run(self, jobs: Iterable[Job]) -> Iterator[Finished]:
        self.start(0)
        queue = deque(jobs)
        ready = deque(self._submit(queue))
        while ready or self._pending:
            if not ready:
                (ref,), _ = self._ray.wait(list(self._pending), num_returns=1)
                ready.append(self._collect(ref, self._pending.pop(ref)))
            ready.extend(self._submit(queue))  # the next jobs first: workers grade meanwhile
            yield ready.popleft()

    def _limit(self) -> int:
        """Tasks in flight at once: asked each time, as an autoscaling cluster grows with demand."""
        cpus = int(self._ray.cluster_resources().get("CPU", 0))
        limit = max(1, IN_FLIGHT_PER_CPU * cpus)
        # A local cluster has ``jobs`` CPUs already; on another, ``jobs`` caps what runs at once.
        return min(limit, self.jobs) if self.jobs and not self._local else limit

    def _submit(self, queue: deque) -> list[Finished]:
        """Start jobs until the cap; returns the outcomes of those that could not be sent."""
        unsent = []
        limit = self._limit()
        while queue and len(self._pending) < limit:
            job = queue.popleft()
            try:
                files = read_files(Path(job.folder))
            except (OSError, ValueError) as err:  # gone or grown since discovery: its fault
                why = err.strerror if isinstance(err, OSError) and err.strerror else err
                now = utcnow()
                unsent.append(Finished(job, None, now, now, error=f"{job.folder}: {why}"))
                continue
            ref = self._task.remote(self.settings, job, files, self._version)
            self._pending[ref] = job
        return unsent

    def _collect(self, ref, job: Job) -> Finished:
        ray = self._ray
        try:
            kind, payload = ray.get(ref)
        except ray.exceptions.RayError as err:  # the worker or its node died, or Ray failed
            now = utcnow()
            return Finished(job, None, now, now, grader_fault=True,
                            error=f"the Ray task failed ({_one_line(err)}) while grading this")
        if kind == "failed":
            # Not cancelled: the tasks still in flight end in a moment the same way (or, on a
            # cluster of mixed versions, grade what no one stores). They are finishing as this
            # runs, and cancelling a task Ray is completing is a race inside Ray that has
            # crashed whole drivers (ray-project/ray#54798).
            self._pending = {}
            self.close()
            raise ExecutorError(f"a Ray worker could not start its grader: {payload}")
        return replace(payload, job=job)  # the driver's job: its folder, not the worker's copy

    def close(self) -> None:
        if self._started_ray:
            # A cluster started here stops; a connection closes, and Ray ends the tasks of the
            # driver that left. Either way nothing this batch sent goes on running.
            self._ray.shutdown()
            self._started_ray = self._local = False
        else:  # a connection this process made before stays: stop what this batch left running
            for ref in self._pending:
                try:
                    # force: a KeyboardInterrupt could land mid-import of torch and leave the
                    # worker unable to import it again; a killed worker takes its zygote along.
                    self._ray.cancel(ref, force=True)
                except Exception:  # already finished, or the cluster is gone: nothing to stop
                    pass
        self._pending = {}
        self._task = None


def unpack(files: dict[str, bytes], folder: Path) -> Path:
    """Write what ``read_files`` read under folder (created); returns folder."""
    folder.mkdir()
    for path, data in files.items():
        parts = PurePosixPath(path).parts
        if not parts or parts[0] == "/" or ".." in parts:
            raise ValueError(f"refusing to write {path!r} outside the submission")
        target = folder.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder


def _check_reachable(address: str) -> None:
    """Ray retries an address where nothing listens for many minutes; one connect tells now."""
    host, _, port = address.rpartition(":")
    if "://" in address or not host or not port.isdigit():  # auto, ray://: Ray resolves them
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except OSError as err:
        why = err.strerror or err
        raise ExecutorError(f"cannot reach the Ray cluster at {address}: {why}; start it with "
                            "`ray start --head` there, or fix --ray-address") from None


def _version(assignment: str, course: str | None) -> str | None:
    """The driver's version of the assignment, which every worker must match; None when the
    assignment does not load here (the first worker then says why)."""
    from grader.authoring.assignment import AssignmentError
    from grader.grading.catalog import get_assignment

    try:
        return get_assignment(assignment, course).version
    except AssignmentError:
        return None


def _one_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}"[:300]


# In a Ray worker process: (key, grader, device, fingerprint, assignment version, scratch).
_cached: tuple | None = None


def _grade_files(settings: Settings, job: Job, files: dict[str, bytes],
                 version: str | None) -> tuple[str, object]:
    """The Ray task: ("done", Finished) or ("failed", why this worker has no Grader)."""
    node = platform.node()
    try:
        grader, device, fingerprint, ours, scratch = _grader(settings)
    except Exception as err:
        detail = traceback.format_exception_only(err)[-1].strip()
        return "failed", f"{detail} (on node {node})"
    if version is not None and ours != version:
        return "failed", (f"node {node} has version {ours} of {settings.assignment}, the driver "
                          f"{version}: install the same grader on every node")
    from grader.batch.executor import grade_job

    try:
        with tempfile.TemporaryDirectory(dir=scratch) as unpacked:
            folder = unpack(files, Path(unpacked) / "submission")
            finished, healthy = grade_job(grader, replace(job, folder=str(folder)), device,
                                       fingerprint)
    except BaseException:  # interrupted mid-grade: the next task starts from a fresh Grader
        _drop()
        raise
    if not healthy:  # its zygote may be gone: the next task builds a fresh one
        _drop()
    return "done", finished


def _grader(settings: Settings):
    """This worker's Grader for settings (and the GPU Ray gave it), built on first use."""
    global _cached
    key = (settings, os.environ.get("CUDA_VISIBLE_DEVICES"))
    if _cached is None or _cached[0] != key:
        _drop()
        from grader.batch.executor import build_grader

        grader, device, fingerprint = build_grader(settings, None, THREADS)
        _cached = (key, grader, device, fingerprint, grader.assignment.version, scratch_folder())
    return _cached[1:]


def scratch_folder(base: str | Path | None = None) -> Path:
    """This worker's folder for unpacked submissions. A killed worker cannot remove its own,
    so those of workers that are gone are removed here."""
    base = Path(base or tempfile.gettempdir())
    for folder in base.glob("grader-ray-*"):
        pid = folder.name.removeprefix("grader-ray-")
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
    mine = base / f"grader-ray-{os.getpid()}"
    mine.mkdir(mode=0o700, exist_ok=True)
    return mine


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


@atexit.register
def _drop() -> None:
    """Close the cached Grader: its zygote and the sandbox uid it holds go with it."""
    global _cached
    if _cached is not None:
        grader, scratch, _cached = _cached[1], _cached[5], None
        grader.close()
        shutil.rmtree(scratch, ignore_errors=True)
