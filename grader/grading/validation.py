"""``grader course validate``: what a course's authors must know before students see it.

Every assignment imports; every function has a check and every banned call a rules check;
every check has a title; the stand-ins agree with the reference on the samples the checks run;
the reference earns full marks on the CPU, the starter files zero with every check missing; and
each known mistake under ``ASSIGNMENT/mistakes/NAME/`` fails exactly the checks its
``expect.toml`` lists (``fail = [...]``, optionally ``hint_contains = "..."``).
"""

from __future__ import annotations

import copy
import importlib
import inspect
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from grader.authoring.assignment import Assignment
from grader.courses.course import Course, open_course
from grader.courses.settings import CourseError, read_toml
from grader.grading.grader import Grader
from grader.numeric.compare import CheckFailed, assert_close
from grader.outcomes import UNCOUNTED, Category, Outcome, SubmissionResult

EXPECT = "expect.toml"
MISTAKES = "mistakes"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a course, and the file where to fix it."""

    file: Path  # its line too (checks.py:12), where the line is known
    assignment: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: [{self.assignment}] {self.message}"


def validate_course(
    folder: str | Path, *, data_root: str | Path | None = None,
    on_assignment: Callable[[str], None] = lambda name: None,
) -> list[Problem]:
    """Every problem of the course in ``folder``; an empty list when all is well.

    Raises CourseError when ``folder`` is no course at all (no folder, no course.toml).
    """
    course = open_course(Path(folder))
    problems = [Problem(Path(broken.where), name, broken.message)
                for name, broken in sorted(course.broken.items())]
    for name, assignment in sorted(course.assignments.items()):
        on_assignment(name)
        problems += _declared(assignment)
        problems += _standins(assignment)
        problems += _graded(course, assignment, data_root)
    return problems


def _declared(a: Assignment) -> Iterator[Problem]:
    init = a.origin.folder / "__init__.py"
    for function in a.functions:
        if not a.checks_for(function):
            yield Problem(init, a.name, f"{function} has no check")
    for c in a.checks:
        if not c.title.strip():
            yield Problem(_file_of(c.run, init), a.name, f"check {c.id} has no title")
    for function in a.banned:
        if not any(c.category is Category.RULES for c in a.checks_for(function)):
            yield Problem(init, a.name, f"{function} bans calls but has no rules check "
                                        "(add_from_scratch_check)")


def _standins(a: Assignment) -> Iterator[Problem]:
    if not a.standins:
        return
    standins, reference = importlib.import_module(a.standins), a.reference_module()
    file = Path(getattr(standins, "__file__", None) or a.origin.folder)
    for function in a.functions:
        mine = getattr(standins, function, None)
        if not callable(mine):
            yield Problem(file, a.name, f"the stand-ins have no {function}")
            continue
        for i, sample in enumerate(a.samples.get(function, ())):
            torch.manual_seed(i)
            args = sample()
            theirs = copy.deepcopy(args)  # each on its own copy: sgd updates in place
            what = f"the stand-in {function} on sample {i + 1}"
            try:
                got, expected = mine(*args), getattr(reference, function)(*theirs)
                if got is None and expected is None:  # compare what it did to its arguments
                    got, expected = _tensors(args), _tensors(theirs)
                    what = f"{what}, its tensor arguments after the call"
                _same(got, expected, what)
            except Exception as err:  # a CheckFailed, or whatever the stand-in raised
                yield Problem(file, a.name, _first_line(err))


def _tensors(value) -> list[torch.Tensor]:
    """The tensors in nested lists and tuples, in order."""
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    return [value] if isinstance(value, torch.Tensor) else []


def _same(got, expected, what: str) -> None:
    """Equal within float tolerance, element by element for a tuple (adagrad's (param, state))."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            raise CheckFailed(f"{what} returns {type(got).__name__}, the reference a "
                              f"{type(expected).__name__} of {len(expected)}")
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            _same(g, e, f"{what}, item {i}")
        return
    assert_close(got, expected, what=what)


