"""Helpers for the tests: paths, and building a submission from the reference's source."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from grader.outcomes.results import Category, CheckResult, Outcome, SubmissionResult

REPO = Path(__file__).resolve().parent.parent
REFERENCE_FILE = REPO / "reference" / "linear_regression.py"
TEMPLATE_DIR = REPO / "student_template"
LINREG_FILE = "linear_regression.py"


def replace_function(source: str, name: str, replacement: str) -> str:
    """``source`` with the top-level function ``name`` swapped for ``replacement``'s text.

    The replacement may also hold imports or helpers: it is pasted where the function was.
    """
    tree = ast.parse(source)
    nodes = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
    if len(nodes) != 1:
        raise LookupError(f"{name} is defined {len(nodes)} times at top level, expected once")
    node = nodes[0]
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
    lines = source.splitlines(keepends=True)
    new = textwrap.dedent(replacement).strip("\n") + "\n"
    return "".join(lines[:start]) + new + "".join(lines[node.end_lineno :])


def counted(result: SubmissionResult) -> list[CheckResult]:
    """Device checks are skipped on a CPU-only grader; everything else counts."""
    checks = [c for c in result.checks if c.status is not Outcome.SKIPPED]
    assert {c.category for c in result.checks if c.status is Outcome.SKIPPED} <= {Category.DEVICE}
    return checks


def not_passed(result: SubmissionResult) -> list[CheckResult]:
    return [c for c in counted(result) if c.status is not Outcome.PASSED]


def report(checks: list[CheckResult]) -> str:
    """What went wrong, for the assertion message."""
    return "\n".join(f"{c.id} ({c.function}, {c.category}) {c.status}: {c.message} | hint: "
                     f"{c.hint}" for c in checks)


def course_module(assignment: str, module: str):
    """A module of a built-in assignment's folder (``checks``, ``standins``), as the course
    loader imported it."""
    import importlib

    from grader.grading.catalog import get_assignment

    return importlib.import_module(f"{get_assignment(assignment).origin.package}.{module}")


def cpu_points(assignment: str) -> float:
    """An assignment's maximum on a CPU: every check but the device ones."""
    from grader.grading.catalog import get_assignment

    return sum(c.points for c in get_assignment(assignment).checks
               if c.category is not Category.DEVICE)
