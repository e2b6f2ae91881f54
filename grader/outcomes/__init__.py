"""What the grader says: results, statuses, the score, the schema of a check's result, errors.

The bottom layer: it imports nothing else of grader, and no torch, so the gradebook and the
reports can read results without loading a tensor library.
"""

from grader.outcomes.errors import (
    ExitCode,
    GraderError,
    GraderFault,
    Interrupted,
    NotImplementedByStudent,
    StudentError,
    StudentProblem,
    StudentTimeout,
    UsageError,
)
from grader.outcomes.results import (
    CHECK_FIELDS,
    HIDDEN_MESSAGE,
    NEEDS_REGRADE,
    RESULT_COLUMNS,
    SCORED,
    STATUS_MEANINGS,
    STORED_AS,
    UNCOUNTED,
    Category,
    CheckResult,
    Outcome,
    RunStatus,
    SubmissionResult,
    cause_id,
    penalised,
    total,
)

__all__ = [
    "CHECK_FIELDS", "HIDDEN_MESSAGE", "NEEDS_REGRADE", "RESULT_COLUMNS", "SCORED",
    "STATUS_MEANINGS", "STORED_AS", "UNCOUNTED",
    "Category", "CheckResult", "ExitCode", "GraderError", "GraderFault", "Interrupted",
    "NotImplementedByStudent",
    "Outcome", "RunStatus", "StudentError", "StudentProblem", "StudentTimeout",
    "SubmissionResult", "UsageError", "cause_id", "penalised", "total",
]
