"""The service's queue: the gradebook's ``jobs`` table (docs/service.md, "The queue").

A request enqueues an upload; a worker claims the oldest job, renews its lease while it grades,
and finishes it: the run is recorded (``Gradebook.record``'s own code) and the job marked done
in one transaction that first checks the row still holds the worker's claim. The claim's attempt
number is its fencing token: a worker whose lease ran out and whose job another worker took
finds a higher number there and stores nothing, so each job gets its run exactly once.

Times come from the database's clock, read once per transaction: PostgreSQL's
``clock_timestamp()`` (workers on several machines agree on it whatever their own clocks say);
on SQLite, which runs in this process, this machine's clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, undefer

from grader.gradebook.models import JobRow, JobState
from grader.gradebook.store import Gradebook, NewRun
from grader.outcomes import NEEDS_REGRADE

MAX_ATTEMPTS = 3  # claims of one job before it fails (docs/service.md)
RACE_RETRIES = 3  # another writer added the same key, or the same student, first

T = TypeVar("T")
_UPLOAD = re.compile(r"job (\d+)")


def upload_path(job_id: int) -> str:
    """What a run graded from job ``job_id`` stores as its submission's path."""
    return f"job {job_id}"


def upload_of(path: str) -> int | None:
    """The job a submission's ``path`` names (``upload_path``); None for a batch's path."""
    named = _UPLOAD.fullmatch(path)
    return int(named.group(1)) if named else None


def uploaded_files(gradebook: Gradebook, job_id: int) -> bytes | None:
    """The zip that job ``job_id`` uploaded; None where the job is gone."""
    with gradebook.session() as session:
        return session.scalar(select(JobRow.files).where(JobRow.id == job_id))


@dataclass(frozen=True)
class Enqueued:
    """A job as an upload's request sees it: ``created`` False for an idempotency key this
    student already used in this course (the first job, nothing inserted). ``position``: queued
    jobs ahead of it (0: next), None once a worker has taken it."""

    id: int
    position: int | None
    created: bool
    status: JobState = JobState.QUEUED  # a first job found again may be running or done


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one job: ``attempt`` is the fencing token renew and finish check."""

    job_id: int
    attempt: int
    worker: str
    lease_until: datetime
    course: str
    assignment: str
    student_id: str
    files: bytes  # the upload, a zip
    late_days: float
    created_at: datetime


@dataclass(frozen=True)
class JobStatus:
    """One job as a result page shows it; ``position`` is None unless it is queued."""

    id: int
    course: str
    assignment: str
    student_id: str
    status: JobState
    position: int | None
    attempts: int
    run_id: int | None
    error: str
    size: int
    late_days: float
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class RunningJob:
    id: int
    assignment: str
    student_id: str
    worker: str
    attempts: int
    lease_until: datetime | None


@dataclass(frozen=True)
class QueueOverview:
    """A course's queue for staff: how many jobs in each state, and who grades what now."""

    counts: dict[JobState, int]  # every state, zeros included
    running: tuple[RunningJob, ...]  # oldest first


# Decides, inside enqueue's transaction, whether the upload is taken: given the session and the
# database's time, it returns the late days to queue it with, or raises to refuse it.
Admission = Callable[[Session, datetime], float]


def enqueue(gradebook: Gradebook, *, course: str, assignment: str, student_id: str,
            files: bytes, idempotency_key: str | None = None,
            admit: Admission | None = None) -> Enqueued:
    """Queue one upload (one INSERT), or find the job this idempotency key already made.

    ``admit`` runs in the same transaction, after the key is looked up and before the INSERT,
    with the student's earlier jobs locked against a twin request: a rate limit or a quota
    it checks holds however many uploads of one student arrive at once. A retried upload
    (a key already used) is answered with its first job, never refused.

    Returns:
        The job's id (the submission's id), its place in the queue, and whether it is new.
    """
    def transaction() -> Enqueued:
        with gradebook.session(write=True) as session:
            _lock_student(session, course, student_id)
            if idempotency_key is not None:
                first = session.scalar(select(JobRow).where(
                    JobRow.course == course, JobRow.student_id == student_id,
                    JobRow.idempotency_key == idempotency_key))
                if first is not None:
                    return Enqueued(first.id, _position(session, first), created=False,
                                    status=first.status)
            now = _now(session)
            late_days = admit(session, now) if admit is not None else 0.0
            job = JobRow(course=course, assignment=assignment, student_id=student_id,
                         files=files, size=len(files), idempotency_key=idempotency_key,
                         late_days=late_days, created_at=now)
            session.add(job)
            session.flush()  # PostgreSQL: an IntegrityError if a twin request came first
            return Enqueued(job.id, _position(session, job), created=True)

    return _retrying(transaction)


