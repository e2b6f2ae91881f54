"""Finding assignments: the course's, by the name on the command line, and its starter files."""

from __future__ import annotations

import shutil
from pathlib import Path

from grader import options
from grader.authoring.assignment import Assignment
from grader.courses.course import Course, open_course
from grader.data import fashion_mnist
from grader.grading.intake import NOTEBOOK
from grader.notebooks import starter_notebook
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
                    course: str | Path | None = None, notebook: bool = False) -> list[Path]:
    """Copy the starter files (of ``assignment``, or of every assignment) into a new folder;
    refuses to overwrite a file. ``notebook``: each starter .py becomes a Jupyter notebook of the
    same stem (a cell per function, its contract above it)."""
    opened: Course = open_course(course)
    chosen = [opened.get(assignment)] if assignment else list(opened.assignments.values())
    starters = {_starter_name(f, notebook): (a, f) for a in chosen for f in a.templates()}
    if not starters:
        raise UsageError(f"course {opened.name} has no starter files"
                         + (f" for {assignment}" if assignment else ""))
    folder = Path(folder)
    clashes = [folder / name for name in starters if (folder / name).exists()]
    if clashes:
        raise UsageError(f"{clashes[0]} already exists; choose an empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    for name, (owner, f) in starters.items():
        if name == f.name:
            shutil.copyfile(f, folder / name)
        else:
            import nbformat  # only when a notebook is asked for

            nbformat.write(starter_notebook(f.read_text(), title=owner.title), folder / name)
    return [folder / name for name in starters]


def _starter_name(template: Path, notebook: bool) -> str:
    return template.with_suffix(NOTEBOOK).name if notebook and template.suffix == ".py" \
        else template.name
