"""The columns the reports read, in the order the long tables are written."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from grader.outcomes import RESULT_COLUMNS, UNCOUNTED

SCORE_COLUMNS = (
    "student",  # the submission's folder or zip name (a roster id where nothing was handed in)
    "roster_id",  # the class list's id for it; "" without a roster, or when it matches no one
    "name",  # the class list's name for it, likewise
    "assignment",
    "score",  # after the late penalty: what every report, feedback and export gives
    "max_score",
    "percent",  # of score
    "raw_score",  # before the late penalty (a whole-score override: the override)
    "late_days",  # days after the deadline it was handed in, fractional; 0 on time
    "late_penalty",  # the fraction of raw_score taken for them, 0 to 1
    "status",
    "graded_at",
    "version",
    "run_id",
    "content_hash",
    "reason",  # why, unless graded: not_run, timed_out, crashed, infrastructure_error
    "overridden",
)

# The status of a class-list student who handed in nothing for an assignment (never a run's).
NO_SUBMISSION = "no_submission"

# Whose check, in which run, then a check result's own columns (grader.outcomes), then whether
# course staff overrode its points.
CHECK_COLUMNS = ("student", "assignment", "run_id", *RESULT_COLUMNS, "overridden")


def require_columns(frame: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    """Raise ValueError naming the columns ``frame`` lacks."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} is missing the columns {', '.join(missing)}")


def long_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """The scores table with exactly SCORE_COLUMNS, one row per student and assignment."""
    require_columns(scores, SCORE_COLUMNS, "scores")
    ordered = scores.loc[:, list(SCORE_COLUMNS)].sort_values(["student", "assignment"])
    return ordered.reset_index(drop=True)


def counted_rows(checks: pd.DataFrame) -> pd.Series:
    """Which check rows count towards the score and the maximum (not UNCOUNTED, i.e. skipped)."""
    return ~checks["status"].isin([str(status) for status in UNCOUNTED])


def text(value: object) -> str:
    """A text cell as a string: missing values (None, NaN) read as empty."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def number(value: object) -> str:
    """Points as people write them: 2, 0.5, 7.25; empty when missing."""
    if value is None or pd.isna(value):
        return ""
    return f"{float(value):g}"


def gradings_of(scores: pd.DataFrame, student: str | None) -> pd.DataFrame:
    """The scores rows to report on, sorted; ValueError when ``student`` has none."""
    if scores.empty and student is None:
        return scores
    require_columns(scores, SCORE_COLUMNS, "scores")
    rows = scores if student is None else scores[scores["student"] == student]
    if rows.empty:
        raise ValueError(f"no gradings for student {student!r}; check the exact spelling")
    return rows.sort_values(["student", "assignment"])


def checks_of(checks: pd.DataFrame, row: pd.Series) -> pd.DataFrame:
    """The checks of the grading in ``row`` (same student, assignment and run), in order."""
    same = (
        (checks["student"] == row["student"])
        & (checks["assignment"] == row["assignment"])
        & (checks["run_id"] == row["run_id"])
    )
    return checks[same]


def checks_table(checks: pd.DataFrame) -> pd.DataFrame:
    """``checks`` with CHECK_COLUMNS checked; an empty frame (even columnless) as a typed one."""
    # a batch where every submission failed to unpack has no check rows, maybe no columns
    if checks.empty:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in CHECK_COLUMNS})
    require_columns(checks, CHECK_COLUMNS, "checks")
    return checks
