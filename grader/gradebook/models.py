"""The gradebook's tables, in SQLAlchemy 2.0's typed style.

A student hands in submissions (one per distinct content); each grading of a submission against
one version of an assignment is a run, with one row per check. A run and its check results are
written in one transaction, so a run is either there whole or not at all. Manual overrides sit
apart and win over the automatic score when reports are built.

The same tables serve SQLite and PostgreSQL: enums are stored as strings, datetimes as naive
UTC, text without NUL, and the fingerprint as JSON (JSONB on PostgreSQL).
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from grader import options
from grader.outcomes import Category, Outcome, RunStatus


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC (SQLite keeps no zone; PostgreSQL's ``timestamp without time zone``
    likewise), always handed back timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the gradebook stores timezone-aware datetimes only")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class PlainText(TypeDecorator):
    """Text, with NUL characters stored as U+FFFD on every database.

    PostgreSQL's text cannot hold NUL and refuses the whole run over one; check messages quote
    what student code raised, which can be anything.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        return None if value is None else value.replace("\x00", "\ufffd")


def _enum(kind: type[enum.Enum]) -> Enum:
    # Stored as the value strings, so the database reads the same from SQL and from pandas;
    # a gradebook made when the values were at most 16 characters is widened when opened.
    return Enum(kind, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


# JSONB on PostgreSQL: its plain json has no equality, so a DISTINCT over runs would fail there.
Fingerprint = JSON().with_variant(JSONB(), "postgresql")


def _course() -> Mapped[str]:
    """The course's name: two courses may both have an assignment hw1. A gradebook from before
    courses gets the column when opened, its rows the built-in course's name."""
    return mapped_column(String(64), index=True, server_default=options.BUILTIN_COURSE)


class Base(DeclarativeBase):
    pass


class StudentRow(Base):
    __tablename__ = "students"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)  # the submission's folder name
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    submissions: Mapped[list[SubmissionRow]] = relationship(back_populates="student")


class AssignmentRow(Base):
    """One version of an assignment: a new hash of its checks and reference is a new row."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("course", "name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course: Mapped[str] = _course()
    name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubmissionRow(Base):
    """What one student handed in for one assignment, identified by its content."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("student_id", "course", "assignment", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    course: Mapped[str] = _course()
    assignment: Mapped[str] = mapped_column(String(64), index=True)  # the assignment's name
    content_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the files' paths and bytes
    # where it was found: a batch's folder or .zip (absolute: similarity reads it again), or
    # "job N", the service's upload N
    path: Mapped[str] = mapped_column(PlainText)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # its newest file
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    student: Mapped[StudentRow] = relationship(back_populates="submissions")
    runs: Mapped[list[RunRow]] = relationship(back_populates="submission")


