"""The example course examples/courses/d2l-en-1.0: chapter 3 in d2l-en 1.0's conventions.

It validates; its reference earns full marks; and each course's reference, graded in the other
course, loses points on exactly the functions whose convention differs, with a hint naming it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import REPO, counted, not_passed, report

from grader.api import Grader
from grader.courses.course import open_course
from grader.grading.validation import validate_course
from grader.outcomes import Category, Outcome, SubmissionResult

COURSE = REPO / "examples" / "courses" / "d2l-en-1.0"
BUILTIN_REFERENCE = REPO / "reference"
CONVENTION = "averaged over the batch (d2l-en 1.0)"


@dataclass(frozen=True)
class Editions:
    """Where the two editions of one assignment disagree."""

    student_file: str
    # functions whose results differ between the editions
    differ: frozenset[str]
    # functions that call those: they fail in one direction or the other, through them
    callers: frozenset[str] = frozenset()
    # functions left out of the cross-grading: their check trains on Fashion-MNIST for seconds
    slow: frozenset[str] = frozenset()


EDITIONS = {
    "linreg": Editions("linear_regression.py", frozenset({"squared_loss", "sgd"}),
                       callers=frozenset({"train_linreg"})),
    "softmax": Editions("softmax_regression.py",
                        frozenset({"cross_entropy", "softmax_cross_entropy", "accuracy"}),
                        callers=frozenset({"evaluate_accuracy", "train_epoch_ch3", "train_ch3"}),
                        slow=frozenset({"train_ch3"})),
    "gradients": Editions("gradients.py",
                          frozenset({"squared_loss_grad", "softmax_cross_entropy_grad"})),
}


@pytest.fixture(scope="module")
def grader(data_root) -> Iterator[Callable[[str, Path | None], Grader]]:
    """``grader(assignment, course)``: one CPU grader per pair for the module (None: built-in)."""
    started: dict[tuple[str, Path | None], Grader] = {}
    with ExitStack() as stack:

        def get(assignment: str, course: Path | None) -> Grader:
            if (assignment, course) not in started:
                made = Grader(assignment, course=None if course is None else str(course),
                              device="cpu", data_root=data_root)
                started[assignment, course] = stack.enter_context(made)
            return started[assignment, course]

        yield get


@pytest.fixture(scope="module")
def grade(grader, tmp_path_factory) -> Callable[..., SubmissionResult]:
    """``grade(file, assignment, course)``: ``file`` handed in as the assignment's student file,
    graded on the CPU once per module, on every function but the slow ones unless ``whole``."""
    graded: dict[tuple, SubmissionResult] = {}

    def run(file: Path, assignment: str, course: Path | None, *, whole: bool = False):
        key = (file, assignment, course, whole)
        if key not in graded:
            editions = EDITIONS[assignment]
            folder = tmp_path_factory.mktemp(assignment)
            shutil.copyfile(file, folder / editions.student_file)
            chosen = grader(assignment, course)
            functions = None if whole else [f for f in chosen.assignment.functions
                                            if f not in editions.slow]
            graded[key] = chosen.grade(folder, functions=functions)
        return graded[key]

    return run


def _by_id(result: SubmissionResult) -> dict[str, tuple[Outcome, str]]:
    return {c.id: (c.status, c.hint) for c in result.checks}


def _failing_functions(result: SubmissionResult) -> set[str]:
    return {c.function for c in not_passed(result)}


# --- the course as a whole -------------------------------------------------------------------


def test_the_course_has_the_builtin_assignments_files_and_functions():
    course, builtin = open_course(COURSE), open_course(None)
    assert course.broken == {}
    assert sorted(course.assignments) == sorted(builtin.assignments) == sorted(EDITIONS)
    for name, mine in course.assignments.items():
        theirs = builtin.get(name)
        assert mine.student_file == theirs.student_file == EDITIONS[name].student_file
        assert (mine.functions, mine.banned) == (theirs.functions, theirs.banned)
        assert [t.parent.name for t in mine.templates()] == ["template"]  # its own docstrings


@pytest.mark.slow
def test_the_course_validates(data_root):
    # The reference earns full marks, the templates zero, each known mistake fails exactly the
    # checks its expect.toml lists, with the convention in the hint.
    assert [str(p) for p in validate_course(COURSE, data_root=data_root)] == []


@pytest.mark.parametrize("assignment", [
    "linreg",
    pytest.param("softmax", marks=pytest.mark.slow),  # trains on Fashion-MNIST
    "gradients",
])
def test_the_reference_earns_full_marks_on_the_cpu(grade, assignment):
    result = grade(COURSE / assignment / "reference.py", assignment, COURSE, whole=True)
    assert not_passed(result) == [], report(not_passed(result))
    cpu_points = sum(c.max_points for c in result.checks if c.category is not Category.DEVICE)
    assert result.score == result.max_score == cpu_points > 0
    assert {c.status for c in result.checks if c.category is Category.DEVICE} == {Outcome.SKIPPED}
    functions = open_course(COURSE).get(assignment).functions
    assert {c.function for c in counted(result)} == set(functions)  # each has a check that ran


# --- one edition's code in the other's course --------------------------------------------------


@pytest.mark.parametrize("assignment", sorted(EDITIONS))
def test_first_edition_code_loses_points_here_on_the_convention_functions(grade, assignment):
    file = BUILTIN_REFERENCE / EDITIONS[assignment].student_file
    result = grade(file, assignment, COURSE)
    failing = _failing_functions(result)
    editions = EDITIONS[assignment]
    assert editions.differ <= failing <= editions.differ | editions.callers, report(
        not_passed(result))


@pytest.mark.parametrize("assignment", sorted(EDITIONS))
def test_this_courses_code_loses_points_in_the_builtin_course_on_the_same_functions(
    grade, assignment
):
    result = grade(COURSE / assignment / "reference.py", assignment, None)
    failing = _failing_functions(result)
    editions = EDITIONS[assignment]
    assert editions.differ <= failing <= editions.differ | editions.callers, report(
        not_passed(result))


# check id -> (status, a phrase of its hint), for the first edition's code graded here
HINTS_HERE = {
    "linreg": {
        "squared_loss_matches_the_reference": (Outcome.FAILED, CONVENTION),
        "squared_loss_gradients_are_right": (Outcome.FAILED, CONVENTION),
        "sgd_steps_by_lr_times_grad": (Outcome.FAILED, "does not divide by batch_size"),
        "train_linreg_recovers_the_true_parameters": (Outcome.PASSED, ""),
    },
    "softmax": {
        "cross_entropy_matches_the_reference": (Outcome.FAILED, CONVENTION),
        "softmax_cross_entropy_matches_pytorch": (Outcome.FAILED, CONVENTION),
        "accuracy_is_the_fraction_correct": (Outcome.FAILED, "is a fraction (d2l-en 1.0)"),
        "evaluate_accuracy_counts_examples_not_batches": (Outcome.FAILED, "fraction"),
        "train_epoch_ch3_trains_and_reports_like_the_reference": (
            Outcome.FAILED, "minibatch's mean (d2l-en 1.0)"),
        # the updater contract is the same in both editions
        "train_epoch_ch3_passes_the_actual_batch_size": (Outcome.PASSED, ""),
    },
    "gradients": {
        "softmax_cross_entropy_grad_matches_autograd_and_differences": (
            Outcome.FAILED, CONVENTION),
        "squared_loss_grad_matches_autograd_and_differences": (Outcome.FAILED, CONVENTION),
    },
}
# ... and for this course's code graded in the built-in course
HINTS_THERE = {
    "linreg": {
        "squared_loss_matches_the_reference": (Outcome.FAILED, "as d2l-en 1.0 does"),
        "sgd_steps_by_lr_times_grad_over_batch_size": (Outcome.FAILED, "not divided by"),
        # backward on the built-in stand-in's per-example losses
        "train_linreg_steps_by_each_minibatch_size": (Outcome.ERROR, "backward needs a scalar"),
    },
    "softmax": {
        "cross_entropy_matches_the_reference": (Outcome.FAILED, "as d2l-en 1.0 does"),
        "accuracy_counts_correct_predictions": (Outcome.FAILED, "count of correct"),
        "train_epoch_ch3_trains_and_reports_like_the_reference": (
            Outcome.ERROR, "backward needs a scalar"),
    },
    "gradients": {
        "softmax_cross_entropy_grad_matches_autograd_and_differences": (
            Outcome.FAILED, "without averaging"),
        "squared_loss_grad_matches_autograd_and_differences": (
            Outcome.FAILED, "each example's own gradient"),
    },
}


@pytest.mark.parametrize("assignment", sorted(EDITIONS))
def test_the_convention_checks_name_the_other_edition(grade, assignment):
    here = grade(BUILTIN_REFERENCE / EDITIONS[assignment].student_file, assignment, COURSE)
    there = grade(COURSE / assignment / "reference.py", assignment, None)
    for result, expected in ((here, HINTS_HERE[assignment]), (there, HINTS_THERE[assignment])):
        found = _by_id(result)
        for check_id, (status, phrase) in expected.items():
            assert check_id in found, f"{check_id} was not graded"
            got_status, hint = found[check_id]
            assert got_status is status, f"{check_id}: {got_status}, {hint}"
            assert phrase in hint, f"{check_id}: {hint!r} does not say {phrase!r}"
