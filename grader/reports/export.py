"""Grades for other systems: an LMS's grade import CSV (Canvas, Moodle, Gradescope's scores) and
Gradescope's autograder results.json."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from grader.files import written_whole
from grader.reports import summary
from grader.reports.cells import spreadsheet_text
from grader.reports.schema import (
    checks_of,
    checks_table,
    counted_rows,
    gradings_of,
    number,
    text,
)
from grader.reports.slugs import slug
from grader.reports.tables import gradebook
from grader.reports.visibility import for_students
from grader.roster import LAYOUTS, Layout, Roster


def lms_csv(scores: pd.DataFrame, roster: Roster, layout: Layout, output: Path) -> Path:
    """Write an LMS's grade file: ``layout``'s identity columns from the class list, then one
    column per assignment; one row per roster student, in roster order.

    A student with no submission has 0 (``scores`` holds their "no submission" row); one whose
    submission needs a regrade has an empty cell, so the LMS keeps no grade rather than a 0; a
    submission that matches no one on the roster is not written.

    Args:
        scores: one row per (student, assignment), the class list applied
            (grader.reports.classlist).
        roster: the class list.
        layout: the LMS's columns (grader.roster.LAYOUTS).
        output: the CSV file to write; its folder is created.

    Returns:
        ``output``.
    """
    on_list = scores[scores["roster_id"] != ""]
    book = gradebook(on_list.assign(student=on_list["roster_id"])) if not on_list.empty else None
    assignments = sorted(scores["assignment"].unique())
    rows = [(layout.cells(s), book.loc[s.id] if book is not None and s.id in book.index else None)
            for s in roster.students]
    return _grade_file(scores, layout.columns, layout.points_possible, rows, assignments, output)


def canvas_csv(scores: pd.DataFrame, output: Path) -> Path:
    """Write a CSV that Canvas's gradebook imports without a class list: the submission's
    folder name in Student and SIS Login ID (the other id columns empty), which Canvas knows
    only if the folders are named by login; ``lms_csv`` with a roster is the reliable way.

    Args:
        scores: one row per (student, assignment), the current grading.
        output: the CSV file to write; its folder is created.

    Returns:
        ``output``.
    """
    book = gradebook(scores)
    assignments = [column for column in book.columns if column != "total"]
    rows = [((str(student), "", "", str(student), ""), row) for student, row in book.iterrows()]
    return _grade_file(scores, LAYOUTS["canvas"].columns, True, rows, assignments, output)


def _grade_file(scores: pd.DataFrame, columns: tuple[str, ...], points_possible: bool,
                rows: list, assignments: list[str], output: Path) -> Path:
    possible = scores.groupby("assignment")["max_score"].max()
    output = Path(output)
    with written_whole(output) as partial, partial.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow([*columns, *assignments])
        if points_possible:
            writer.writerow(["Points Possible", *[""] * (len(columns) - 1),
                             *(number(possible[a]) for a in assignments)])
        for identity, row in rows:
            marks = [number(row[a]) if row is not None and a in row.index else ""
                     for a in assignments]
            writer.writerow([*map(spreadsheet_text, identity), *marks])
    return output


def gradescope_results(checks: pd.DataFrame, scores_row: pd.Series) -> dict[str, Any]:
    """Gradescope's results.json for one submission, as a dict ready for ``json.dumps``.

    One test per check that was not skipped, named "function: title" and numbered
    "function.check"; hidden checks show their title, status and points only. The top-level
    score is the gradebook's (so a manual override wins); a submission whose checks did not run
    (not_run, crashed) has no tests, and its status and reason as the output.

    Args:
        checks: the check rows of this one submission.
        scores_row: its row of the scores table.

    Returns:
        {"score", "execution_time", "output", "tests": [{"name", "number", "score",
        "max_score", "status", "output", "visibility"}]}.
    """
    if not summary.ran(scores_row):
        output = f"{summary.status_intro(scores_row)}\n{text(scores_row['reason'])}"
        return {"score": float(scores_row["score"]), "output": output, "tests": []}
    visible = for_students(checks_table(checks))
    tests = []
    for section, (_, group) in enumerate(summary.by_function(visible), start=1):
        tried = group[counted_rows(group)]
        tests += [
            _test(check, f"{section}.{n}") for n, (_, check) in enumerate(tried.iterrows(), 1)
        ]
    return {
        "score": _finite(scores_row["score"]),
        "execution_time": round(_finite(visible["duration"].sum())),
        "output": _overall(scores_row, tests),
        "tests": tests,
    }


def _test(check: pd.Series, number_: str) -> dict[str, Any]:
    passed = check["status"] == "passed"
    return {
        "name": f"{check['function']}: {text(check['title'])}",
        "number": number_,
        "score": _finite(check["points"]),
        "max_score": _finite(check["max_points"]),
        "status": "passed" if passed else "failed",
        "output": _test_output(check),
        "visibility": "visible",
    }


def _test_output(check: pd.Series) -> str:
    lines = [] if check["status"] == "passed" else [f"{check['status']}"]
    if text(check["message"]):
        lines.append(text(check["message"]))
    if text(check["hint"]):
        lines.append(f"Likely mistake: {text(check['hint'])}")
    return "\n".join(lines)


def _overall(row: pd.Series, tests: list[dict[str, Any]]) -> str:
    passed = sum(test["status"] == "passed" for test in tests)
    lines = [f"{summary.score_line(row)}. {passed} of {len(tests)} checks passed."]
    if summary.status_intro(row):  # it ran, but not all of it: its time ran out
        lines.append(f"{summary.status_intro(row)} {text(row['reason'])}")
    if summary.overridden(row):
        lines.append(summary.OVERRIDE_NOTE)
    return "\n".join(lines)


def _finite(value: object) -> float:
    # results.json must be strict JSON, which has no NaN
    number_ = float(value) if not pd.isna(value) else 0.0
    return number_ if math.isfinite(number_) else 0.0


def write_gradescope(
    scores: pd.DataFrame, checks: pd.DataFrame, output: Path, *, student: str | None = None
) -> list[Path]:
    """Write Gradescope results: one student's results.json, or one file per grading.

    Args:
        scores: one row per (student, assignment), the current grading.
        checks: one row per (student, assignment, check) of those gradings.
        output: with ``student``, the results.json file to write; without, a folder that gets
            ``<slug>/<assignment>.json`` per grading.
        student: the one student (exact name) to write; they must have a single grading.

    Returns:
        the files written.
    """
    rows = gradings_of(scores, student)
    checks = checks_table(checks)
    if student is not None and len(rows) > 1:
        names = ", ".join(map(str, rows["assignment"]))
        raise ValueError(
            f"{student!r} has gradings for {len(rows)} assignments ({names}); "
            "filter scores to one assignment to write a single results.json"
        )
    written = []
    for _, row in rows.iterrows():
        path = Path(output)
        if student is None:
            path = path / slug(str(row["student"])) / f"{slug(str(row['assignment']))}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        results = gradescope_results(checks_of(checks, row), row)
        path.write_text(json.dumps(results, indent=2, ensure_ascii=False, allow_nan=False))
        written.append(path)
    return written
