"""The gradebook's facade: open a database, record runs, add overrides, find what is graded.

Only the process that runs a batch writes here; grading slots hand their results back to it.
A run and its check results go in one transaction: after a crash the database holds whole runs
only, and the next batch grades what is missing. Two batches may write to one gradebook at once
(SQLite or PostgreSQL): writes take turns, and ``record`` refuses a second grade of the same
submission at the same assignment version.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, delete, event, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.orm import Session, sessionmaker

from grader import options
from grader.gradebook.models import (
    AssignmentRow,
    CheckResultRow,
    OverrideRow,
    RosterRow,
    RunRow,
    StudentRow,
    SubmissionRow,
)
from grader.gradebook.schema import create_tables
from grader.outcomes import (
    CHECK_FIELDS,
    NEEDS_REGRADE,
    RESULT_COLUMNS,
    CheckResult,
    RunStatus,
    UsageError,
    total,
)
from grader.roster import Roster, Student

BUSY_TIMEOUT_MS = 30_000  # another writer (a second batch) holds the lock for one transaction
CONNECT_TIMEOUT_S = 10  # a mistyped PostgreSQL host fails in seconds, not at TCP's two minutes
_WRITE = "grader_write"  # execution option: this transaction writes (SQLite: BEGIN IMMEDIATE)
BY_LENGTH = OverrideRow.__table__.c.by.type.length  # who set an override: the column's size


class GradebookError(UsageError):
    """The database cannot be opened or a request names something it does not hold."""


class GradebookBusy(UserWarning):
    """Another program holds the gradebook's write lock; the run waits, kept, until it is free."""


def database_url(url: str | None = None) -> str:
    """``url``, else $GRADER_DB, else a grades.db in the current folder (grader.options).

    ``postgresql://...`` as people type it means psycopg 3, the driver the grader installs
    (SQLAlchemy alone would pick psycopg2); a URL that names its driver keeps it.
    """
    chosen = options.database_url(url)
    try:
        parsed = make_url(chosen)
    except ArgumentError:
        return chosen  # Gradebook says what is wrong with it
    if parsed.drivername in ("postgresql", "postgres"):  # postgres://: what hosting services give
        return "postgresql+psycopg://" + chosen.split("://", 1)[1]  # the rest as typed
    return chosen


@dataclass(frozen=True)
class NewRun:
    """Everything one grading produced, ready to store."""

    student: str
    assignment: str
    version: str
    content_hash: str
    path: str
    submitted_at: datetime | None
    status: RunStatus
    started_at: datetime
    finished_at: datetime
    seed: int
    device: str
    isolation: str
    fingerprint: dict
    checks: tuple[CheckResult, ...] = ()
    error: str = ""
    title: str = ""  # the assignment's title
    regrade: bool = False  # store it even if this version already has a finished run of it
    course: str = options.BUILTIN_COURSE  # the name of the assignment's course
    course_version: str = ""  # the whole course's version, as the run saw it
    late_days: float = 0.0  # days after the deadline it was handed in, fractional; 0 on time


@dataclass(frozen=True)
class Recorded:
    """What ``record`` did: a run's id, and whether that run is the one just handed in.

    ``stored`` is False when ``record`` skipped the new run because this assignment version
    already has a finished run of the same submission; ``run_id`` is then that run's.
    """

    run_id: int
    stored: bool


