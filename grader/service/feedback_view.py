"""A graded submission's feedback on its result page: the feedback file's own data and
template (``grader.reports.feedback_html``), built from that submission's run."""

from __future__ import annotations

from grader.reports import feedback_html
from grader.reports.frames import run_tables
from grader.reports.schema import checks_table
from grader.reports.visibility import for_students
from grader.service.submissions import Service, Submission


def feedback_context(service: Service, submission: Submission) -> feedback_html.Feedback | None:
    """What ``feedback_body.html`` shows for ``submission``'s run, hidden checks as students
    see them and the course's late penalty taken; None before it has a run."""
    if submission.job.run_id is None:
        return None
    found = run_tables(service.gradebook, submission.job.run_id,
                       settings=service.course.settings)
    if found is None:
        return None
    row, checks = found
    return feedback_html.feedback(row, for_students(checks_table(checks)))
