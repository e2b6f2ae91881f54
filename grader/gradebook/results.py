"""A stored run read back as the result ``grader check --json`` prints for the same files."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from grader.gradebook.models import CheckResultRow, RunRow
from grader.gradebook.store import Gradebook
from grader.outcomes import CHECK_FIELDS, STORED_AS, CheckResult, SubmissionResult


@dataclass(frozen=True)
class StoredRun:
    result: SubmissionResult
    late_days: float  # as the run was stored: the upload's that it graded first


def stored_result(gradebook: Gradebook, run_id: int, student: str) -> StoredRun | None:
    """Run ``run_id`` as a SubmissionResult for ``student``; None when there is no such run.

    The checks are those the grader stored, hidden ones as the grader hid them; the result's
    status and reason are the run's.
    """
    with gradebook.session() as session:
        run = session.get(RunRow, run_id)
        if run is None:
            return None
        rows = session.scalars(select(CheckResultRow).where(CheckResultRow.run_id == run_id)
                               .order_by(CheckResultRow.id)).all()
        checks = tuple(
            CheckResult(**{name: getattr(row, STORED_AS.get(name, name)) for name in CHECK_FIELDS})
            for row in rows)
        return StoredRun(SubmissionResult(run.assignment.name, student, checks, run.status,
                                          run.error), run.late_days)
