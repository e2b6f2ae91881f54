"""The class report as one self-contained html page, written for the TA who reads it.

A row per grading (score, maximum, percentage, status, a flag where it needs a look, a link to the
student's feedback), charts, an item analysis, then a section per grading with every check's
outcome, which its row links to. No scripts: the page is opened from disk and may be mailed.
Python prepares the page's data here; ``templates/report.html`` writes it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

import pandas as pd

from grader.outcomes import RunStatus
from grader.reports import templates
from grader.reports.charts import pass_rate_bars, score_histogram
from grader.reports.schema import NO_SUBMISSION, checks_table, number, text
from grader.reports.slugs import slug
from grader.reports.summary import ran
from grader.reports.tables import graded_checks, item_analysis, shared_causes

# The word a grading is flagged with, by status; any other status but graded flags itself, and a
# graded submission that scored nothing is flagged ZERO.
FLAGS = {
    RunStatus.NOT_RUN: "not run",
    RunStatus.TIMED_OUT: "timed out",
    RunStatus.CRASHED: "crashed",
    RunStatus.INFRASTRUCTURE_ERROR: "needs regrade",
    NO_SUBMISSION: "no submission",
}
ZERO = "zero"  # the flag of a graded submission that scored nothing
_STATUS_CLASS = {"passed": "passed", "skipped": "muted"}  # a check's; any other is a failure
_SHOWN = 300  # characters of a message in the item table; its grading's section has it whole


class Table(NamedTuple):
    """Rows for the template's ``table`` macro: plain values keyed by ``columns``."""

    columns: list[str]
    rows: list[dict[str, object]]
    classes: list[str] | None = None  # a class per row, "" for none


class Message(NamedTuple):
    """A message as shown: its text, and how many characters were cut off its end."""

    text: str
    more: int = 0


class CheckName(NamedTuple):
    id: str
    title: str
    hidden: bool  # students see its title, status and points only


class Figure(NamedTuple):
    src: str  # a PNG data URI
    alt: str


class Section(NamedTuple):
    """One grading's closed <details>, holding the id its scores row links to."""

    anchor: str
    who: str
    assignment: str
    points: str  # "2.5 / 6 (41.7%)"
    flags: list[str]
    status: str
    reason: Message | None  # why it did not simply run; None when it did
    checks: Table | None  # None when no check ran


def html_report(
    scores: pd.DataFrame, checks: pd.DataFrame, *, title: str = "Gradebook",
    feedback: Mapping[tuple[str, str], str] | None = None,
) -> str:
    """One html page for instructors, with charts embedded as PNG images and no scripts.

    Args:
        scores: one row per (student, assignment), the current grading.
        checks: one row per (student, assignment, check) of those gradings.
        title: the page's heading.
        feedback: (student, assignment) -> href of that grading's feedback file, relative to
            the page and percent-encoded (``feedback_links``); gradings not in it get no link.

    Returns:
        the page as a string; with no scores, a page saying nothing has been graded yet.
    """
    if scores.empty:
        return templates.render("report.html", title=title, graded=False)
    checks = checks_table(checks)
    rows = scores.sort_values(["student", "assignment"]).reset_index(drop=True)
    anchors = _anchors(rows)
    graded, left_out = graded_checks(checks, scores)
    items = item_analysis(graded) if not graded.empty else None
    causes = shared_causes(checks)
    return templates.render(
        "report.html", title=title, graded=True, **_summary(rows),
        scores=_scores(rows, anchors, feedback or {}), not_graded=_not_graded(scores),
        charts={str(assignment): _charts(str(assignment), mine, items)
                for assignment, mine in scores.groupby("assignment", sort=True)},
        left_out=left_out, items=_item_table(items),
        sections=_sections(rows, anchors, checks, causes),
        causes=_table(causes) if not causes.empty else None,
    )


