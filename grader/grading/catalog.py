"""Finding assignments: the course's, by the name on the command line, and its starter files."""

from __future__ import annotations

import shutil
from pathlib import Path

from grader import options
from grader.authoring.assignment import Assignment
from grader.courses.course import Course, open_course
from grader.data import fashion_mnist
from grader.outcomes import UsageError


def get_assignment(name: str, course: str | Path | None = None) -> Assignment:
    """The assignment ``name`` of ``course`` (a folder or an installed course's name; None:
    $GRADER_COURSE, else the built-in course)."""
    return open_course(course).get(name)


def load(name: str, *, course: str | Path | None = None,
         data_root: str | Path | None = None) -> Assignment:
    """The assignment called ``name``, once the data it trains on is known to be there."""
    assignment = get_assignment(name, course)
    if assignment.datasets:
        fashion_mnist.check_files(options.data_root(data_root))
    return assignment


def list_assignments(course: str | Path | None = None) -> list[Assignment]:
    """The course's assignments that load (``open_course(...).broken`` has the others)."""
    return list(open_course(course).assignments.values())


def init_submission(folder: str | Path, *, assignment: str | None = None,
                    course: str | Path | None = None) -> list[Path]:
    """Copy the starter files (of ``assignment``, or of every assignment) into a new folder;
    refuses to overwrite a file."""
    opened: Course = open_course(course)
    chosen = [opened.get(assignment)] if assignment else list(opened.assignments.values())
    files = [f for a in chosen for f in a.templates()]
    if not files:
        raise UsageError(f"course {opened.name} has no starter files"
                         + (f" for {assignment}" if assignment else ""))
    folder = Path(folder)
    clashes = [folder / f.name for f in files if (folder / f.name).exists()]
    if clashes:
        raise UsageError(f"{clashes[0]} already exists; choose an empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copyfile(f, folder / f.name)
    return [folder / f.name for f in files]
