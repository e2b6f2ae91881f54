"""Class-level tables: the gradebook and an item analysis of every check."""

from __future__ import annotations

import math

import pandas as pd

from grader.outcomes import RunStatus
from grader.reports.schema import counted_rows, require_columns, text

ITEM_COLUMNS = (
    "assignment",
    "check_id",
    "function",
    "title",
    "category",
    "max_points",
    "attempts",
    "pass_rate",
    "mean_points",
    "common_message",
    "common_message_count",
    "common_hints",
)

_TOP_HINTS = 3


def gradebook(scores: pd.DataFrame) -> pd.DataFrame:
    """Scores with a row per student and a column per assignment, plus their total.

    Args:
        scores: one row per (student, assignment), with at least student, assignment, score.

    Returns:
        a frame indexed by student (sorted), one column per assignment (sorted) holding the
        score, NaN where the student has no grading, and a last column "total" summing them.
    """
    require_columns(scores, ("student", "assignment", "score"), "scores")
    _refuse_duplicates(scores)
    table = scores.pivot(index="student", columns="assignment", values="score")
    table = table.sort_index(axis=0).sort_index(axis=1).astype(float)
    table.columns.name = None
    table["total"] = table.sum(axis=1)
    return table


def _refuse_duplicates(scores: pd.DataFrame) -> None:
    repeated = scores[scores.duplicated(["student", "assignment"], keep=False)]
    if not repeated.empty:
        first = repeated.iloc[0]
        raise ValueError(
            f"scores has {len(repeated)} rows for the same student and assignment, such as "
            f"({first['student']!r}, {first['assignment']!r}); keep only the current grading"
        )


def graded_checks(checks: pd.DataFrame, scores: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The checks of graded submissions only, and what was left out: a zero from a submission
    that never ran says nothing about how hard a check is.

    Returns:
        (the checks, "" or a sentence such as "left out: 2 not run, 1 timed out").
    """
    require_columns(scores, ("run_id", "status"), "scores")
    graded = scores.loc[scores["status"] == RunStatus.GRADED, "run_id"]
    others = scores.loc[scores["status"] != RunStatus.GRADED, "status"].value_counts().sort_index()
    left = ", ".join(f"{count} {status.replace('_', ' ')}" for status, count in others.items())
    return (checks[checks["run_id"].isin(graded)] if "run_id" in checks else checks,
            f"left out: {left}" if left else "")


def item_analysis(checks: pd.DataFrame) -> pd.DataFrame:
    """How the class did on each check, hardest first within each assignment.

    Args:
        checks: one row per (student, assignment, check) of the current gradings.

    Returns:
        one row per (assignment, check_id) attempted at least once, with the columns
        ITEM_COLUMNS: attempts counts the rows that were not skipped, pass_rate is the
        fraction of them that passed (0 to 1), mean_points their mean points,
        common_message the message that the most of the rows that did not pass share and
        common_message_count how many share it ("" and 0 unless two or more do: a message seen
        once is no pattern), and common_hints the three most frequent non-empty hints among
        the rows that did not pass, as "hint (×count)" joined by " | ". Sorted by assignment,
        then pass_rate ascending, then check_id.
    """
    needed = ("assignment", "check_id", "function", "title", "category", "status", "points")
    require_columns(checks, (*needed, "max_points", "message", "hint"), "checks")
    groups = checks.groupby(["assignment", "check_id"], sort=True)
    items = pd.DataFrame([_item(key, group) for key, group in groups], columns=ITEM_COLUMNS)
    # a check no one attempted (a device check graded without a GPU) says nothing of anyone
    items = items[items["attempts"] > 0]
    items = items.sort_values(["assignment", "pass_rate", "check_id"], na_position="last")
    return items.reset_index(drop=True)


def _item(key: tuple[str, str], group: pd.DataFrame) -> dict[str, object]:
    tried = group[counted_rows(group)]
    passed = tried["status"] == "passed"
    return {
        "assignment": key[0],
        "check_id": key[1],
        "function": group["function"].iloc[0],
        "title": text(group["title"].iloc[0]),
        "category": group["category"].iloc[0],
        "max_points": float(group["max_points"].max()),
        "attempts": len(tried),
        "pass_rate": float(passed.mean()) if len(tried) else math.nan,
        "mean_points": float(tried["points"].mean()) if len(tried) else math.nan,
        **_common_message(tried.loc[~passed, "message"]),
        "common_hints": _common_hints(tried.loc[~passed, "hint"]),
    }


def _common_message(messages: pd.Series) -> dict[str, object]:
    top = _most_frequent(messages)[:1]
    message, count = top[0] if top and top[0][1] > 1 else ("", 0)
    return {"common_message": message, "common_message_count": count}


def _common_hints(hints: pd.Series) -> str:
    top = _most_frequent(hints)[:_TOP_HINTS]
    return " | ".join(f"{hint} (×{count})" for hint, count in top)


def _most_frequent(values: pd.Series) -> list[tuple[str, int]]:
    """The distinct non-empty texts of ``values`` with their counts, most frequent first."""
    counts: dict[str, int] = {}
    for value in values:
        value = text(value).strip()
        if value:
            counts[value] = counts.get(value, 0) + 1
    # ties alphabetically, so the result is the same on every run
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


CAUSE_COLUMNS = ("student", "assignment", "function", "checks", "message")


def shared_causes(checks: pd.DataFrame) -> pd.DataFrame:
    """Each cause that cost a student several checks of one function, said once: the checks it
    cost and the first one's message. Hidden checks never share a cause."""
    if "cause" not in checks.columns or checks.empty:
        return pd.DataFrame(columns=list(CAUSE_COLUMNS))
    # what went wrong in code that ran: a missing file or function is no cause to list per check
    failed = checks[checks["status"].isin(["failed", "error", "timeout"]) & counted_rows(checks)
                    & ~checks["hidden"].fillna(False).astype(bool)]
    # a bool mask even when empty: an empty object Series would select columns, not rows
    shared = failed["cause"].map(lambda cause: isinstance(cause, str) and cause != "")
    failed = failed[shared.astype(bool)]
    keys = ["student", "assignment", "run_id", "function", "cause"]
    rows = [
        {"student": key[0], "assignment": key[1], "function": key[3],
         "checks": ", ".join(group["check_id"]), "message": text(group["message"].iloc[0])}
        for key, group in failed.groupby(keys, sort=True) if len(group) > 1
    ]
    return pd.DataFrame(rows, columns=list(CAUSE_COLUMNS))