def claim(gradebook: Gradebook, worker: str, *, lease: float, course: str | None = None,
          max_attempts: int = MAX_ATTEMPTS) -> Claim | None:
    """Take the oldest job that is queued, or running with a lease that ran out, for ``lease``
    seconds; None when there is none. With ``course``, only that course's jobs: a worker grades
    with one course's checks.

    A running job whose lease ran out after ``max_attempts`` claims is failed instead: the
    workers that took it were lost (killed, out of memory) that many times. PostgreSQL skips
    the rows other workers are claiming (FOR UPDATE SKIP LOCKED); SQLite claims under its
    write lock.
    """
    if lease <= 0:
        raise ValueError(f"a lease must be positive seconds, not {lease}")
    with gradebook.session(write=True) as session:
        now = _now(session)
        oldest = (
            select(JobRow)
            .where(or_(JobRow.status == JobState.QUEUED,
                       and_(JobRow.status == JobState.RUNNING, JobRow.lease_until < now)),
                   *([JobRow.course == course] if course is not None else []))
            .order_by(JobRow.id).limit(1)
            .with_for_update(skip_locked=True).options(undefer(JobRow.files))
        )
        while (job := session.scalar(oldest)) is not None:
            if job.status is JobState.RUNNING and job.attempts >= max_attempts:
                _end(job, JobState.FAILED, now,
                     f"the grading worker was lost {job.attempts} times")
                session.flush()  # the next look finds the next job
                continue
            job.status, job.worker, job.attempts = JobState.RUNNING, worker, job.attempts + 1
            job.lease_until = now + timedelta(seconds=lease)
            return Claim(job.id, job.attempts, worker, job.lease_until, job.course,
                         job.assignment, job.student_id, job.files, job.late_days,
                         job.created_at)
    return None


def renew(gradebook: Gradebook, claim: Claim, *, lease: float) -> bool:
    """Move the lease on to ``lease`` seconds from now; False when the job was taken away
    (another worker claimed it after the lease ran out) or is no longer running."""
    with gradebook.session(write=True) as session:
        moved = session.execute(
            update(JobRow).where(*_holds(claim))
            .values(lease_until=_now(session) + timedelta(seconds=lease)))
        return moved.rowcount == 1


def finish(gradebook: Gradebook, claim: Claim, new_run: NewRun, *,
           max_attempts: int = MAX_ATTEMPTS) -> bool:
    """Record the job's run and mark it done, in one transaction, if ``claim`` still holds it.

    The run goes through ``Gradebook.record``'s code: a submission this assignment version
    already graded is not stored twice, and the job points to that run. An infrastructure_error
    is the grader's failure, not a result: no run is stored, the job is queued again (its
    attempts count) or, after ``max_attempts``, failed with the run's error.

    Returns:
        False, storing nothing, when the claim is stale: the job was taken away.
    """
    if new_run.status is NEEDS_REGRADE:
        return _settle(gradebook, claim, lambda _, job, now: _requeue(job, now, new_run.error,
                                                                       max_attempts))

    def done(session: Session, job: JobRow, now: datetime) -> None:
        job.run_id = gradebook.record_in(session, new_run).run_id
        _end(job, JobState.DONE, now, "")

    return _settle(gradebook, claim, done)


def fail(gradebook: Gradebook, claim: Claim, reason: str) -> bool:
    """Give up on the job for ``reason`` (shown to staff); False when the claim is stale."""
    return _settle(gradebook, claim,
                   lambda _, job, now: _end(job, JobState.FAILED, now, reason))


def status(gradebook: Gradebook, job_id: int) -> JobStatus | None:
    """Where one job stands; None when there is no such job."""
    with gradebook.session() as session:
        job = session.get(JobRow, job_id)
        if job is None:
            return None
        return _status(job, _position(session, job))


def history(gradebook: Gradebook, course: str, *, student_id: str | None = None,
            assignment: str | None = None) -> list[JobStatus]:
    """The course's jobs, newest first: one student's (``student_id``), of one assignment, or
    all of them."""
    with gradebook.session() as session:
        query = select(JobRow).where(JobRow.course == course).order_by(JobRow.id.desc())
        if student_id is not None:
            query = query.where(JobRow.student_id == student_id)
        if assignment is not None:
            query = query.where(JobRow.assignment == assignment)
        jobs = session.scalars(query).all()
        queued = [job.id for job in jobs if job.status is JobState.QUEUED]
        ahead = _positions(session, course, queued)
        return [_status(job, ahead.get(job.id)) for job in jobs]


