"""Where submissions are graded: the batch hands an executor jobs and stores what comes back.

``Executor`` is the whole interface a batch needs, so a distributed engine can replace the local
one. ``LocalExecutor`` runs a pool of slot processes on this machine: each holds a ``Grader``
with its own zygote (and, under strict isolation, its own uid), grades one submission at a time,
and sends the typed result back. Slots never touch the gradebook; a slot that dies costs its
current submission an infrastructure error (no score, graded again), and a fresh slot takes
its place.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import traceback
import warnings
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from multiprocessing.connection import Connection, wait

from grader import options
from grader.outcomes import NEEDS_REGRADE, SubmissionResult, UsageError

PR_SET_PDEATHSIG = 1


class ExecutorError(UsageError):
    """Grading cannot go on at all (a slot could not start): the message says why."""


@dataclass(frozen=True)
class Settings:
    """What every slot needs to build its Grader; plain values, so it can travel to a process."""

    assignment: str
    course: str | None = None  # the course's folder, resolved by the caller
    data_root: str | None = None  # None: $GRADER_DATA, else ./data, as for grader check
    device: str = options.DEVICE
    seed: int = options.SEED
    isolation: str = "strict"  # already chosen by the caller: a slot never falls back
    hide: tuple[str, ...] = ()


@dataclass(frozen=True)
class Job:
    key: int  # the caller's handle on this submission
    student: str
    folder: str


@dataclass(frozen=True)
class Finished:
    """One job's outcome: a result, or why there is none."""

    job: Job
    result: SubmissionResult | None
    started_at: datetime
    finished_at: datetime
    error: str = ""  # why there is no result
    grader_fault: bool = False  # the grader failed, not the submission: worth retrying
    device: str = ""
    fingerprint: dict = field(default_factory=dict)


