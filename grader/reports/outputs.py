"""What `grader report`, `feedback`, `export` and `override` do, callable from Python.

Each opens the gradebook, builds its two tables (grader.reports.frames.tables) and hands them to
grader.reports, so every output agrees with the others. None of this imports torch.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from grader import options, reports
from grader.courses.settings import CourseError, CourseSettings
from grader.gradebook import Gradebook
from grader.outcomes import NEEDS_REGRADE, UsageError
from grader.reports.classlist import on_roster
from grader.reports.frames import tables
from grader.reports.schema import NO_SUBMISSION
from grader.roster import LAYOUTS, Roster, read_roster

# The LMS whose grade file each CSV export writes (the gradescope export is its autograder's).
_LMS = {"canvas": "canvas", "moodle": "moodle", "gradescope-scores": "gradescope"}


@dataclass(frozen=True)
class Regrade:
    """A submission the grader failed on: no score until a batch grades it again."""

    student: str
    assignment: str
    reason: str


@dataclass(frozen=True)
class Written:
    """What a report, feedback or export wrote, and what in it a TA must act on."""

    paths: tuple[Path, ...]
    needs_regrade: tuple[Regrade, ...] = ()
    roster: str = ""  # the class list applied; "" when there was none
    unmatched: tuple[str, ...] = ()  # submissions that match no one on it: never exported
    missing: tuple[str, ...] = ()  # "name (id)" of its students with no submission
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Class:
    """The gradebook's two tables, with the class list applied when there is one."""

    scores: pd.DataFrame
    checks: pd.DataFrame
    roster: Roster | None = None
    unmatched: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    @property
    def handed_in(self) -> pd.DataFrame:
        """The scores of submissions: without the class list's "no submission" rows, which
        have no feedback and no results to show."""
        return self.scores[self.scores["status"] != NO_SUBMISSION]

    def written(self, paths, *warnings: str) -> Written:
        return Written(tuple(paths), _needing_regrade(self.scores),
                       self.roster.source if self.roster else "", self.unmatched, self.missing,
                       tuple(warnings))


def report(
    output: str | Path, fmt: str | None = None, *, db: str | None = None,
    assignment: str | None = None, course: str | None = None, roster: str | Path | None = None,
) -> Written:
    """Write the gradebook as csv, xlsx, parquet, json or html; ``fmt`` defaults to the suffix.
    With a class list (``roster``, else one imported into the gradebook), every student on it
    has a row, 0 and "no submission" where they handed in nothing."""
    output = Path(output)
    fmt = fmt or output.suffix.lstrip(".").lower()
    if fmt not in options.REPORT_FORMATS:
        raise UsageError(f"cannot tell the format of {output.name!r}: pass --format "
                         f"({', '.join(options.REPORT_FORMATS)})")
    graded = _tables(db, assignment, course, roster, required=False)
    return graded.written([reports.write_report(graded.scores, graded.checks, fmt, output)])


def class_scores(db: str | None, course: str | None) -> pd.DataFrame:
    """Each student's current score per assignment, as every report counts it: late penalties
    taken, overrides applied, the imported class list's students with no submission
    included (SCORE_COLUMNS)."""
    return _tables(db, None, course, None, required=False).scores


def _needing_regrade(scores: pd.DataFrame) -> tuple[Regrade, ...]:
    if scores.empty:
        return ()
    rows = scores[scores["status"] == str(NEEDS_REGRADE)]
    return tuple(Regrade(str(r.student), str(r.assignment), str(r.reason))
                 for r in rows.itertuples())


def feedback(
    output: str | Path, *, db: str | None = None, assignment: str | None = None,
    student: str | None = None, course: str | None = None, roster: str | Path | None = None,
) -> Written:
    """One markdown and one html file per submission and assignment, under ``output``."""
    graded = _tables(db, assignment, course, roster)
    return graded.written(_call(reports.write_feedback, graded.handed_in, graded.checks,
                                Path(output), student=student))


