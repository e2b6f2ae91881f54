"""The service's grading worker, ``grader worker`` (docs/service.md, "The queue", "Processes").

A worker claims the oldest job in the gradebook's queue, unpacks its zip as a batch unpacks a
student's (``grader.batch.submissions``: the same checks, the same content hash), grades it with
the ``Grader`` and ``grade_job`` a batch slot uses, and finishes it: the run is stored and the
job marked done in one transaction that first checks the claim still holds. While it grades, a
thread renews the lease every third of it; a worker killed mid-job renews nothing, its lease
runs out, and another worker claims the job again (attempts count, at most 3).

One Grader per assignment, built for the first job that needs it and kept, as a batch slot
keeps one. When the grader fails (it raises, or its result needs a regrade) the job goes back to
the queue through ``finish`` and that Grader is built afresh for the next job. SIGTERM or SIGINT
lets the job in hand finish, then stops; a second one stops at once, and the job's lease runs
out for another worker to take it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from pathlib import Path

from grader import options
from grader.authoring.assignment import Assignment
from grader.batch.executor import Job, Settings, build_grader, grade_job, utcnow
from grader.batch.run import run_outcome
from grader.batch.submissions import Submission, discover
from grader.gradebook import (
    Claim,
    Gradebook,
    JobState,
    NewRun,
    claim,
    fail,
    finish,
    renew,
    upload_path,
)
from grader.gradebook import status as job_status
from grader.outcomes import (
    NEEDS_REGRADE,
    GraderError,
    RunStatus,
    SubmissionResult,
    UsageError,
    total,
)
from grader.outcomes.text import printable

log = logging.getLogger(__name__)


class Ending(str, Enum):
    """What became of a claimed job."""

    DONE = "done"  # its run is stored (or the run of the same files this version already had)
    REQUEUED = "requeued"  # the grader failed on it: queued again, this attempt counted
    FAILED = "failed"  # given up: the reason is in ``error``
    DROPPED = "dropped"  # the claim had gone stale (another worker took the job): nothing stored


@dataclass(frozen=True)
class Handled:
    """One claimed job, as this worker left it."""

    job_id: int
    attempt: int
    student_id: str
    assignment: str
    ending: Ending
    status: RunStatus | None = None  # the run's; None when the job was failed without grading
    score: float = 0.0
    max_score: float = 0.0
    error: str = ""


@dataclass
class WorkerSummary:
    worker: str  # the name its claims carry
    handled: list[Handled] = field(default_factory=list)

    def count(self, ending: Ending) -> int:
        return sum(h.ending is ending for h in self.handled)


class _CannotGrade(GraderError):
    """This worker cannot grade the job at all (an assignment its course lacks)."""


def serve_jobs(
    db: str | None,
    *,
    course: str | None,
    data_root: str | Path | None,
    device: str = options.DEVICE,
    worker_name: str | None = None,
    lease: float = options.JOB_LEASE,
    poll: float = options.JOB_POLL,
    stop: threading.Event | None = None,
    max_jobs: int | None = None,
    threads: int | None = None,
    on_handled: Callable[[Handled], None] = lambda handled: None,
) -> WorkerSummary:
    """Grade the queue's jobs one at a time until ``stop`` is set, a signal says stop, or
    ``max_jobs`` jobs were claimed.

    Args:
        db: the gradebook (and queue); None: $GRADER_DB, else ./grades.db.
        course: the course folder or installed course's name the jobs belong to.
        data_root: the folder holding FashionMNIST/raw; None: as ``grader check`` finds it.
        worker_name: the name this worker's claims carry; default ``hostname:pid``.
        lease: seconds a claim holds without renewal (renewed every third of it).
        poll: seconds between looks at an empty queue.
        threads: torch's threads in this process; default one per core.
        on_handled: told about each job as this worker leaves it.

    Returns:
        Every job this worker claimed, and what became of it.
    """
    if lease <= 0 or poll <= 0:
        raise UsageError(f"the lease ({lease} s) and the poll ({poll} s) must be positive")
    stop = stop if stop is not None else threading.Event()
    summary = WorkerSummary(worker_name or f"{socket.gethostname()}:{os.getpid()}")
    with (Gradebook(db) as gradebook, _Graders(gradebook, course, data_root, device,
                                               threads or os.cpu_count() or 1) as graders,
          _stopping_on_signals(stop)):
        while not stop.is_set() and (max_jobs is None or len(summary.handled) < max_jobs):
            held = claim(gradebook, summary.worker, lease=lease, course=graders.course.name)
            if held is None:
                stop.wait(poll)
                continue
            handled = _handle(gradebook, graders, held, lease)
            summary.handled.append(handled)
            on_handled(handled)
            if handled.ending is Ending.REQUEUED:  # a grader that just failed: let it settle
                stop.wait(options.GRADER_RETRY_PAUSE)
    return summary


def _handle(gradebook: Gradebook, graders: _Graders, held: Claim, lease: float) -> Handled:
    """Grade one claimed job and settle it: finished, or failed when it cannot be graded."""
    about = dict(job_id=held.job_id, attempt=held.attempt, student_id=held.student_id,
                 assignment=held.assignment)
    try:
        with _renewing(gradebook, held, lease):
            new_run = graders.grade(held)
    except _CannotGrade as why:
        if not fail(gradebook, held, str(why)):
            return _dropped(held, about)
        log.warning("job %d failed: %s", held.job_id, printable(str(why)))
        return Handled(**about, ending=Ending.FAILED, error=str(why))
    if not finish(gradebook, held, new_run):
        return _dropped(held, about)
    ending = Ending.DONE
    if new_run.status is NEEDS_REGRADE:
        now = job_status(gradebook, held.job_id)
        ending = Ending.FAILED if now and now.status is JobState.FAILED else Ending.REQUEUED
    score, most = total(new_run.checks)
    return Handled(**about, ending=ending, status=new_run.status, score=score, max_score=most,
                   error=new_run.error)


def _dropped(held: Claim, about: dict) -> Handled:
    log.warning("job %d: the lease of attempt %d ran out and another worker took the job; "
                "this worker's grading is dropped", held.job_id, held.attempt)
    return Handled(**about, ending=Ending.DROPPED)


class _Graders:
    """One Grader per assignment of the worker's course, built on first use and kept."""

    def __init__(self, gradebook: Gradebook, course: str | None, data_root: str | Path | None,
                 device: str, threads: int) -> None:
        from grader.courses.course import open_course
        from grader.courses.locate import course_folder
        from grader.grading.grader import resolve_device
        from grader.runner.isolation import choose_isolation

        folder = course_folder(course)
        self.course = open_course(folder)
        self.course_version = self.course.version
        resolve_device(device)  # a device this machine lacks stops the worker, not a job
        # Student code must not read the gradebook; a batch hides it the same way.
        hide = (str(gradebook.path.parent),) if gradebook.path is not None else ()
        self.settings = Settings(
            assignment="", course=str(folder),
            data_root=str(Path(data_root).resolve()) if data_root else None,
            device=device, isolation=choose_isolation(options.ISOLATION), hide=hide,
        )
        self.threads = threads
        self._versions: dict[str, str] = {}  # the version hashes every file: once each
        self._kept: dict[str, tuple] = {}  # assignment -> (Grader, device type, fingerprint)
        self._environment: dict | None = None

    def __enter__(self) -> _Graders:
        return self

    def __exit__(self, *exc) -> None:
        for grader, _, _ in self._kept.values():
            grader.close()
        self._kept.clear()

    def grade(self, held: Claim) -> NewRun:
        """The run of one job: graded, an error in the submission, or the grader's failure."""
        from grader.grading.intake import unreadable

        try:
            assignment = self.course.get(held.assignment)
        except UsageError as err:
            raise _CannotGrade(str(err)) from None
        with tempfile.TemporaryDirectory(prefix="grader-job-") as scratch:
            submission = _unpacked(held, Path(scratch))
            run = _RunOf(self, held, submission, assignment)
            problem = submission.problem or unreadable(submission.folder, assignment.student_file)
            if problem:
                now = utcnow()
                return run(RunStatus.NOT_RUN, now, now, error=problem)
            return self._graded(run, held, submission.folder)

    def _graded(self, run: _RunOf, held: Claim, folder: Path) -> NewRun:
        started = utcnow()
        try:
            grader, device, fingerprint = self._grader(held.assignment)
        except Exception as err:  # noqa: BLE001 - the grader's failure: the queue retries it
            detail = traceback.format_exception_only(err)[-1].strip()
            return run(NEEDS_REGRADE, started, utcnow(),
                       error=f"the grader could not start: {detail}")
        job = Job(held.job_id, held.student_id, str(folder))
        finished, healthy = grade_job(grader, job, device, fingerprint)
        if not healthy:  # its worker may be gone: the next job gets a new one
            grader.close()
            del self._kept[held.assignment]
        status, error, result = run_outcome(finished)
        return run(status, finished.started_at, finished.finished_at, result=result,
                   error=error, device=finished.device, fingerprint=finished.fingerprint)

    def _grader(self, assignment: str) -> tuple:
        if assignment not in self._kept:
            from grader.runner.worker import Worker

            zygote = Worker()
            with _signals_kept_from_children():
                zygote.launch()
            settings = replace(self.settings, assignment=assignment)
            try:
                self._kept[assignment] = build_grader(settings, zygote, self.threads)
            except BaseException:
                zygote.close()
                raise
        return self._kept[assignment]

    def version(self, assignment: Assignment) -> str:
        if assignment.name not in self._versions:
            self._versions[assignment.name] = assignment.version
        return self._versions[assignment.name]

    def environment(self) -> dict:
        """This machine's fingerprint, for runs no grader saw (as a batch's error runs)."""
        if self._environment is None:
            from grader.batch import fingerprint

            self._environment = fingerprint.environment(self.settings.device)
        return self._environment


