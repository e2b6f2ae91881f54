"""What `grader report`, `feedback`, `export` and `override` do, callable from Python.

Each opens the gradebook, builds its two tables (grader.reports.frames.tables) and hands them to
grader.reports, so every output agrees with the others. None of this imports torch.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pandas as pd

from grader import options, reports
from grader.gradebook import Gradebook
from grader.outcomes import UsageError
from grader.reports.frames import tables


def report(
    output: str | Path, fmt: str | None = None, *, db: str | None = None,
    assignment: str | None = None, course: str | None = None,
) -> Path:
    """Write the gradebook as csv, xlsx, parquet, json or html; ``fmt`` defaults to the suffix."""
    output = Path(output)
    fmt = fmt or output.suffix.lstrip(".").lower()
    if fmt not in options.REPORT_FORMATS:
        raise UsageError(f"cannot tell the format of {output.name!r}: pass --format "
                         f"({', '.join(options.REPORT_FORMATS)})")
    scores, checks = _tables(db, assignment, course, required=False)
    return reports.write_report(scores, checks, fmt, output)


def feedback(
    output: str | Path, *, db: str | None = None, assignment: str | None = None,
    student: str | None = None, course: str | None = None,
) -> list[Path]:
    """One markdown and one html file per student and assignment, under ``output``."""
    scores, checks = _tables(db, assignment, course)
    return _call(reports.write_feedback, scores, checks, Path(output), student=student)


def export(
    fmt: str, output: str | Path, *, db: str | None = None, assignment: str | None = None,
    student: str | None = None, course: str | None = None,
) -> list[Path]:
    """A Canvas gradebook CSV, or Gradescope results.json files (one, with ``student``)."""
    if fmt not in options.EXPORT_FORMATS:
        raise UsageError(f"unknown export {fmt!r}: use {' or '.join(options.EXPORT_FORMATS)}")
    scores, checks = _tables(db, assignment, course)
    if fmt == "canvas":
        return [reports.canvas_csv(_only(scores, student), Path(output))]
    return _call(reports.write_gradescope, scores, checks, Path(output), student=student)


def override(
    student: str, assignment: str, points: float, *, by: str, reason: str,
    check_id: str | None = None, db: str | None = None, course: str | None = None,
) -> int:
    """Record a manual score that wins over the grader's; returns the override's id."""
    with Gradebook(db, create=False) as gradebook:
        name = _course(gradebook, course)
        _known(gradebook, name, assignment)
        return gradebook.override(student, assignment, points, by=by, reason=reason,
                                  check_id=check_id, course=name or options.BUILTIN_COURSE)


def _course(gradebook: Gradebook, where: str | None) -> str | None:
    """The course whose runs to read: the one named (a folder, an installed course, or a name
    the gradebook holds), else $GRADER_COURSE's, else the gradebook's only one; None while it
    holds none."""
    held = gradebook.courses()
    where = options.course(where)
    if where is None:
        if len(held) > 1:
            raise UsageError(f"the gradebook {gradebook.url} holds several courses "
                             f"({', '.join(held)}): choose one with --course")
        return held[0] if held else None
    if where in held:
        return where
    from grader.courses.locate import course_name

    return course_name(where)


def _known(gradebook: Gradebook, course: str | None, assignment: str | None) -> None:
    """The one lookup of an assignment named on the command line: it must be in the gradebook,
    and a near miss is named ("linre": did you mean linreg?)."""
    if assignment is None:
        return
    known = gradebook.assignment_names(course)
    if assignment not in known:
        close = difflib.get_close_matches(assignment, known, n=1)
        guess = f"; did you mean {close[0]}?" if close else ""
        holds = ", ".join(known) or "nothing graded yet"
        raise UsageError(f"no assignment {assignment!r} in the gradebook {gradebook.url} "
                         f"(it holds: {holds}){guess}")


def _tables(db: str | None, assignment: str | None, course: str | None, *,
            required: bool = True):
    with Gradebook(db, create=False) as gradebook:
        name = _course(gradebook, course)
        _known(gradebook, name, assignment)
        scores, checks = tables(gradebook, assignment, course=name)
    if required and scores.empty:
        where = f" for {assignment}" if assignment else ""
        raise UsageError(f"the gradebook {gradebook.url} holds no graded submissions{where}")
    return scores, checks


def _only(scores: pd.DataFrame, student: str | None) -> pd.DataFrame:
    if student is None:
        return scores
    if student not in set(scores["student"]):
        raise UsageError(f"no student {student!r} in the gradebook")
    return scores[scores["student"] == student]


def _call(write, *args, **kwargs) -> list[Path]:
    try:
        return write(*args, **kwargs)
    except ValueError as err:  # an unknown student, or one with several assignments
        raise UsageError(str(err)) from None
