"""Choosing how student code is confined: strict where this machine allows it. No torch here."""

from __future__ import annotations

import warnings

from grader import options
from grader.outcomes import UsageError
from grader.runner import sandbox


class IsolationWarning(UserWarning):
    """Student code will run with less isolation than strict, because this machine lacks parts."""


def choose_isolation(requested: str | None = options.ISOLATION) -> str:
    """``strict`` where this machine allows it; ``auto`` falls back to ``basic`` with a warning.

    Asking for ``strict`` where it is impossible is an error: grading never runs with less
    isolation than asked for.
    """
    requested = requested or options.ISOLATION
    if requested not in options.ISOLATION_LEVELS:
        raise UsageError(f"unknown isolation {requested!r}: use "
                         f"{', '.join(options.ISOLATION_LEVELS)}")
    if requested == "basic":
        return "basic"
    found = sandbox.support()
    if found.strict:
        return "strict"
    missing = "; ".join(found.missing)
    if requested == "strict":
        raise UsageError(f"strict isolation is not possible here, missing: {missing} "
                          "(see `grader doctor`)")
    warnings.warn(
        f"student code runs with BASIC isolation only (a process and rlimits): it can read "
        f"files and reach the network. Missing: {missing}. See `grader doctor`.",
        IsolationWarning, stacklevel=3,
    )
    return "basic"
