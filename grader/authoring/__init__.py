"""Everything an assignment needs, in one import: the public API for course staff.

An assignment imports from here and nowhere else in ``grader``; docs/writing-assignments.md
walks through one. What is not listed here is internal and may change. Built on the runner's
probes, numeric and outcomes; it never imports grading, so checks cannot reach a worker.
"""

from grader.authoring import banned
from grader.authoring.assignment import Assignment
from grader.authoring.common_checks import (
    add_device_check,
    assert_autograd_matches_finite_differences,
    assert_gradients_match,
    assert_not_much_slower,
)
from grader.authoring.rules import add_from_scratch_check
from grader.numeric.compare import (
    Mistake,
    as_number,
    as_tensor,
    assert_close,
    describe,
    fail,
    shape,
)
from grader.numeric.gradcheck import (
    assert_derivative,
    autograd_derivative,
    band,
    central_difference,
    numeric_jacobian,
    relative_error,
)
from grader.outcomes.results import Category
from grader.runner.datasets import get as training_data
from grader.runner.probes import ProbeEnv

__all__ = [
    "Assignment",
    "banned",
    "Category",
    "Mistake",
    "ProbeEnv",
    "add_device_check",
    "add_from_scratch_check",
    "as_number",
    "as_tensor",
    "assert_autograd_matches_finite_differences",
    "assert_close",
    "assert_derivative",
    "assert_gradients_match",
    "assert_not_much_slower",
    "autograd_derivative",
    "band",
    "central_difference",
    "describe",
    "fail",
    "numeric_jacobian",
    "relative_error",
    "shape",
    "training_data",
]