class RunRow(Base):
    """One grading of a submission against one assignment version, and where it ran."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus))
    error: Mapped[str] = mapped_column(PlainText, default="")  # why, unless graded
    score: Mapped[float] = mapped_column(Float, default=0.0)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    seed: Mapped[int] = mapped_column(BigInteger)  # --seed is any int: 32 bits are too few
    device: Mapped[str] = mapped_column(String(16))
    isolation: Mapped[str] = mapped_column(String(16))
    grader_version: Mapped[str] = mapped_column(String(32))
    # a hash of the whole course (course.toml and every assignment) when this run was graded
    course_version: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # days after the deadline it was handed in, fractional (0 on time): reports take the
    # course's late_penalty from the score for them; a gradebook from before the column gets it
    # when opened, its runs on time
    late_days: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    fingerprint: Mapped[dict] = mapped_column(Fingerprint)  # Python, torch, CUDA, GPUs, platform
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)

    submission: Mapped[SubmissionRow] = relationship(back_populates="runs")
    assignment: Mapped[AssignmentRow] = relationship()
    results: Mapped[list[CheckResultRow]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="CheckResultRow.id",
    )


class CheckResultRow(Base):
    """One check's outcome in one run (grader.outcomes.results.CheckResult, stored)."""

    __tablename__ = "check_results"
    __table_args__ = (UniqueConstraint("run_id", "check_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    check_id: Mapped[str] = mapped_column(String(128))
    function: Mapped[str] = mapped_column(String(64))
    category: Mapped[Category] = mapped_column(_enum(Category))
    status: Mapped[Outcome] = mapped_column(_enum(Outcome))
    points: Mapped[float] = mapped_column(Float)
    max_points: Mapped[float] = mapped_column(Float)
    title: Mapped[str] = mapped_column(PlainText)
    message: Mapped[str] = mapped_column(PlainText, default="")  # hidden checks: never the inputs
    hint: Mapped[str] = mapped_column(PlainText, default="")
    duration: Mapped[float] = mapped_column(Float, default=0.0)  # seconds
    hidden: Mapped[bool] = mapped_column(default=False)
    # shared by a run's checks of one function that failed for one reason; a gradebook from
    # before this column gets it when opened (server_default: rows already there read "")
    cause: Mapped[str] = mapped_column(String(16), default="", server_default="")
    # a failed check's wrong answer, as a digest; older gradebooks get the column, rows read ""
    answer: Mapped[str] = mapped_column(String(16), default="", server_default="")

    run: Mapped[RunRow] = relationship(back_populates="results")


class OverrideRow(Base):
    """A manual score from course staff: for one check, or for the whole assignment.

    The newest override for a (student, assignment, check) wins over the automatic points of
    whichever run is current, so a regrade keeps it.
    """

    __tablename__ = "overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    course: Mapped[str] = _course()
    assignment: Mapped[str] = mapped_column(String(64))
    check_id: Mapped[str | None] = mapped_column(String(128))  # None: the assignment's score
    points: Mapped[float] = mapped_column(Float)
    by: Mapped[str] = mapped_column(String(255))  # who
    reason: Mapped[str] = mapped_column(PlainText)  # why
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    student: Mapped[StudentRow] = relationship()


class RosterRow(Base):
    """One student on a course's class list (``grader roster import``): the LMS's identities
    that exports carry, and the keys (id, login, email) submissions are matched on."""

    __tablename__ = "roster"
    __table_args__ = (UniqueConstraint("course", "student_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course: Mapped[str] = _course()
    student_id: Mapped[str] = mapped_column(String(255))  # the roster's id column
    name: Mapped[str] = mapped_column(PlainText)
    email: Mapped[str] = mapped_column(String(320))
    sis_id: Mapped[str] = mapped_column(String(255), default="")
    login: Mapped[str] = mapped_column(String(255), default="")
    section: Mapped[str] = mapped_column(String(255), default="")
    row: Mapped[int] = mapped_column(default=0)  # its line in the file it was imported from
    source: Mapped[str] = mapped_column(PlainText, default="")  # that file, for messages


class TokenRow(Base):
    """An access token for ``grader serve``: a student's or a staff member's. Only the token's
    sha256 is kept; the token itself is shown once, by ``grader tokens issue``."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    course: Mapped[str] = _course()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256, hex
    kind: Mapped[str] = mapped_column(String(16))  # "student" | "staff"
    student_id: Mapped[str] = mapped_column(String(255), default="")  # the roster's id
    staff_name: Mapped[str] = mapped_column(String(255), default="")  # "" for a student
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: live


class JobState(str, enum.Enum):
    """Where a job of the service's queue stands (grader.gradebook.queue moves it on)."""

    QUEUED = "queued"  # waiting for a worker, or handed back after the grader's own failure
    RUNNING = "running"  # a worker holds it until lease_until, and keeps moving that on
    DONE = "done"  # graded: run_id is its run
    FAILED = "failed"  # given up: error says why; staff list it as needing a regrade

    def __str__(self) -> str:
        return self.value


class JobRow(Base):
    """One upload to the service, waiting for, held by or finished by a grading worker.

    The table is the queue (docs/service.md): ``attempts`` counts claims and is the fencing
    token a worker's renew and finish must still find. Times are the database's clock.
    """

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("course", "student_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)  # the submission's id for the service
    course: Mapped[str] = _course()
    assignment: Mapped[str] = mapped_column(String(64))
    student_id: Mapped[str] = mapped_column(String(255))  # the roster's id
    # the upload as a zip: workers on other machines read it here, and it survives a restart
    files: Mapped[bytes] = mapped_column(deferred=True)
    size: Mapped[int] = mapped_column()  # len(files), without loading them
    idempotency_key: Mapped[str | None] = mapped_column(String(255))  # NULLs never collide
    status: Mapped[JobState] = mapped_column(_enum(JobState), default=JobState.QUEUED,
                                             index=True)
    attempts: Mapped[int] = mapped_column(default=0)  # claims so far
    worker: Mapped[str] = mapped_column(String(255), default="")  # who holds it, or last did
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # while running
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))  # once done
    late_days: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # done or failed
    error: Mapped[str] = mapped_column(PlainText, default="")  # why it failed, or last did
