"""The gradebook: SQLAlchemy models, a facade that records runs, and pandas tables for reports."""

from grader.gradebook.frames import tables
from grader.gradebook.models import RunStatus
from grader.gradebook.store import DEFAULT_URL, Gradebook, GradebookError, NewRun, database_url

__all__ = [
    "DEFAULT_URL", "Gradebook", "GradebookError", "NewRun",
    "RunStatus", "database_url", "tables",
]