def feedback_links(scores: pd.DataFrame, folder: Path) -> dict[tuple[str, str], str]:
    """Links from a report written in ``folder`` to the html feedback of the gradings in
    ``scores``, as ``grader feedback`` writes it: ``<slug(student)>/<slug(assignment)>.html``.

    The feedback is looked for in the report's sibling folders (the subfolders of ``folder``,
    hidden ones aside); the one holding the most of these gradings' files wins, ties going to
    the first name in sorted order. So ``grader feedback -o out/feedback`` and ``grader report
    -o out/report.html`` link up, whatever the feedback folder is called.

    Returns:
        (student, assignment) -> a relative, percent-encoded href, for each grading whose file
        is in that folder; empty when no sibling folder holds any.
    """
    wanted = {
        (text(student), text(assignment)): f"{slug(text(student))}/{slug(text(assignment))}.html"
        for student, assignment in zip(scores["student"], scores["assignment"], strict=True)
    }
    try:
        folders = sorted(p for p in Path(folder).iterdir()
                         if p.is_dir() and not p.name.startswith("."))
    except OSError:  # an unreadable folder: a report without links, not no report
        return {}
    best: dict[tuple[str, str], str] = {}
    for sub in folders:
        found = {key: quote(f"{sub.name}/{path}") for key, path in wanted.items()
                 if (sub / path).is_file()}
        if len(found) > len(best):
            best = found
    return best


def _anchors(rows: pd.DataFrame) -> list[str]:
    """An id per grading, safe for any names: slugs keep to [A-Za-z0-9._-] and differ for
    different names, so joined by '~' they differ for different (student, assignment)."""
    anchors = [f"g-{slug(text(student))}~{slug(text(assignment))}"
               for student, assignment in zip(rows["student"], rows["assignment"], strict=True)]
    if len(set(anchors)) < len(anchors):
        raise ValueError("scores has two rows for the same student and assignment; keep only "
                         "the current grading")
    return anchors


def _table(frame: pd.DataFrame) -> Table:
    """A frame's cells as plain Python values (numpy's numbers and booleans become Python's)."""
    return Table([str(column) for column in frame.columns], frame.to_dict("records"))


def _who(row: pd.Series) -> str:
    """The submission's name, with the class list's name for its student when there is one."""
    name = text(row.get("name"))
    student = text(row["student"])
    return f"{name} ({student})" if name and name != student else student


def _flags(row: pd.Series) -> list[str]:
    """The words that flag a grading for a look: its status unless graded, or a zero."""
    status = text(row["status"])
    if status != RunStatus.GRADED:
        return [FLAGS.get(status, status or "no status")]
    return [ZERO] if not pd.isna(row["score"]) and float(row["score"]) == 0 else []


def _percent(value: object) -> str:
    return "" if pd.isna(value) else f"{float(value):.1f}%"


def _summary(rows: pd.DataFrame) -> dict[str, object]:
    """students, assignments, mean (a percentage or "n/a") and flagged: (flag, count) pairs,
    the known flags first."""
    mean = rows["percent"].astype(float).mean()
    flagged = Counter(flag for _, row in rows.iterrows() for flag in _flags(row))
    order = [*FLAGS.values(), ZERO]  # the known flags in this order, then any other
    ranked = sorted(flagged.items(), key=lambda item: (
        order.index(item[0]) if item[0] in order else len(order), item[0]))
    return {"students": rows["student"].nunique(), "assignments": rows["assignment"].nunique(),
            "mean": "n/a" if math.isnan(mean) else f"{mean:.1f}%", "flagged": ranked}


def _scores(rows: pd.DataFrame, anchors: list[str], feedback: Mapping[tuple[str, str], str],
            ) -> Table:
    """The scores table; its student cell is {"who", "anchor"}, its flag cell a list of words,
    its feedback cell an href or "" (a column only when there is feedback to link to)."""
    columns = ["student", "assignment", "score", "max", "percent", "flag", "status", "reason"]
    table = []
    points = zip(rows["score"].astype(float), rows["max_score"].astype(float), strict=True)
    for anchor, (_, row), (score, top) in zip(anchors, rows.iterrows(), points, strict=True):
        key = (text(row["student"]), text(row["assignment"]))
        table.append({
            "student": {"who": _who(row), "anchor": anchor}, "assignment": key[1],
            "score": score, "max": top,
            "percent": _percent(row["percent"]), "flag": _flags(row),
            "status": text(row["status"]), "reason": text(row["reason"]),
            "feedback": feedback.get(key, ""),
        })
    classes = ["flagged" if row["flag"] else "" for row in table]
    return Table(columns + ["feedback"] if feedback else columns, table, classes)


def _not_graded(scores: pd.DataFrame) -> Table | None:
    """The submissions that did not simply run: not run, timed out, crashed, and why."""
    others = scores[scores["status"] != RunStatus.GRADED]
    if others.empty:
        return None
    return _table(others[["student", "assignment", "status", "reason"]].sort_values(
        ["student", "assignment"]))