class Gradebook:
    """A gradebook at a SQLAlchemy URL: SQLite (files created 0600, in WAL mode) or PostgreSQL.

    With ``create=False`` a missing SQLite file is an error rather than a new, empty gradebook
    (a report from a mistyped path should say so). ``url`` is the URL as shown to people: the
    password, if any, is masked.
    """

    def __init__(self, url: str | None = None, *, create: bool = True) -> None:
        chosen = database_url(url)
        try:
            parsed = make_url(chosen)
        except ArgumentError:
            raise GradebookError(f"{chosen!r} is not a database URL "
                                 f"(try {options.DB_URL})") from None
        self.url = chosen if parsed.password is None else parsed.render_as_string()
        self.path = _sqlite_file(parsed)
        if self.path is not None and not create and not self.path.exists():
            raise GradebookError(f"no gradebook at {self.path}: grade with `grader batch` first, "
                                 f"or name it with --db / {options.DB_ENV}")
        if self.path is not None:
            _create_private(self.path)
        try:
            self.engine = _engine(parsed)
            self._writer = self.engine.execution_options(**{_WRITE: True})
            create_tables(self.engine, self._writer)
        except (DBAPIError, NoSuchModuleError) as err:
            reason = " ".join(str(getattr(err, "orig", None) or err).split())  # libpq: 2 lines
            raise GradebookError(f"cannot open the gradebook {self.url}: {reason}") from None
        except ImportError as err:  # the dialect is known, its driver is not installed
            package = "'psycopg[binary]'" if err.name == "psycopg" else err.name or "it"
            raise GradebookError(f"cannot open the gradebook {self.url}: no driver "
                                 f"{err.name!r} (pip install {package})") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(self._writer, expire_on_commit=False)

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises.

        ``write=True`` for one that writes what it read: on SQLite it takes the write lock at
        the start (BEGIN IMMEDIATE), so a second writer waits its turn (up to the busy timeout)
        rather than failing with "database is locked" halfway through.
        """
        with (self._writes if write else self._sessions).begin() as session:
            yield session

    def graded(self, course: str, assignment: str, version: str) -> set[tuple[str, str]]:
        """(student, content hash) pairs with a finished run of this assignment version.

        Runs that need a regrade do not count: the grader failed, not the submission, so the
        next batch grades them again.
        """
        query = (
            select(StudentRow.name, SubmissionRow.content_hash)
            .join(SubmissionRow.student).join(SubmissionRow.runs).join(RunRow.assignment)
            .where(AssignmentRow.course == course, AssignmentRow.name == assignment,
                   AssignmentRow.version == version, RunRow.status != NEEDS_REGRADE)
        )
        with self.session() as session:
            return {(name, digest) for name, digest in session.execute(query)}

    def record(self, new: NewRun) -> Recorded:
        """Store one run with its check results in one transaction, unless it repeats one.

        A finished run (graded, or an error in the submission) is skipped when this assignment
        version already has a finished run of the same submission (student and content) and
        ``new.regrade`` is False: the same thing ``graded`` reports as done, so two batches that
        both found it ungraded store it once. Runs that need a regrade are always stored: they
        record that the grader failed, count as nothing done, and never stand in for a grade.

        The check and the insert cannot interleave with another writer's: SQLite runs the
        transaction under its write lock (BEGIN IMMEDIATE), PostgreSQL locks the submission's
        row (SELECT ... FOR UPDATE), and a submission two writers add at once is added by one,
        the other retrying after the unique constraint refuses it.

        A gradebook locked by another program (a TA's database browser holding a write) past
        the busy timeout is waited for, with a GradebookBusy warning each time, for as long as
        it takes: a graded run is never thrown away for it.

        Returns:
            The run's id, with ``stored`` False when it was skipped (the id is then the
            newest finished run's).
        """
        waiting_since = time.monotonic()
        while True:
            try:
                return self._record_retrying_races(new)
            except OperationalError as err:
                if "database is locked" not in str(err.orig):
                    raise
                waited = time.monotonic() - waiting_since
                warnings.warn(f"the gradebook {self.url} has been locked by another program for "
                              f"{waited:.0f} s; waiting to store {new.student}'s run, which is "
                              "kept until then (Ctrl-C twice gives up: the next batch regrades it)",
                              GradebookBusy, stacklevel=2)

    def _record_retrying_races(self, new: NewRun) -> Recorded:
        attempts = 3  # a second writer may create the same student first
        for attempt in range(1, attempts + 1):
            try:
                with self.session(write=True) as session:
                    return self._record(session, new)
            except IntegrityError:
                if attempt == attempts:
                    raise

    def record_in(self, session: Session, new: NewRun) -> Recorded:
        """``record``'s storing and skipping, inside a transaction the caller holds (from
        ``session(write=True)``), so that the run commits or rolls back with the caller's own
        writes (the queue's ``finish``). The caller retries the whole transaction on an
        IntegrityError (another writer added the same student first), as ``record`` does."""
        return self._record(session, new)

    def _record(self, session: Session, new: NewRun) -> Recorded:
        student = _get_or_add(session, StudentRow, name=new.student)
        version = _get_or_add(session, AssignmentRow, course=new.course, name=new.assignment,
                              version=new.version, defaults={"title": new.title})
        submission = _get_or_add(
            session, SubmissionRow, student=student, course=new.course, assignment=new.assignment,
            content_hash=new.content_hash, lock=True,
            defaults={"path": new.path, "submitted_at": new.submitted_at},
        )
        if new.status is not NEEDS_REGRADE and not new.regrade:
            # The same files graded before stand, late_days and all: handing in again after
            # the deadline what was handed in on time is not late.
            done = _finished_run(session, submission, version)
            if done is not None:
                return Recorded(done, stored=False)
        score, max_score = total(new.checks)
        run = RunRow(
            submission=submission, assignment=version, status=new.status, error=new.error,
            score=score, max_score=max_score,
            seed=new.seed, device=new.device, isolation=new.isolation,
            grader_version=new.fingerprint.get("grader", "unknown"),
            course_version=new.course_version, late_days=new.late_days,
            fingerprint=new.fingerprint, started_at=new.started_at, finished_at=new.finished_at,
            results=[_row(c) for c in new.checks],
        )
        session.add(run)
        session.flush()
        return Recorded(run.id, stored=True)

    def set_roster(self, course: str, roster: Roster) -> int:
        """Make ``roster`` the course's class list, replacing the one before in one
        transaction; returns how many students it holds."""
        with self.session(write=True) as session:
            session.execute(delete(RosterRow).where(RosterRow.course == course))
            session.add_all(
                RosterRow(course=course, student_id=s.id, name=s.name, email=s.email,
                          sis_id=s.sis_id, login=s.login, section=s.section, row=s.row,
                          source=roster.source)
                for s in roster.students)
        return len(roster.students)

    def roster(self, course: str) -> Roster | None:
        """The course's imported class list; None when none was imported."""
        with self.session() as session:
            rows = session.scalars(select(RosterRow).where(RosterRow.course == course)
                                   .order_by(RosterRow.row, RosterRow.id)).all()
        if not rows:
            return None
        students = tuple(Student(r.student_id, r.name, r.email, r.sis_id, r.login, r.section,
                                 r.row) for r in rows)
        return Roster(students, f"{rows[0].source or 'the roster'} (imported into {self.url})")

    def assignment_names(self, course: str | None = None) -> list[str]:
        """The assignments this gradebook holds runs of (in ``course``, or any), sorted."""
        query = select(AssignmentRow.name)
        if course is not None:
            query = query.where(AssignmentRow.course == course)
        with self.session() as session:
            return sorted(set(session.scalars(query)))

    def courses(self) -> list[str]:
        """The names of the courses this gradebook holds runs of, sorted."""
        with self.session() as session:
            return sorted(set(session.scalars(select(AssignmentRow.course))))

    def override(
        self, student: str, assignment: str, points: float, *, by: str, reason: str,
        check_id: str | None = None, course: str = options.BUILTIN_COURSE,
    ) -> int:
        """Set a manual score for one check (or the whole assignment with no check)."""
        if not by.strip() or not reason.strip():
            raise GradebookError("an override needs who (--by) and why (--reason)")
        if len(by) > BY_LENGTH:  # PostgreSQL would refuse it; SQLite would keep it whole
            raise GradebookError(f"--by is {len(by)} characters long; at most {BY_LENGTH}")
        with self.session(write=True) as session:
            found = session.scalar(select(StudentRow).where(StudentRow.name == student))
            if found is None:
                raise GradebookError(f"no student {student!r} in the gradebook")
            if check_id is not None and not _has_check(session, found, course, assignment,
                                                       check_id):
                raise GradebookError(f"{assignment} has no graded check {check_id!r} "
                                     f"for {student!r}")
            row = OverrideRow(student=found, course=course, assignment=assignment,
                              check_id=check_id,
                              points=points, by=by, reason=reason)
            session.add(row)
            session.flush()
            return row.id


def _row(check: CheckResult) -> CheckResultRow:
    return CheckResultRow(**{column: getattr(check, field)
                             for field, column in zip(CHECK_FIELDS, RESULT_COLUMNS, strict=True)})


def _get_or_add(session: Session, model, defaults: dict | None = None, lock: bool = False,
                **key):
    query = select(model).filter_by(**key)
    # FOR UPDATE: a second writer of the same row waits here until this transaction ends (on
    # PostgreSQL; SQLite renders nothing, its write lock is already held).
    found = session.scalars(query.with_for_update() if lock else query).first()
    if found is None:
        found = model(**key, **(defaults or {}))
        session.add(found)
        session.flush()  # an IntegrityError here means another writer just added it
    return found


def _finished_run(
    session: Session, submission: SubmissionRow, version: AssignmentRow
) -> int | None:
    """The newest run of ``submission`` at this assignment version that needs no regrade."""
    query = (
        select(RunRow.id)
        .where(RunRow.submission_id == submission.id, RunRow.assignment_id == version.id,
               RunRow.status != NEEDS_REGRADE)
        .order_by(RunRow.id.desc()).limit(1)
    )
    return session.scalar(query)


def _has_check(session: Session, student: StudentRow, course: str, assignment: str,
               check_id: str) -> bool:
    query = (
        select(CheckResultRow.id).join(CheckResultRow.run).join(RunRow.submission)
        .where(SubmissionRow.student_id == student.id, SubmissionRow.course == course,
               SubmissionRow.assignment == assignment,
               CheckResultRow.check_id == check_id)
        .limit(1)
    )
    return session.scalar(query) is not None


def _sqlite_file(url) -> Path | None:
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).resolve()


def _create_private(path: Path) -> None:
    """Student code must not read grades: the file is the grader's alone (and hidden from it)."""
    if not path.parent.is_dir():
        raise GradebookError(f"{path.parent}: no such folder for the gradebook")
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def _engine(url: URL) -> Engine:
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    if backend == "postgresql":
        connect_args = {} if "connect_timeout" in url.query else {
            "connect_timeout": CONNECT_TIMEOUT_S}
        # READ COMMITTED whatever the server's default: after waiting on a row lock, `record`
        # must see the run the other writer committed (under REPEATABLE READ it would fail).
        return create_engine(url, pool_pre_ping=True, isolation_level="READ COMMITTED",
                             connect_args=connect_args)
    return create_engine(url, pool_pre_ping=True)


def _sqlite_engine(url: URL) -> Engine:
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _pragmas(connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: a kill -9 loses no commit
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # sqlite3 would BEGIN (deferred) at the first INSERT, after this transaction's reads;
        # had another writer committed in between, the INSERT fails at once, busy timeout or
        # not. Taking the write lock first makes a writer's read-then-write one critical section.
        if connection.get_execution_options().get(_WRITE):
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine

