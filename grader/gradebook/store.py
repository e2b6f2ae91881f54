"""The gradebook's facade: open a database, record runs, add overrides, find what is graded.

Only the process that runs a batch writes here; grading slots hand their results back to it.
A run and its check results go in one transaction: after a crash the database holds whole runs
only, and the next batch grades what is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from grader.gradebook.models import (
    Assignment,
    Base,
    CheckResultRow,
    Override,
    Run,
    RunStatus,
    Student,
    Submission,
)
from grader.results import CheckResult

DEFAULT_URL = "sqlite:///grades.db"
BUSY_TIMEOUT_MS = 30_000  # another writer (a second batch) holds the lock for one transaction


class GradebookError(Exception):
    """The database cannot be opened or a request names something it does not hold."""


def database_url(url: str | None = None) -> str:
    """``url``, else $GRADER_DB, else a grades.db in the current folder."""
    return url or os.environ.get("GRADER_DB") or DEFAULT_URL


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


class Gradebook:
    """A gradebook at a SQLAlchemy URL; SQLite files are created 0600, in WAL mode.

    With ``create=False`` a missing SQLite file is an error rather than a new, empty gradebook
    (a report from a mistyped path should say so).
    """

    def __init__(self, url: str | None = None, *, create: bool = True) -> None:
        self.url = database_url(url)
        try:
            parsed = make_url(self.url)
        except ArgumentError:
            raise GradebookError(f"{self.url!r} is not a database URL "
                                 "(try sqlite:///grades.db)") from None
        self.path = _sqlite_file(parsed)
        if self.path is not None and not create and not self.path.exists():
            raise GradebookError(f"no gradebook at {self.path}: grade with `grader batch` first, "
                                 "or name it with --db / GRADER_DB")
        if self.path is not None:
            _create_private(self.path)
        try:
            self.engine = _engine(self.url)
            Base.metadata.create_all(self.engine)
        except (OperationalError, NoSuchModuleError) as err:
            reason = getattr(err, "orig", None) or err
            raise GradebookError(f"cannot open the gradebook {self.url}: {reason}") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        with self._sessions.begin() as session:
            yield session

    def graded(self, assignment: str, version: str) -> set[tuple[str, str]]:
        """(student, content hash) pairs with a finished run of this assignment version.

        Crashed runs do not count: the grader failed, not the submission, so they are retried.
        """
        query = (
            select(Student.name, Submission.content_hash)
            .join(Submission.student).join(Submission.runs).join(Run.assignment)
            .where(Assignment.name == assignment, Assignment.version == version,
                   Run.status != RunStatus.CRASHED)
        )
        with self.session() as session:
            return {(name, digest) for name, digest in session.execute(query)}

    def record(self, new: NewRun) -> int:
        """Store one run with its check results in one transaction; returns the run's id."""
        attempts = 3  # a second writer may create the same student first
        for attempt in range(1, attempts + 1):
            try:
                with self.session() as session:
                    return self._record(session, new)
            except IntegrityError:
                if attempt == attempts:
                    raise

    def _record(self, session: Session, new: NewRun) -> int:
        student = _get_or_add(session, Student, name=new.student)
        version = _get_or_add(session, Assignment, name=new.assignment, version=new.version,
                              defaults={"title": new.title})
        submission = _get_or_add(
            session, Submission, student=student, assignment=new.assignment,
            content_hash=new.content_hash,
            defaults={"path": new.path, "submitted_at": new.submitted_at},
        )
        counted = [c for c in new.checks if c.counted]
        run = Run(
            submission=submission, assignment=version, status=new.status, error=new.error,
            score=round(sum(c.points for c in counted), 6),
            max_score=round(sum(c.max_points for c in counted), 6),
            seed=new.seed, device=new.device, isolation=new.isolation,
            grader_version=new.fingerprint.get("grader", "unknown"),
            fingerprint=new.fingerprint, started_at=new.started_at, finished_at=new.finished_at,
            results=[_row(c) for c in new.checks],
        )
        session.add(run)
        session.flush()
        return run.id

    def override(
        self, student: str, assignment: str, points: float, *, by: str, reason: str,
        check_id: str | None = None,
    ) -> int:
        """Set a manual score for one check (or the whole assignment with no check)."""
        if not by.strip() or not reason.strip():
            raise GradebookError("an override needs who (--by) and why (--reason)")
        with self.session() as session:
            found = session.scalar(select(Student).where(Student.name == student))
            if found is None:
                raise GradebookError(f"no student {student!r} in the gradebook")
            if check_id is not None and not _has_check(session, found, assignment, check_id):
                raise GradebookError(f"{assignment} has no graded check {check_id!r} "
                                     f"for {student!r}")
            row = Override(student=found, assignment=assignment, check_id=check_id,
                           points=points, by=by, reason=reason)
            session.add(row)
            session.flush()
            return row.id


def _row(check: CheckResult) -> CheckResultRow:
    return CheckResultRow(
        check_id=check.id, function=check.function, category=check.category,
        status=check.status, points=check.points, max_points=check.max_points,
        title=check.title, message=check.message, hint=check.hint, duration=check.duration,
        hidden=check.hidden,
    )


def _get_or_add(session: Session, model, defaults: dict | None = None, **key):
    found = session.scalars(select(model).filter_by(**key)).first()
    if found is None:
        found = model(**key, **(defaults or {}))
        session.add(found)
        session.flush()  # an IntegrityError here means another writer just added it
    return found


def _has_check(session: Session, student: Student, assignment: str, check_id: str) -> bool:
    query = (
        select(CheckResultRow.id).join(CheckResultRow.run).join(Run.submission)
        .where(Submission.student_id == student.id, Submission.assignment == assignment,
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


def _engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _pragmas(connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: a kill -9 loses no commit
        cursor.close()

    return engine