def _charts(assignment: str, scores: pd.DataFrame, items: pd.DataFrame | None) -> list[Figure]:
    values = scores["score"].astype(float)
    alt = (
        f"Histogram of {assignment} scores: {values.notna().sum()} students, "
        f"mean {values.mean():.1f} of {number(scores['max_score'].max())}"
    )
    figures = [Figure(score_histogram(scores, assignment), alt)]
    mine = items[items["assignment"] == assignment] if items is not None else None
    if mine is not None and not mine.empty:
        hardest = mine.iloc[0]
        rate = "n/a" if math.isnan(hardest["pass_rate"]) else f"{hardest['pass_rate']:.0%}"
        alt = (
            f"Pass rate of each of the {len(mine)} checks of {assignment}; "
            f"lowest: {hardest['check_id']} at {rate}"
        )
        figures.append(Figure(pass_rate_bars(mine, assignment), alt))
    return figures


def _item_table(items: pd.DataFrame | None) -> Table | None:
    """The item analysis; its "most common failure message" cell is {"message", "count"}."""
    if items is None or items.empty:
        return None
    rows = [{
        "assignment": text(item["assignment"]),
        "check": _check_name(item),
        "function": text(item["function"]),
        "attempts": item["attempts"],
        "pass rate": "" if pd.isna(item["pass_rate"]) else f"{float(item['pass_rate']):.0%}",
        "mean points": ("" if pd.isna(item["mean_points"])
                        else f"{item['mean_points']:.2f} of {number(item['max_points'])}"),
        "most common failure message": {"message": _message(item["common_message"],
                                                            limit=_SHOWN),
                                        "count": item["common_message_count"]},
        "common hints": text(item["common_hints"]),
    } for _, item in items.iterrows()]
    return Table(list(rows[0]), rows)


def _check_name(check: pd.Series) -> CheckName:
    hidden = pd.notna(check.get("hidden")) and bool(check.get("hidden"))
    return CheckName(text(check["check_id"]), text(check["title"]), hidden)


def _message(message: object, *, limit: int | None = None) -> Message:
    """A message without its outer blank lines, cut after ``limit`` characters."""
    message = text(message).strip("\n")
    if limit is not None and len(message) > limit:
        return Message(message[:limit], len(message) - limit)
    return Message(message)


def _sections(rows: pd.DataFrame, anchors: list[str], checks: pd.DataFrame,
              causes: pd.DataFrame) -> list[Section]:
    keys = ["student", "assignment", "run_id"]
    by_grading = {key: group for key, group in checks.groupby(keys, sort=False)}
    # the checks whose message the cause table says once, so that it is not said again here
    shared = {(student, assignment, check_id)
              for student, assignment, ids in zip(causes["student"], causes["assignment"],
                                                  causes["checks"], strict=True)
              for check_id in str(ids).split(", ")}
    sections = []
    for (_, row), anchor in zip(rows.iterrows(), anchors, strict=True):
        mine = by_grading.get((row["student"], row["assignment"], row["run_id"]), checks.iloc[:0])
        sections.append(_section(row, anchor, mine, shared))
    return sections


def _section(row: pd.Series, anchor: str, checks: pd.DataFrame, shared: set[tuple]) -> Section:
    share = "" if pd.isna(row["percent"]) else f" ({float(row['percent']):.1f}%)"
    return Section(
        anchor=anchor, who=_who(row), assignment=text(row["assignment"]),
        points=f"{number(row['score']) or 'no score'} / {number(row['max_score'])}{share}",
        flags=_flags(row), status=text(row["status"]),
        reason=_message(row["reason"]) if text(row["reason"]) else None,
        # a submission that never ran: its reason says all
        checks=None if checks.empty or not ran(row) else _check_table(checks, shared),
    )


def _check_table(checks: pd.DataFrame, shared: set[tuple]) -> Table:
    """A grading's checks; the status cell is {"text", "class"}, the outcome cell
    {"shared": whether the cause table says its message, "message", "hint"}."""
    rows = []
    for _, check in checks.iterrows():
        status = text(check["status"])
        hand = pd.notna(check["overridden"]) and bool(check["overridden"])
        rows.append({
            "function": text(check["function"]),
            "check": _check_name(check),
            "status": {"text": status, "class": _STATUS_CLASS.get(status, "failed")},
            "points": f"{number(check['points'])}/{number(check['max_points'])}"
                      + (" (set by hand)" if hand else ""),
            "outcome": {
                "shared": (check["student"], check["assignment"], check["check_id"]) in shared,
                "message": _message(check["message"]), "hint": text(check["hint"]).strip()},
        })
    return Table(list(rows[0]), rows)