def _graded(course: Course, a: Assignment, data_root) -> Iterator[Problem]:
    """The reference, the starter files and every known mistake, graded on the CPU."""
    with tempfile.TemporaryDirectory(prefix="grader-validate-") as scratch, \
            Grader(a, device="cpu", data_root=data_root) as grader:
        submission = Path(scratch) / "reference"
        submission.mkdir()
        reference = Path(a.reference_module().__file__)
        shutil.copyfile(reference, submission / a.student_file)
        result = grader.grade(submission, student="reference")
        for c in result.checks:
            if c.status is not Outcome.PASSED and c.status not in UNCOUNTED:
                yield Problem(reference, a.name, f"the reference does not pass {c.id}: "
                                                 f"{c.status}: {_first_line(c.message)}")
        yield from _template(a, Path(scratch) / "template", grader)
        for folder in sorted((a.origin.folder / MISTAKES).glob("*/")):
            yield from _mistake(a, folder, grader)


def _template(a: Assignment, submission: Path, grader: Grader) -> Iterator[Problem]:
    templates = a.templates()
    init = a.origin.folder / "__init__.py"
    if a.student_file not in {t.name for t in templates}:
        yield Problem(init, a.name, f"the starter files have no {a.student_file}")
        return
    submission.mkdir()
    for t in templates:
        shutil.copyfile(t, submission / t.name)
    result = grader.grade(submission, student="template")
    file = next(t for t in templates if t.name == a.student_file)
    if result.score:
        yield Problem(file, a.name, f"the starter file earns {result.score:g} points; it "
                                    "must earn 0")
    for c in result.checks:
        if c.status is not Outcome.MISSING and c.status not in UNCOUNTED:
            yield Problem(file, a.name, f"on the starter file {c.id} is {c.status}, not "
                                        f"missing: {_first_line(c.message)}")


def _mistake(a: Assignment, folder: Path, grader: Grader) -> Iterator[Problem]:
    expect = folder / EXPECT
    try:
        wanted = read_toml(expect)
    except CourseError as err:
        yield Problem(expect, a.name, f"cannot be read: {_first_line(err)}")
        return
    unknown = sorted(set(wanted) - {"fail", "hint_contains"})
    fail = wanted.get("fail")
    if unknown or not isinstance(fail, list) or not all(isinstance(f, str) for f in fail):
        detail = f"unknown key {unknown[0]!r}" if unknown else "needs fail = [\"check_id\", ...]"
        yield Problem(expect, a.name, detail)
        return
    ids = {c.id for c in a.checks}
    for check_id in sorted(set(fail) - ids):
        yield Problem(expect, a.name, f"{check_id} is not a check of {a.name}")
    result = grader.grade(folder, student=f"mistake {folder.name}")
    failed = {c.id for c in result.checks
              if c.status is not Outcome.PASSED and c.status not in UNCOUNTED}
    name = f"the mistake {folder.name}"
    for check_id in sorted((set(fail) & ids) - failed):
        yield Problem(expect, a.name, f"{name} passes {check_id}, which it should fail")
    for c in (c for c in result.checks if c.id in failed - set(fail)):
        yield Problem(expect, a.name, f"{name} also fails {c.id} ({c.status}: "
                                      f"{_first_line(c.message)})")
    hint = wanted.get("hint_contains")
    if hint and not _says(result, failed, str(hint)):
        yield Problem(expect, a.name, f"no failed check of {name} says {hint!r}")


def _says(result: SubmissionResult, failed: set[str], text: str) -> bool:
    return any(text in f"{c.message}\n{c.hint}" for c in result.checks if c.id in failed)


def _file_of(run: Callable, default: Path) -> Path:
    try:
        return Path(inspect.getsourcefile(run) or default)
    except TypeError:
        return default


def _first_line(value) -> str:
    lines = str(value).strip().splitlines()
    return lines[0] if lines else type(value).__name__
