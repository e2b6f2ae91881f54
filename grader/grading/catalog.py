"""Finding assignments: every package of the built-in course, by the name on the command line."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import shutil
from pathlib import Path

from grader import builtin, options
from grader.authoring.assignment import Assignment, AssignmentError
from grader.data import fashion_mnist
from grader.outcomes import UsageError

log = logging.getLogger(__name__)


def load_assignments() -> dict[str, Assignment]:
    """Every assignment package of the built-in course, by name."""
    package = importlib.import_module(builtin.ASSIGNMENTS)
    found: dict[str, Assignment] = {}
    for info in pkgutil.iter_modules(package.__path__):
        try:
            module = importlib.import_module(f"{builtin.ASSIGNMENTS}.{info.name}")
        except Exception as err:  # one broken assignment must not stop grading of the others
            log.error("assignments/%s cannot be loaded: %s: %s", info.name, type(err).__name__, err)
            continue
        assignment = getattr(module, "assignment", None)
        if not isinstance(assignment, Assignment):
            raise AssignmentError(f"assignments/{info.name} defines no `assignment`")
        if assignment.name in found:
            raise AssignmentError(f"two assignments are named {assignment.name!r}")
        found[assignment.name] = assignment
    return found


def get_assignment(name: str) -> Assignment:
    assignments = load_assignments()
    try:
        return assignments[name]
    except KeyError:
        known = ", ".join(sorted(assignments))
        raise AssignmentError(f"unknown assignment {name!r}; known: {known}") from None


def load(name: str, *, data_root: str | Path | None = None) -> Assignment:
    """The assignment called ``name``, once the data it trains on is known to be there."""
    assignment = get_assignment(name)
    if assignment.datasets:
        fashion_mnist.check_files(options.data_root(data_root))
    return assignment


def list_assignments() -> list[Assignment]:
    return list(load_assignments().values())


def init_submission(folder: str | Path) -> list[Path]:
    """Copy the starter files into a new folder; refuses to overwrite a file."""
    folder = Path(folder)
    files = sorted(f for f in builtin.folder("student_template").glob("*.py")
                   if not f.name.startswith("_"))
    clashes = [folder / f.name for f in files if (folder / f.name).exists()]
    if clashes:
        raise UsageError(f"{clashes[0]} already exists; choose an empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copyfile(f, folder / f.name)
    return [folder / f.name for f in files]
