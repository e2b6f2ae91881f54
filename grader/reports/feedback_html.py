"""One grading as a self-contained html page: ``feedback`` prepares what the page says, and
``templates/feedback.html`` (whose body is ``feedback_body.html``) writes it, escaped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from grader.reports import causes, summary, templates
from grader.reports.schema import text


@dataclass(frozen=True)
class CheckLine:
    """One check in its function's list."""

    outcome: Literal["passed", "failed", "skipped"]
    status: str  # the check's own status: passed, failed, error, timeout, missing, skipped...
    points: str  # "0.5/2 points", then "(points set by hand)" when staff set them
    title: str
    message: str  # without its outer blank lines; "" for none
    hint: str  # "" for none
    again: str  # "same cause as ..." at a later check of a shared cause (said instead of
    #             its message and hint); else ""
    cost: str  # "one cause, 3 checks: ..." at the first check of a shared cause; else ""


@dataclass(frozen=True)
class FunctionChecks:
    """A function's checks: passed, then not passed, then skipped."""

    name: str
    points: str  # "3/4" over its counted checks
    checks: tuple[CheckLine, ...]


@dataclass(frozen=True)
class Feedback:
    """What one grading's feedback page says; "" for a line it does not have."""

    heading: str  # "linreg: feedback for alice"
    score: str  # "Score: 2.5 / 6 (41.7%)"
    maximum_note: str  # which maximum the percentage uses, when device checks were skipped
    override_note: str  # that staff set the score by hand
    graded: str  # when, and against which version of the assignment
    status_intro: str  # what its status means, when it did not simply run
    reason: str  # why, shown under status_intro
    functions: tuple[FunctionChecks, ...]  # empty when its checks did not run


def render(row: pd.Series, checks: pd.DataFrame) -> str:
    """Html feedback for the scores ``row`` and its (already student-visible) ``checks``."""
    return templates.render("feedback.html", feedback=feedback(row, checks))


def feedback(row: pd.Series, checks: pd.DataFrame) -> Feedback:
    """The feedback for the scores ``row`` and its (already student-visible) ``checks``, as
    ``feedback_body.html`` takes it in its variable ``feedback``."""
    return Feedback(
        heading=f"{text(row['assignment'])}: feedback for {text(row['student'])}",
        score=summary.score_line(row),
        maximum_note=summary.maximum_note(checks),
        override_note=summary.OVERRIDE_NOTE if summary.overridden(row) else "",
        graded=summary.graded_line(row),
        status_intro=summary.status_intro(row),
        reason=text(row["reason"]),
        functions=tuple(
            FunctionChecks(function, summary.function_points(group), _lines(group))
            for function, group in (summary.by_function(checks) if summary.ran(row) else ())
        ),
    )


def _lines(checks: pd.DataFrame) -> tuple[CheckLine, ...]:
    passed, failed, skipped = summary.split(checks)
    lines = [_line(check, "passed") for _, check in passed.iterrows()]
    rows, groups = summary.failed_groups(failed)
    for position, check in enumerate(rows):
        again = cost = ""
        group = groups.get(position)
        if group is not None and group.first != position:
            again = causes.again_line(text(rows[group.first]["title"]))
        elif group is not None:
            cost = causes.cost_line([text(rows[i]["title"]) for i in group.members])
        lines.append(_line(check, "failed", again=again, cost=cost))
    lines += [_line(check, "skipped") for _, check in skipped.iterrows()]
    return tuple(lines)


def _line(check: pd.Series, outcome: Literal["passed", "failed", "skipped"], *,
          again: str = "", cost: str = "") -> CheckLine:
    note = f" {summary.CHECK_OVERRIDE_NOTE}" if summary.overridden(check) else ""
    return CheckLine(
        outcome=outcome, status=str(check["status"]), points=summary.points(check) + note,
        title=text(check["title"]), message=text(check["message"]).strip("\n"),
        hint=text(check["hint"]).strip(), again=again, cost=cost,
    )
