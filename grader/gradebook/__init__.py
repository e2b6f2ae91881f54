"""The gradebook: SQLAlchemy models and a facade that records runs and overrides."""

from grader.gradebook.models import RunStatus
from grader.gradebook.store import DEFAULT_URL, Gradebook, GradebookError, NewRun, database_url

__all__ = ["DEFAULT_URL", "Gradebook", "GradebookError", "NewRun", "RunStatus", "database_url"]
