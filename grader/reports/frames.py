"""The gradebook as pandas tables: the current run per student and assignment, overrides applied.

The current run is the newest one, except that a run needing a regrade (the grader failed on
it) gives way to any run that graded the same submission; a current run needing a regrade has
no score, and says why. A late run's score is after the course's late penalty
(``AssignmentSettings.penalty``), its ``raw_score`` before. Every report and export starts from
these two tables, so they all agree.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from grader.courses.settings import CourseSettings
from grader.gradebook.models import (
    AssignmentRow,
    CheckResultRow,
    OverrideRow,
    RunRow,
    StudentRow,
    SubmissionRow,
)
from grader.gradebook.store import Gradebook
from grader.outcomes import NEEDS_REGRADE, RESULT_COLUMNS, RunStatus, penalised
from grader.reports.schema import CHECK_COLUMNS, SCORE_COLUMNS, counted_rows


def tables(
    gradebook: Gradebook, assignment: str | None = None, *, course: str | None = None,
    settings: CourseSettings | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scores, checks): one row per (student, assignment), and one per check of those runs,
    of ``course`` (a course's name; None: every run, for a gradebook of one course).

    ``settings`` is that course's course.toml, whose ``late_penalty`` per assignment is taken
    from late runs' scores; None takes none (``late_days`` is still there to see).
    """
    runs = _current_runs(gradebook, course, assignment)
    checks = _checks(gradebook, runs)
    overrides = _overrides(gradebook, course, assignment)
    checks = _override_checks(checks, overrides)
    scores = _scores(runs, checks, overrides, settings)
    return scores, checks


def run_tables(gradebook: Gradebook, run_id: int, *,
               settings: CourseSettings | None = None) -> tuple[pd.Series, pd.DataFrame] | None:
    """One run as (its scores row, its checks), as ``tables`` makes them, whether or not it is
    the current run: the grading of one upload, as the service's result page shows it. Its late
    penalty is taken (``settings``); overrides, which are about the student's current score,
    are not. None when there is no such run."""
    runs = _frame(gradebook, _runs_query().where(RunRow.id == run_id))
    if runs.empty:
        return None
    runs["status"] = runs["status"].map(str)
    checks = _checks(gradebook, runs)
    none = pd.DataFrame(columns=["student", "assignment", "check_id", "points", "id"])
    scores = _scores(runs, checks, none, settings)
    return scores.iloc[0], checks


def _runs_query():
    return (
        select(
            StudentRow.name.label("student"), SubmissionRow.assignment, RunRow.score,
            RunRow.max_score, RunRow.status, RunRow.finished_at.label("graded_at"),
            AssignmentRow.version, RunRow.id.label("run_id"), SubmissionRow.content_hash,
            RunRow.error.label("reason"), RunRow.late_days,
        )
        .join(RunRow.submission).join(SubmissionRow.student).join(RunRow.assignment)
    )


def _current_runs(gradebook: Gradebook, course: str | None,
                  assignment: str | None) -> pd.DataFrame:
    query = _runs_query()
    if course is not None:
        query = query.where(SubmissionRow.course == course)
    if assignment is not None:
        query = query.where(SubmissionRow.assignment == assignment)
    runs = _frame(gradebook, query)
    if runs.empty:
        return runs
    # a gradebook from before not_run stored "error" for a submission nothing of which ran
    runs["status"] = runs["status"].map(str).replace({str(RunStatus.ERROR): str(RunStatus.NOT_RUN)})
    keys = ["student", "assignment", "content_hash"]
    regrade = runs["status"] == str(NEEDS_REGRADE)
    graded = pd.MultiIndex.from_frame(runs.loc[~regrade, keys])
    superseded = regrade & pd.MultiIndex.from_frame(runs[keys]).isin(graded)
    runs = runs[~superseded].sort_values("run_id").groupby(["student", "assignment"]).tail(1)
    return runs.sort_values(["student", "assignment"])


def _checks(gradebook: Gradebook, runs: pd.DataFrame) -> pd.DataFrame:
    if runs.empty:
        return pd.DataFrame(columns=list(CHECK_COLUMNS))
    query = select(
        CheckResultRow.run_id, *(getattr(CheckResultRow, column) for column in RESULT_COLUMNS),
    ).where(CheckResultRow.run_id.in_(runs["run_id"].tolist())).order_by(CheckResultRow.id)
    rows = _frame(gradebook, query)
    for column in ("category", "status"):
        rows[column] = rows[column].map(str)
    rows = rows.merge(runs[["run_id", "student", "assignment"]], on="run_id")
    rows["overridden"] = False
    return rows[list(CHECK_COLUMNS)].reset_index(drop=True)


