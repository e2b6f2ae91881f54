"""Opening a course: import each assignment folder as a package of its own, apply course.toml.

A course folder is imported under a package name made from its name and its path
(``grader_course_my_course_1a2b3c4d``), so two courses that both have ``hw1/checks.py`` never
meet in ``sys.modules``. One broken assignment is recorded with its reason and the others load.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import re
import sys
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path

from grader import builtin, options
from grader.authoring.assignment import Assignment
from grader.authoring.origin import AssignmentError, Origin, loading
from grader.courses import settings as course_toml
from grader.courses.locate import course_folder
from grader.courses.settings import CourseError, CourseSettings


@dataclass(frozen=True)
class Broken:
    """Why an assignment did not load: where (a file, with its line when known), and what."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Course:
    """A course and its assignments, by name; ``broken`` says why the others did not load."""

    name: str
    title: str
    folder: Path
    package: str
    settings: CourseSettings
    assignments: dict[str, Assignment] = field(default_factory=dict)
    broken: dict[str, Broken] = field(default_factory=dict)

    def get(self, name: str) -> Assignment:
        """The assignment ``name``; AssignmentError says why not, with the names it knows."""
        if name in self.assignments:
            return self.assignments[name]
        if name in self.broken:
            raise AssignmentError(f"course {self.name}: assignment {name} cannot be loaded: "
                                  f"{self.broken[name]}")
        known = ", ".join(sorted(self.assignments)) or "none"
        raise AssignmentError(f"course {self.name} has no assignment {name!r}; known: {known}")

    @property
    def version(self) -> str:
        """A hash of course.toml and every assignment's version."""
        digest = hashlib.sha256((self.folder / course_toml.FILE).read_bytes())
        for name, assignment in sorted(self.assignments.items()):
            digest.update(f"|{name}={assignment.version}".encode())
        for name, reason in sorted(self.broken.items()):
            digest.update(f"|{name}!{reason}".encode())
        return digest.hexdigest()[:16]


_opened: dict[Path, Course] = {}


def open_course(where: str | Path | None = None) -> Course:
    """The course ``where`` names (a folder, an installed course's name, or None for
    $GRADER_COURSE or the built-in course), imported once per process."""
    folder = course_folder(where)
    if folder not in _opened:
        _opened[folder] = _load(folder)
    return _opened[folder]


def _load(folder: Path) -> Course:
    settings = course_toml.read(folder)
    builtin_course = folder == builtin.folder("assignments").resolve()
    if builtin_course and settings.name != options.BUILTIN_COURSE:
        raise CourseError(f"{folder / course_toml.FILE}: the built-in course is named "
                          f"{options.BUILTIN_COURSE}, not {settings.name}")
    package = _package(settings.name, folder)
    root = types.ModuleType(package, f"The course {settings.name} ({folder}).")
    root.__path__ = [str(folder)]
    sys.modules[package] = root
    course = Course(settings.name, settings.title, folder, package, settings)
    names = sorted(p.name for p in folder.iterdir()
                   if (p / "__init__.py").is_file() and p.name.isidentifier()
                   and not p.name.startswith("_"))
    if not names:
        raise CourseError(f"course {settings.name} ({folder}) has no assignments: an assignment "
                          "is a folder with an __init__.py")
    for name in names:
        try:
            course.assignments[name] = _assignment(course, name)
        except Exception as err:  # one broken assignment must not stop the others
            course.broken[name] = _reason(err, folder / name)
    return course


def _package(name: str, folder: Path) -> str:
    slug = re.sub(r"\W+", "_", name.lower()).strip("_")[:32]
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:8]
    return f"grader_course_{slug}_{digest}"


def _assignment(course: Course, name: str) -> Assignment:
    folder = course.folder / name
    settings = course.settings.of(name)
    origin = Origin(course.name, f"{course.package}.{name}", folder, settings.reference,
                    settings.template, settings.table)
    with loading(origin):
        module = importlib.import_module(origin.package)
    assignment = getattr(module, "assignment", None)
    if not isinstance(assignment, Assignment):
        raise AssignmentError(f"{folder / '__init__.py'}: defines no "
                              "`assignment = Assignment(...)`")
    if assignment.name != name:
        raise AssignmentError(f"{folder / '__init__.py'}: the assignment is named "
                              f"{assignment.name!r}, its folder {name!r}; make them the same")
    if not assignment.checks:
        raise AssignmentError(f"{folder}: no checks (does __init__.py end with "
                              "`from . import checks`?)")
    _apply(assignment, settings, course.folder / course_toml.FILE)
    return assignment


def _apply(assignment: Assignment, settings: course_toml.AssignmentSettings, path: Path) -> None:
    """What course.toml changes this term: the title, the points, hidden checks, the budget."""
    unknown = sorted(set(settings.hidden_checks) - {c.id for c in assignment.checks})
    if unknown:
        raise AssignmentError(f"{path}: [{assignment.name}] hidden_checks names "
                              f"{unknown[0]!r}, which is not a check of {assignment.name}")
    if settings.title:
        assignment.title = settings.title
    if settings.time_budget is not None:
        assignment.time_budget = float(settings.time_budget)
    assignment.notebook_drop_calls += settings.notebook_drop_calls
    hidden, scale = set(settings.hidden_checks), settings.points_scale
    assignment.replace_checks(lambda c: dataclasses.replace(
        c, points=round(c.points * scale, 6), hidden=c.hidden or c.id in hidden))


def _reason(err: Exception, folder: Path) -> Broken:
    """The file and line in the assignment where it failed, and the error in one line."""
    where = str(folder / "__init__.py")
    if isinstance(err, SyntaxError) and err.filename:
        where = f"{err.filename}:{err.lineno}"
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        if Path(frame.filename).resolve().is_relative_to(folder.resolve()):
            where = f"{frame.filename}:{frame.lineno}"
            break
    message = str(err).splitlines()[0] if str(err) else ""
    if isinstance(err, (AssignmentError, CourseError)):
        return Broken(where, message)
    return Broken(where, f"{type(err).__name__}: {message}")
