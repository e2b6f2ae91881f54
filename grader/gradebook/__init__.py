"""The gradebook: SQLAlchemy models (``*Row``) and a facade that records runs and overrides.

Storage only: it imports ``grader.outcomes``, ``grader.options`` and ``grader.roster`` (the class
list it keeps) and knows nothing of how a submission is graded or how a report looks.
"""

from grader.gradebook.store import Gradebook, GradebookError, NewRun, Recorded, database_url

__all__ = ["Gradebook", "GradebookError", "NewRun", "Recorded", "database_url"]
