"""The gradebook: SQLAlchemy models, a facade that records runs, and pandas tables for reports."""

from grader.gradebook.frames import CHECK_COLUMNS, SCORE_COLUMNS, tables
from grader.gradebook.models import RunStatus
from grader.gradebook.store import DEFAULT_URL, Gradebook, GradebookError, NewRun, database_url

__all__ = [
    "CHECK_COLUMNS", "DEFAULT_URL", "SCORE_COLUMNS", "Gradebook", "GradebookError", "NewRun",
    "RunStatus", "database_url", "tables",
]
