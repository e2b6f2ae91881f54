"""The gradebook: SQLAlchemy models (``*Row``), a facade that records runs and overrides, and
the service's queue of uploads (``queue``: enqueue, claim, renew, finish).

Storage only: it imports ``grader.outcomes``, ``grader.options`` and ``grader.roster`` (the class
list it keeps) and knows nothing of how a submission is graded or how a report looks.
"""

from grader.gradebook.models import JobState
from grader.gradebook.queue import (
    Claim,
    Enqueued,
    JobStatus,
    QueueOverview,
    RunningJob,
    claim,
    enqueue,
    fail,
    finish,
    history,
    queue_overview,
    renew,
    status,
    upload_of,
    upload_path,
    uploaded_files,
)
from grader.gradebook.store import Gradebook, GradebookError, NewRun, Recorded, database_url

__all__ = [
    "Claim", "Enqueued", "Gradebook", "GradebookError", "JobState", "JobStatus", "NewRun",
    "QueueOverview", "Recorded", "RunningJob", "claim", "database_url", "enqueue", "fail",
    "finish", "history", "queue_overview", "renew", "status", "upload_of", "upload_path",
    "uploaded_files",
]
