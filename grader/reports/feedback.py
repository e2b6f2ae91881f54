"""Feedback for each student: one markdown and one html file per graded assignment."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from grader.reports import feedback_html, feedback_markdown
from grader.reports.schema import checks_of, checks_table, gradings_of
from grader.reports.slugs import slug
from grader.reports.visibility import for_students


def write_feedback(
    scores: pd.DataFrame, checks: pd.DataFrame, output: Path, *, student: str | None = None
) -> list[Path]:
    """Write ``<slug>/<assignment>.md`` and ``.html`` under ``output`` for each grading.

    Hidden checks show their title, status and points only, with HIDDEN_MESSAGE when they did
    not pass.

    Args:
        scores: one row per (student, assignment), the current grading.
        checks: one row per (student, assignment, check) of those gradings.
        output: the folder to write into; created as needed.
        student: only this student's feedback (the exact name in ``scores``).

    Returns:
        the files written, markdown then html for each grading, sorted by student and assignment.
    """
    rows = gradings_of(scores, student)
    visible = for_students(checks_table(checks))
    written = []
    for _, row in rows.iterrows():
        mine = checks_of(visible, row)
        folder = Path(output) / slug(str(row["student"]))
        folder.mkdir(parents=True, exist_ok=True)
        name = slug(str(row["assignment"]))
        markdown = folder / f"{name}.md"
        markdown.write_text(feedback_markdown.render(row, mine), encoding="utf-8")
        page = folder / f"{name}.html"
        page.write_text(feedback_html.render(row, mine), encoding="utf-8")
        written += [markdown, page]
    return written