def queue_overview(gradebook: Gradebook, course: str) -> QueueOverview:
    """The course's jobs counted by state, and the running ones with the worker on each."""
    with gradebook.session() as session:
        counted = {state: n for state, n in session.execute(
            select(JobRow.status, func.count()).where(JobRow.course == course)
            .group_by(JobRow.status))}
        running = session.execute(
            select(JobRow.id, JobRow.assignment, JobRow.student_id, JobRow.worker,
                   JobRow.attempts, JobRow.lease_until)
            .where(JobRow.course == course, JobRow.status == JobState.RUNNING)
            .order_by(JobRow.id))
        return QueueOverview({state: counted.get(state, 0) for state in JobState},
                             tuple(RunningJob(*row) for row in running))


def _settle(gradebook: Gradebook, claim: Claim,
            change: Callable[[Session, JobRow, datetime], None]) -> bool:
    """Apply ``change`` to the job, in one transaction, if ``claim`` still holds it."""
    def transaction() -> bool:
        with gradebook.session(write=True) as session:
            # FOR UPDATE: a claimer skips the row until this ends; the row is re-read after
            # any wait, so a claim taken meanwhile is seen here (READ COMMITTED)
            job = session.scalar(select(JobRow).where(*_holds(claim)).with_for_update())
            if job is None:
                return False
            change(session, job, _now(session))  # the time after the lock: when it ended
            return True

    return _retrying(transaction)


def _holds(claim: Claim) -> tuple:
    """The row still holds this claim: running, with its attempt number and worker."""
    return (JobRow.id == claim.job_id, JobRow.status == JobState.RUNNING,
            JobRow.attempts == claim.attempt, JobRow.worker == claim.worker)


def _requeue(job: JobRow, now: datetime, reason: str, max_attempts: int) -> None:
    if job.attempts >= max_attempts:
        _end(job, JobState.FAILED, now,
             f"grading failed {job.attempts} times, the grader's fault each time: {reason}")
    else:
        job.status, job.lease_until, job.error = JobState.QUEUED, None, reason


def _end(job: JobRow, state: JobState, now: datetime, error: str) -> None:
    job.status, job.lease_until, job.finished_at, job.error = state, None, now, error


def _status(job: JobRow, position: int | None) -> JobStatus:
    return JobStatus(job.id, job.course, job.assignment, job.student_id, job.status, position,
                     job.attempts, job.run_id, job.error, job.size, job.late_days,
                     job.created_at, job.finished_at)


def _positions(session: Session, course: str, ids: list[int]) -> dict[int, int]:
    """Each queued job's place in its course's queue, in one query: the queued ids below it."""
    if not ids:
        return {}
    queued = session.scalars(select(JobRow.id).where(
        JobRow.course == course, JobRow.status == JobState.QUEUED,
        JobRow.id <= max(ids)).order_by(JobRow.id)).all()
    place = {job_id: n for n, job_id in enumerate(queued)}
    return {job_id: place[job_id] for job_id in ids if job_id in place}


def _lock_student(session: Session, course: str, student_id: str) -> None:
    """Hold one student's uploads to this course until the transaction ends: PostgreSQL takes
    a transaction-level advisory lock on their name; SQLite's write lock, taken when a writing
    transaction first uses its connection, already lets one writer in at a time."""
    if session.connection().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(
            func.hashtextextended(f"grader upload\n{course}\n{student_id}", 0))))


def _position(session: Session, job: JobRow) -> int | None:
    if job.status is not JobState.QUEUED:
        return None
    # the jobs ahead in its course's queue: a course's workers claim its jobs only
    return session.scalar(select(func.count()).select_from(JobRow).where(
        JobRow.course == job.course, JobRow.status == JobState.QUEUED, JobRow.id < job.id))


def _now(session: Session) -> datetime:
    """The database's clock (see the module's docstring), timezone-aware UTC."""
    if session.get_bind().dialect.name == "postgresql":
        return session.scalar(select(func.clock_timestamp())).astimezone(timezone.utc)
    # The transaction's connection first: a writing one begins by taking SQLite's write lock,
    # so no writer commits a later time after this one is read.
    session.connection()
    return datetime.now(timezone.utc)


def _retrying(transaction: Callable[[], T]) -> T:
    """Run ``transaction`` again when another writer's row made it fail: the next try finds
    that row (PostgreSQL; SQLite's write lock lets no one in between)."""
    for _ in range(RACE_RETRIES - 1):
        try:
            return transaction()
        except IntegrityError:
            pass
    return transaction()
