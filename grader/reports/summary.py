"""The parts of one student's feedback that markdown and html share: score, date, groups."""

from __future__ import annotations

import pandas as pd

from grader.courses.settings import days_begun
from grader.outcomes import SCORED, STATUS_MEANINGS
from grader.reports import causes
from grader.reports.schema import counted_rows, number, text

OVERRIDE_NOTE = "This score was set by hand, so it can differ from the sum of the checks below."
CHECK_OVERRIDE_NOTE = "(points set by hand)"
_INTROS = {str(status): f"{meaning}:" for status, meaning in STATUS_MEANINGS.items()}
_SCORED = {str(status) for status in SCORED}


def status_intro(row: pd.Series) -> str:
    """"" for a graded submission; else what its status means, to put before its reason."""
    return _INTROS.get(text(row["status"]), "")


def ran(row: pd.Series) -> bool:
    """Whether the submission's checks ran, so that listing them says anything."""
    return text(row["status"]) in _SCORED


def score_line(row: pd.Series) -> str:
    """ "Score: 2.5 / 6 (41.7%)" for a scores row; a late one's says what it cost:
    "Score: 3.6 / 6 (60.0%), late by 2 days: −20% of 4.5"."""
    percent = row["percent"]
    share = "" if pd.isna(percent) else f" ({float(percent):.1f}%)"
    return f"Score: {number(row['score'])} / {number(row['max_score'])}{share}{late_note(row)}"


def late_note(row: pd.Series) -> str:
    """", late by 2 days: −20% of 4.5" for a scores row that lost a late penalty, else ""."""
    penalty = row.get("late_penalty")
    if penalty is None or pd.isna(penalty) or float(penalty) <= 0:
        return ""
    days = days_begun(float(row["late_days"]))
    raw = number(row.get("raw_score"))
    of = f" of {raw}" if raw else ""
    return f", late by {days} day{'s' if days != 1 else ''}: \u2212{float(penalty) * 100:g}%{of}"


def maximum_note(checks: pd.DataFrame) -> str:
    """Which maximum the percentage uses, when checks were skipped: "" when none were."""
    skipped = checks[checks["status"] == "skipped"]
    if skipped.empty:
        return ""
    points = number(skipped["max_points"].sum())
    return (f"Out of the maximum on the machine that graded it: {len(skipped)} device checks "
            f"({points} points) ran without a GPU and count in neither score nor maximum.")


def graded_line(row: pd.Series) -> str:
    """When and against which version of the assignment the submission was graded."""
    when = pd.Timestamp(row["graded_at"]) if not pd.isna(row["graded_at"]) else None
    if when is not None:
        when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    parts = [f"Graded {when:%Y-%m-%d %H:%M} UTC" if when is not None else ""]
    if text(row["version"]):
        parts.append(f"assignment version {text(row['version'])}")
    return ", ".join(part for part in parts if part)


def points(check: pd.Series) -> str:
    """ "0.5/2 points" for a check row."""
    return f"{number(check['points'])}/{number(check['max_points'])} points"


def by_function(checks: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Checks grouped by function, functions in the order the grader ran them."""
    order = list(dict.fromkeys(checks["function"]))
    return [(str(function), checks[checks["function"] == function]) for function in order]


def function_points(checks: pd.DataFrame) -> str:
    """ "3/4" over one function's counted (not skipped) checks."""
    tried = checks[counted_rows(checks)]
    return f"{number(tried['points'].sum())}/{number(tried['max_points'].sum())}"


def failed_groups(failed: pd.DataFrame) -> tuple[list[pd.Series], dict[int, causes.Shared]]:
    """The failed checks as rows, and which of them share a cause (hidden checks never do)."""
    rows = [check for _, check in failed.iterrows()]
    visible = [not (pd.notna(check.get("hidden")) and bool(check.get("hidden"))) for check in rows]
    return rows, causes.shared([check.get("cause") for check in rows], visible)


def split(checks: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(passed, not passed, skipped) checks."""
    status = checks["status"]
    return (
        checks[status == "passed"],
        checks[~status.isin(["passed", "skipped"])],
        checks[status == "skipped"],
    )


def overridden(row: pd.Series) -> bool:
    """Whether a manual override changed this score or check."""
    value = row.get("overridden", False)
    return not pd.isna(value) and bool(value)