@dataclass(frozen=True)
class _RunOf:
    """Builds one job's NewRun, as a batch builds a submission's."""

    graders: _Graders
    held: Claim
    submission: Submission
    assignment: Assignment

    def __call__(self, status: RunStatus, started: datetime, ended: datetime, *,
                 result: SubmissionResult | None = None, error: str = "", device: str = "",
                 fingerprint: dict | None = None) -> NewRun:
        settings = self.graders.settings
        return NewRun(
            student=self.held.student_id, course=self.graders.course.name,
            assignment=self.held.assignment, version=self.graders.version(self.assignment),
            title=self.assignment.title, course_version=self.graders.course_version,
            content_hash=self.submission.content_hash, path=upload_path(self.held.job_id),
            submitted_at=self.held.created_at, late_days=self.held.late_days,
            status=status, started_at=started,
            finished_at=ended, seed=settings.seed, device=device or settings.device,
            isolation=settings.isolation,
            fingerprint=fingerprint or self.graders.environment(),
            checks=result.checks if result is not None else (), error=error,
        )


def _unpacked(held: Claim, scratch: Path) -> Submission:
    """The job's zip, checked and unpacked by the code that unpacks a batch's zips: the same
    limits, the same refusals (a ``problem``), the same content hash as a folder of its files."""
    root = scratch / "upload"
    root.mkdir()
    (root / "job.zip").write_bytes(held.files)
    (found,) = discover(root, scratch / "unpacked")
    return found