def export(
    fmt: str, output: str | Path, *, db: str | None = None, assignment: str | None = None,
    student: str | None = None, course: str | None = None, roster: str | Path | None = None,
) -> Written:
    """A grade file for an LMS (canvas, moodle, gradescope-scores: one CSV, identities from the
    class list), or Gradescope autograder results.json files (one, with ``student``)."""
    if fmt not in options.EXPORT_FORMATS:
        raise UsageError(f"unknown export {fmt!r}: use {', '.join(options.EXPORT_FORMATS)}")
    graded = _tables(db, assignment, course, roster)
    if fmt == "gradescope":
        return graded.written(_call(reports.write_gradescope, graded.handed_in, graded.checks,
                                    Path(output), student=student))
    scores = _only(graded.scores, student)
    if graded.roster is not None:
        layout = LAYOUTS[_LMS[fmt]]
        return graded.written([reports.lms_csv(scores, graded.roster, layout, Path(output))])
    if fmt != "canvas":
        raise UsageError(f"a {fmt} grade file names students as {fmt} knows them: pass the "
                         "class list with --roster FILE, or import it once with "
                         "`grader roster import FILE`")
    return graded.written([reports.canvas_csv(scores, Path(output))],
                          "no class list: the Student and SIS Login ID columns hold submission "
                          "folder names, which Canvas may not know (pass --roster FILE)")


def override(
    student: str, assignment: str, points: float, *, by: str, reason: str,
    check_id: str | None = None, db: str | None = None, course: str | None = None,
) -> int:
    """Record a manual score that wins over the grader's; returns the override's id."""
    with Gradebook(db, create=False) as gradebook:
        name = course_of(gradebook, course)
        known_assignment(gradebook, name, assignment)
        return gradebook.override(student, assignment, points, by=by, reason=reason,
                                  check_id=check_id, course=name or options.BUILTIN_COURSE)


@dataclass(frozen=True)
class Imported:
    students: int
    gradebook: str  # its URL, as shown to people
    course: str


def import_roster(file: str | Path, *, db: str | None = None,
                  course: str | None = None) -> Imported:
    """Store the class list in ``file`` as the course's, replacing the one before: what
    ``grader roster import`` does, and the web service on a new term."""
    chosen = read_roster(file)  # a bad roster is refused before the gradebook is touched
    with Gradebook(db) as gradebook:
        name = course_of(gradebook, course) or options.BUILTIN_COURSE
        return Imported(gradebook.set_roster(name, chosen), gradebook.url, name)


def course_of(gradebook: Gradebook, where: str | None) -> str | None:
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


def _course_settings(where: str | None, name: str | None) -> CourseSettings | None:
    """The course.toml of the course ``name`` whose runs are read (for its late penalties),
    read without importing the course: the folder or installed course ``where`` (or
    $GRADER_COURSE, or the built-in course) names, else an installed course called ``name``;
    None where neither is that course."""
    if name is None:
        return None
    from grader.courses.locate import course_folder
    from grader.courses.settings import read

    for candidate in (where, name):
        try:
            settings = read(course_folder(candidate))
        except CourseError:
            continue
        if settings.name == name:
            return settings
    return None


def known_assignment(gradebook: Gradebook, course: str | None, assignment: str | None) -> None:
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


def _tables(db: str | None, assignment: str | None, course: str | None,
            roster: str | Path | None, *, required: bool = True) -> _Class:
    with Gradebook(db, create=False) as gradebook:
        name = course_of(gradebook, course)
        known_assignment(gradebook, name, assignment)
        settings = _course_settings(course, name)
        scores, checks = tables(gradebook, assignment, course=name, settings=settings)
        chosen = read_roster(roster) if roster is not None else gradebook.roster(
            name or options.BUILTIN_COURSE)
    if settings is None and bool((scores["late_days"] > 0).any()):
        raise UsageError(f"the gradebook {gradebook.url} holds late submissions of course "
                         f"{name}, whose course.toml (and late_penalty) cannot be found: pass "
                         "its folder with --course")
    if required and scores.empty:
        where = f" for {assignment}" if assignment else ""
        raise UsageError(f"the gradebook {gradebook.url} holds no graded submissions{where}")
    if chosen is None or scores.empty:
        return _Class(scores, checks)
    applied = on_roster(scores, chosen)
    return _Class(applied.scores, checks, chosen, applied.unmatched,
                  tuple(f"{s.name} ({s.id})" for s in applied.missing))


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
