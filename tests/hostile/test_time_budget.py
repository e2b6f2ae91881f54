"""A slow but correct submission costs at most its time budget, not one timeout per check
(issue 20, item 3).

Before the budget, code that slept on every call passed every check, each just inside its own
timeout, and a linreg submission could hold a grading slot for the sum of them (280 s). Here
every function sleeps a second per call under a budget of a few seconds: the checks that start
before the budget runs out are graded as usual, the rest time out without running.
"""

from __future__ import annotations

import copy
import math

import pytest
from helpers import LINREG_FILE, REFERENCE_FILE

from grader import options
from grader.grading.catalog import get_assignment
from grader.grading.grader import Grader
from grader.outcomes.results import Outcome

SLEEP = 1.0  # seconds, on every call of every graded function
BUDGET = 4.0  # seconds for the whole submission

SLOW = f"""

import functools as _functools
import time as _time


def _slowly(function):
    @_functools.wraps(function)
    def slow(*args, **kwargs):
        _time.sleep({SLEEP})
        return function(*args, **kwargs)
    return slow


for _name in ("synthetic_data", "data_iter", "linreg", "squared_loss", "sgd", "train_linreg",
              "normal_equation", "huber_loss"):
    globals()[_name] = _slowly(globals()[_name])
"""


def _linreg(budget: float | None):
    assignment = copy.copy(get_assignment("linreg"))  # the course's own stays as it is
    assignment.time_budget = budget
    return assignment


def test_the_checks_after_the_budget_time_out_without_running(tmp_path, data_root):
    (tmp_path / LINREG_FILE).write_text(REFERENCE_FILE.read_text() + SLOW)
    with Grader(_linreg(BUDGET), device="cpu", data_root=data_root) as grader:
        result = grader.grade(tmp_path)
    checks = [c for c in result.checks if c.status is not Outcome.SKIPPED]
    over = [c for c in checks if "used up its time budget of 4 s" in c.message]
    ran = [c for c in checks if c not in over]
    # each check that ran made at least one call, a second each: no more than the budget's worth
    # of them can have started, and the one running when it ran out is cut short
    assert 1 <= len(ran) <= math.ceil(BUDGET / SLEEP) + 1, [c.id for c in ran]
    assert len(over) == len(checks) - len(ran) > len(checks) / 2
    assert all(c.status is Outcome.TIMEOUT and c.points == 0 for c in over)
    assert checks[: len(ran)] == ran  # the budget runs out once: nothing runs after it
    assert any(c.status is Outcome.PASSED for c in ran)  # slow is not wrong


def test_without_a_declared_budget_it_is_measured_on_the_reference(data_root):
    assignment = _linreg(None)
    with Grader(assignment, device="cpu", data_root=data_root) as grader:
        budget = grader.time_budget()
    longest = max(c.timeout for c in assignment.checks)
    assert budget >= max(options.TIME_BUDGET_FLOOR, longest)
    # a budget measured on a reference that grades in about a second on this machine, not
    # the sum of the check timeouts it replaces
    assert budget < sum(c.timeout for c in assignment.checks)


@pytest.mark.parametrize("name", ["linreg", "softmax", "gradients"])
def test_the_built_in_course_declares_each_budget(name):
    assignment = get_assignment(name)
    assert assignment.time_budget is not None
    assert assignment.time_budget >= max(c.timeout for c in assignment.checks)