def _overrides(gradebook: Gradebook, course: str | None, assignment: str | None) -> pd.DataFrame:
    """The newest override per (student, assignment, check); check_id "" is the whole score."""
    query = select(
        StudentRow.name.label("student"), OverrideRow.assignment, OverrideRow.check_id,
        OverrideRow.points, OverrideRow.id,
    ).join(OverrideRow.student)
    if course is not None:
        query = query.where(OverrideRow.course == course)
    if assignment is not None:
        query = query.where(OverrideRow.assignment == assignment)
    rows = _frame(gradebook, query)
    rows["check_id"] = rows["check_id"].fillna("")
    return rows.sort_values("id").groupby(["student", "assignment", "check_id"]).tail(1)


def _override_checks(checks: pd.DataFrame, overrides: pd.DataFrame) -> pd.DataFrame:
    per_check = overrides[overrides["check_id"] != ""]
    if checks.empty or per_check.empty:
        return checks
    keys = ["student", "assignment", "check_id"]
    merged = checks.merge(per_check[[*keys, "points"]], on=keys, how="left",
                          suffixes=("", "_override"))
    hit = merged["points_override"].notna()
    merged.loc[hit, "points"] = merged.loc[hit, "points_override"]
    merged.loc[hit, "overridden"] = True
    return merged[list(CHECK_COLUMNS)]


def _scores(runs: pd.DataFrame, checks: pd.DataFrame, overrides: pd.DataFrame,
            settings: CourseSettings | None) -> pd.DataFrame:
    if runs.empty:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    scores = runs.copy()
    counted = checks[counted_rows(checks) | checks["overridden"]]
    sums = counted.groupby("run_id")["points"].sum()
    overridden = checks.groupby("run_id")["overridden"].any()
    has_checks = scores["run_id"].isin(sums.index)
    scores.loc[has_checks, "score"] = scores.loc[has_checks, "run_id"].map(sums).round(6)
    scores["overridden"] = scores["run_id"].isin(overridden[overridden].index)
    whole = overrides[overrides["check_id"] == ""].set_index(["student", "assignment"])["points"]
    keys = list(zip(scores["student"], scores["assignment"], strict=True))
    manual = pd.Series([whole.get(k) for k in keys], index=scores.index, dtype=float)
    unscored = (scores["status"] == str(NEEDS_REGRADE)) & manual.isna()
    scores.loc[unscored, ["score", "max_score"]] = float("nan")  # no score from a broken grader
    scores.loc[manual.notna(), "score"] = manual[manual.notna()]
    scores.loc[manual.notna(), "overridden"] = True
    _penalise(scores, settings, whole_override=manual.notna())
    scores["percent"] = (100 * scores["score"] / scores["max_score"].where(
        scores["max_score"] > 0)).round(2)
    scores["graded_at"] = pd.to_datetime(scores["graded_at"], utc=True)
    scores["roster_id"] = scores["name"] = ""  # who they are: grader.reports.classlist
    return scores[list(SCORE_COLUMNS)].reset_index(drop=True)


def _penalise(scores: pd.DataFrame, settings: CourseSettings | None,
              whole_override: pd.Series) -> None:
    """Keep the score as raw_score and take each run's late penalty from it."""
    scores["late_days"] = scores["late_days"].astype(float).fillna(0.0)
    scores["late_penalty"] = [
        0.0 if settings is None else settings.of(str(assignment)).penalty(late)
        for assignment, late in zip(scores["assignment"], scores["late_days"], strict=True)
    ]
    # A whole-score override is course staff's final word, lateness weighed: nothing on top.
    scores.loc[whole_override, "late_penalty"] = 0.0
    scores["raw_score"] = scores["score"]
    scores["score"] = [penalised(score, penalty) for score, penalty
                       in zip(scores["raw_score"], scores["late_penalty"], strict=True)]


def _frame(gradebook: Gradebook, query) -> pd.DataFrame:
    with gradebook.session() as session:
        result = session.execute(query)
        return pd.DataFrame(result.all(), columns=list(result.keys()))
