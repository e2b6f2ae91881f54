"""Results as text for people: checks grouped by function, points, messages and hints."""

from __future__ import annotations

from grader.authoring.assignment import Assignment
from grader.outcomes import (
    SCORED,
    STATUS_MEANINGS,
    CheckResult,
    Outcome,
    RunStatus,
    SubmissionResult,
    total,
)
from grader.outcomes.text import printable
from grader.reports import causes

_MARKS = {
    Outcome.PASSED: "PASS",
    Outcome.FAILED: "FAIL",
    Outcome.ERROR: "ERROR",
    Outcome.TIMEOUT: "TIMEOUT",
    Outcome.MISSING: "MISSING",
    Outcome.SKIPPED: "SKIP",
}


def _points(points: float) -> str:
    return f"{points:g}"


def submission(result: SubmissionResult) -> str:
    lines = [f"{result.assignment} · {printable(result.student)}", ""]
    if result.status is not RunStatus.GRADED:  # said once instead of on every check
        label = result.status.value.upper().replace("_", " ")
        lines += [f"{label}: {STATUS_MEANINGS[result.status]}",
                  f"{'':10}{printable(result.reason)}", ""]
    ran = result.status in SCORED
    for function, checks in result.by_function().items() if ran else ():
        got, out_of = total(checks)
        lines.append(f"{function}  {_points(got)}/{_points(out_of)}")
        lines += _function(checks)
        lines.append("")
    skipped = [c for c in result.checks if not c.counted]
    if skipped:
        reasons = sorted({printable(c.message) for c in skipped})
        lines.append(f"{len(skipped)} checks skipped: {'; '.join(reasons)}")
    percent = 100 * result.score / result.max_score if result.max_score else 0.0
    lines.append(
        f"score: {_points(result.score)} / {_points(result.max_score)} ({percent:.0f}%)"
    )
    return "\n".join(lines)


def _function(checks: list[CheckResult]) -> list[str]:
    counted = [c for c in checks if c.counted]
    groups = causes.shared([c.cause for c in counted],
                           [c.status is not Outcome.PASSED and not c.hidden for c in counted])
    lines = []
    for position, c in enumerate(counted):
        score = f"{_points(c.points)}/{_points(c.max_points)}"
        lines.append(f"  {_MARKS[c.status]:<8}{str(c.category):<12}{score:>7}  {c.title}")
        group = groups.get(position)
        if group is not None and group.first != position:
            lines.append(f"{'':10}{causes.again_line(counted[group.first].id)}")
            continue
        if c.message and c.status is not Outcome.PASSED:
            lines.append(f"{'':10}{printable(c.message)}")
        if c.hint:
            lines.append(f"{'':10}hint: {printable(c.hint)}")
        if group is not None:
            lines.append(f"{'':10}{causes.cost_line([counted[i].id for i in group.members])}")
    return lines


def assignment(a: Assignment, device: str = "cpu") -> str:
    """An assignment's functions, checks and points; its maximum graded on ``device`` too, when
    the device checks are not counted there."""
    here = a.max_score_on(device)
    also = "" if here == a.max_score else (
        f"; {_points(here)} graded without a GPU, as on this machine: its device checks are "
        "counted in neither score nor maximum")
    lines = [f"{a.name}: {a.title} ({a.student_file}, {_points(a.max_score)} points{also})"]
    for function in a.functions:
        checks = a.checks_for(function)
        total = sum(c.points for c in checks)
        lines.append(f"  {function}  ({len(checks)} checks, {_points(total)} points)")
        for c in checks:
            hidden = " [hidden]" if c.hidden else ""
            lines.append(
                f"    {str(c.category):<12}{_points(c.points):>4}  {c.id}{hidden}: {c.title}"
            )
    return "\n".join(lines)