@contextmanager
def _renewing(gradebook: Gradebook, held: Claim, lease: float) -> Iterator[None]:
    """Renew ``held``'s lease every third of ``lease`` until the block ends."""
    ended = threading.Event()

    def renewing() -> None:
        while not ended.wait(lease / 3):
            try:
                if not renew(gradebook, held, lease=lease):
                    log.warning("job %d was taken from this worker (its lease ran out): its "
                                "grading will be dropped", held.job_id)
                    return
            except Exception as err:  # noqa: BLE001 - the database away a moment: try again
                log.warning("job %d: renewing its lease failed (%s); trying again",
                            held.job_id, printable(str(err).splitlines()[0] if str(err) else
                                                   type(err).__name__))

    thread = threading.Thread(target=renewing, name=f"lease of job {held.job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        ended.set()
        thread.join()


@contextmanager
def _stopping_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM or SIGINT sets ``stop``: the job in hand is finished first. A second one raises
    KeyboardInterrupt at once. Only the main thread receives signals; elsewhere this does
    nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    ours = os.getpid()

    def handle(signum, frame) -> None:
        if os.getpid() != ours:  # a forked probe (the sandbox's) got the process group's signal
            return
        if stop.is_set():
            raise KeyboardInterrupt
        log.warning("%s: stopping after the job in hand (again to stop now)",
                    signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, handle) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)


@contextmanager
def _signals_kept_from_children() -> Iterator[None]:
    """A process started in this block never receives SIGINT or SIGTERM (blocked, as a batch
    slot's zygote ignores SIGINT): a Ctrl-C reaches the whole process group, and the job in hand
    is to be finished, not lost. It still dies with this process (PR_SET_PDEATHSIG). Blocked,
    not ignored, so that one sent to this process meanwhile is delivered, not lost."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
