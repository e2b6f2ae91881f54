"""Declaring assignments: the registry refuses bad declarations; hidden checks hide inputs."""

from __future__ import annotations

import ast

import pytest
import torch
from helpers import LINREG_FILE, REFERENCE_FILE, REPO

from grader.api import Grader
from grader.authoring.assignment import Assignment, AssignmentError
from grader.courses.course import open_course
from grader.numeric.compare import assert_close
from grader.outcomes.results import Category, Outcome


def _assignment() -> Assignment:
    return Assignment(
        name="tiny", title="a test assignment", student_file=LINREG_FILE,
        reference="grader.builtin.reference.linear_regression",
        functions=("linreg", "squared_loss"),
    )


def test_every_shipped_check_has_a_title_a_category_and_positive_points():
    assignments = open_course().assignments
    assert {"linreg", "softmax", "gradients"} <= set(assignments)
    for assignment in assignments.values():
        assert assignment.checks
        for check in assignment.checks:
            assert check.title and check.title[-1] == ".", check.id
            assert isinstance(check.category, Category)
            assert check.points > 0
        assert {c.function for c in assignment.checks} == set(assignment.functions)


def test_a_check_without_a_docstring_is_refused():
    def no_doc(student, ref):
        pass

    with pytest.raises(AssignmentError, match="needs a docstring"):
        _assignment().check(function="linreg", category="correctness", points=1)(no_doc)


@pytest.mark.parametrize("kwargs, message", [
    ({"function": "softmax", "category": "correctness", "points": 1}, "not in tiny"),
    ({"function": "linreg", "category": "correctness", "points": 0}, "positive points"),
    ({"function": "linreg", "category": "style", "points": 1}, "is not a valid Category"),
])
def test_bad_declarations_are_refused(kwargs, message):
    def documented(student, ref):
        """Does something."""

    with pytest.raises((AssignmentError, ValueError), match=message):
        _assignment().check(**kwargs)(documented)


def test_two_checks_with_one_name_are_refused():
    assignment = _assignment()

    def twice(student, ref):
        """Checked twice."""

    assignment.check(function="linreg", category="correctness", points=1)(twice)
    with pytest.raises(AssignmentError, match="already has a check named twice"):
        assignment.check(function="linreg", category="gradient", points=1)(twice)


def test_the_version_changes_when_a_check_changes():
    first, second = _assignment(), _assignment()

    def a(student, ref):
        """One."""

    def b(student, ref):
        """Two."""
        return 1

    first.check(function="linreg", category="correctness", points=1)(a)
    second.check(function="linreg", category="correctness", points=1)(b)
    assert first.version != second.version


def test_a_hidden_check_never_shows_its_inputs(make_submission, data_root):
    assignment = _assignment()

    @assignment.check(function="linreg", category="correctness", points=2, hidden=True)
    def linreg_on_secret_inputs(student, ref):
        """linreg matches the reference on inputs students do not see."""
        X, w, b = torch.full((3, 2), 123.456), torch.ones(2, 1), torch.zeros(1)
        assert_close(student.linreg(X, w, b), ref.linreg(X, w, b), what="linreg(SECRET)")

    @assignment.check(function="squared_loss", category="correctness", points=1)
    def squared_loss_visible(student, ref):
        """squared_loss matches the reference."""
        y_hat, y = torch.ones(3, 1), torch.zeros(3)
        assert_close(student.squared_loss(y_hat, y), ref.squared_loss(y_hat, y))

    source = REFERENCE_FILE.read_text()
    source = source.replace("torch.matmul(X, w) + b", "torch.matmul(X, w) + b + 1")
    assert "+ b + 1" in source
    folder = make_submission({LINREG_FILE: source})
    with Grader(assignment, device="cpu", data_root=data_root) as grader:
        result = grader.grade(folder)
    hidden, visible = result.checks
    assert (hidden.status, hidden.hidden, hidden.points) == (Outcome.FAILED, True, 0.0)
    assert "SECRET" not in hidden.message and "123" not in hidden.message
    assert "hidden" in hidden.message and hidden.hint == ""
    assert visible.status is Outcome.PASSED
    assert (result.score, result.max_score) == (1.0, 3.0)


@pytest.mark.parametrize("package", sorted(p.parent.name for p in (REPO / "assignments").glob(
    "*/__init__.py")))
def test_assignments_use_the_public_api_alone(package):
    """The proof that a course can add an assignment: it imports nothing else from grader."""
    imported = set()
    for path in (REPO / "assignments" / package).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(a.name for a in node.names)
    assert {m for m in imported if m.split(".")[0] == "grader"} == {"grader.authoring"}