class Executor(ABC):
    """Grades jobs somewhere and yields each one's outcome as soon as it is known."""

    def start(self, expected: int) -> None:  # noqa: B027 - optional: most executors need no warm-up
        """Get ready for about ``expected`` jobs (a local pool starts its imports now)."""

    @abstractmethod
    def run(self, jobs: Iterable[Job]) -> Iterator[Finished]:
        """Grade every job; yields one Finished per job, in the order they finish."""

    @abstractmethod
    def close(self) -> None:
        """Stop every process this executor started."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class _Slot:
    def __init__(self, context, settings: Settings, threads: int) -> None:
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=_slot_main, args=(theirs, settings, threads),
                                       daemon=True)
        self.process.start()
        theirs.close()
        self.job: Job | None = None
        self.ready = False


SLOT_BYTES = 768 * 2**20  # a slot and its zygote with torch loaded: 449-738 MiB measured


def slots_for(requested: int | None) -> int:
    """How many slots to run: ``requested`` (default one per core), at most one per core and
    as many as the available memory holds, with a warning when the request is lowered."""
    cores = os.cpu_count() or 1
    room = max(1, _available_bytes() // SLOT_BYTES)
    most = min(cores, room)
    if requested is None:
        return most
    if requested > most:
        why = (f"memory for {room} slots of {SLOT_BYTES >> 20} MiB" if room < cores
               else f"{cores} cores")
        warnings.warn(f"--jobs {requested} lowered to {most}: this machine has {why}",
                      stacklevel=2)
        return most
    return max(1, requested)


def _available_bytes() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return SLOT_BYTES * (os.cpu_count() or 1)  # unknown: do not let memory be the limit


class LocalExecutor(Executor):
    """``jobs`` slot processes on this machine (default: one per core)."""

    def __init__(self, settings: Settings, jobs: int | None = None) -> None:
        self.settings = settings
        self.jobs = slots_for(jobs)
        self.threads = options.torch_threads(self.jobs)  # torch threads per slot
        self._context = multiprocessing.get_context("spawn")  # torch and threads: never fork
        self._slots: list[_Slot] = []

    def start(self, expected: int) -> None:
        while len(self._slots) < min(self.jobs, expected):
            self._slots.append(_Slot(self._context, self.settings, self.threads))

    def run(self, jobs: Iterable[Job]) -> Iterator[Finished]:
        queue = deque(jobs)
        self.start(len(queue))
        for slot in self._slots:
            self._feed(slot, queue)
        while any(s.job for s in self._slots):
            busy = [i for i, s in enumerate(self._slots) if s.job is not None]
            ready = wait([self._slots[i].conn for i in busy]
                         + [self._slots[i].process.sentinel for i in busy])
            for i in busy:
                if {self._slots[i].conn, self._slots[i].process.sentinel} & set(ready):
                    finished = self._collect(i)  # a dead slot is replaced at the same index
                    if finished is not None:
                        # The next job first: the slot grades while the caller stores this one.
                        self._feed(self._slots[i], queue)
                        yield finished

    def _feed(self, slot: _Slot, queue: deque) -> None:
        if slot.job is None and queue:
            slot.job = queue.popleft()
            slot.conn.send(slot.job)

    def _collect(self, index: int) -> Finished | None:
        slot = self._slots[index]
        job = slot.job
        try:
            kind, payload = slot.conn.recv()
        except (EOFError, OSError):
            kind, payload = "died", None
        if kind == "ready":
            slot.ready = True
            return None
        if kind == "failed":
            self.close()
            raise ExecutorError(f"a grading slot could not start: {payload}")
        slot.job = None
        if kind == "done":
            return payload
        slot.process.join(timeout=5)
        how = _exit(slot.process)
        if not slot.ready:  # dying at start-up would kill every replacement too
            self.close()
            raise ExecutorError(f"a grading slot died while starting ({how})")
        slot.conn.close()
        self._slots[index] = _Slot(self._context, self.settings, self.threads)
        now = utcnow()
        return Finished(job, None, now, now, grader_fault=True,
                        error=f"the grading slot died ({how}) while grading this")

    def close(self) -> None:
        for slot in self._slots:
            try:
                slot.conn.send(None)  # finish and close the grader: its zygote goes with it
            except OSError:
                pass
        for slot in self._slots:
            slot.process.join(timeout=10)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            slot.conn.close()
        self._slots = []


def _exit(process) -> str:
    code = process.exitcode
    if code is None:
        return "still running"
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def _slot_main(conn: Connection, settings: Settings, threads: int) -> None:
    """A slot process: build one Grader, then grade the jobs the parent sends until None."""
    # A kill -9 of the batch takes the slots with it, and each slot's zygote follows its slot.
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # A Ctrl-C reaches the whole process group: the batch decides what it means and stops the
    # slots itself, so a slot prints no KeyboardInterrupt of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.getppid() == 1:
        return
    from grader.runner.worker import Worker

    worker = Worker()
    worker.launch()  # the zygote imports torch on one core while this process does on the other
    try:
        grader, device, fingerprint = build_grader(settings, worker, threads)
    except Exception as err:
        conn.send(("failed", f"{type(err).__name__}: {err}"))
        return
    conn.send(("ready", None))
    try:
        while (job := _receive(conn)) is not None:
            finished, healthy = grade_job(grader, job, device, fingerprint)
            conn.send(("done", finished))
            if not healthy:  # its worker may be gone: start a fresh one for the next job
                grader.close()
                try:
                    grader, device, fingerprint = build_grader(settings, None, threads)
                except Exception:  # the machine cannot start one now: the batch starts a new
                    return  # slot, and the job sent here meanwhile is retried
    finally:
        grader.close()


def _receive(conn: Connection) -> Job | None:
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None


def build_grader(settings: Settings, worker, threads: int):
    """A Grader for ``settings`` with torch on ``threads`` threads: (grader, device type,
    fingerprint). Any executor's slot or task builds its grader here."""
    import torch

    from grader.batch import fingerprint
    from grader.grading.grader import Grader

    torch.set_num_threads(threads)
    grader = Grader(
        settings.assignment, device=settings.device, data_root=settings.data_root,
        seed=settings.seed, worker=worker, isolation=settings.isolation, hide=settings.hide,
        course=settings.course,
    )
    device = grader.device.type
    return grader, device, fingerprint.environment(device)


def grade_job(grader, job: Job, device: str, fingerprint: dict) -> tuple[Finished, bool]:
    """Grade one job: its Finished, and whether the grader is still fit for the next one."""
    started = utcnow()
    try:
        result = grader.grade(job.folder, student=job.student)
    except UsageError as err:  # the folder vanished or cannot be read: the submission's fault
        return Finished(job, None, started, utcnow(), error=str(err), device=device,
                        fingerprint=fingerprint), True
    except Exception as err:
        detail = traceback.format_exception_only(err)[-1].strip()
        return Finished(job, None, started, utcnow(), error=f"the grader failed: {detail}",
                        grader_fault=True, device=device, fingerprint=fingerprint), False
    # the grader failed on it (its worker lost or unable to fork): the next job gets a new one
    healthy = result.status is not NEEDS_REGRADE
    return Finished(job, result, started, utcnow(), device=device,
                    fingerprint=fingerprint), healthy
