"""One grading as markdown: what passed, and for what did not, what happened and why."""

from __future__ import annotations

import re

import pandas as pd

from grader.reports import causes, summary
from grader.reports.schema import text

# backslash-escaped so names and titles cannot open html tags, links or code spans
_SPECIAL = re.compile(r"([\\`\[\]<>])")


def render(row: pd.Series, checks: pd.DataFrame) -> str:
    """Markdown feedback for the scores ``row`` and its (already student-visible) ``checks``."""
    lines = [
        f"# {inline(text(row['assignment']))}: feedback for {inline(text(row['student']))}",
        "",
        f"**{summary.score_line(row)}**",
    ]
    if summary.maximum_note(checks):
        lines += ["", summary.maximum_note(checks)]
    if summary.overridden(row):
        lines += ["", summary.OVERRIDE_NOTE]
    lines += ["", inline(summary.graded_line(row))]
    if summary.status_intro(row):
        lines += ["", summary.status_intro(row), "", *fenced(text(row["reason"]))]
    for function, group in summary.by_function(checks) if summary.ran(row) else ():
        lines += ["", f"## {code(function)}: {summary.function_points(group)}", ""]
        lines += _function(group)
    return "\n".join(lines) + "\n"


def _function(checks: pd.DataFrame) -> list[str]:
    passed, failed, skipped = summary.split(checks)
    lines = [
        f"- ✓ passed, {_points(check)}: {inline(text(check['title']))}"
        for _, check in passed.iterrows()
    ]
    rows, groups = summary.failed_groups(failed)
    for position, check in enumerate(rows):
        lines.append(f"- ✗ **{check['status']}**, {_points(check)}: {inline(text(check['title']))}")
        group = groups.get(position)
        if group is not None and group.first != position:
            first = text(rows[group.first]["title"])
            lines += ["", f"  {inline(causes.again_line(first))}", ""]
            continue
        details = _details(check)
        if group is not None:
            cost = inline(causes.cost_line([text(rows[i]["title"]) for i in group.members]))
            details = [*details[:-1], "", f"  {cost}", ""]
        lines += details
    for _, check in skipped.iterrows():
        lines.append(f"- skipped, not counted: {inline(text(check['title']))}")
        lines += _details(check)
    return lines


def _points(check: pd.Series) -> str:
    note = f" {summary.CHECK_OVERRIDE_NOTE}" if summary.overridden(check) else ""
    return summary.points(check) + note


def _details(check: pd.Series) -> list[str]:
    # indented by two spaces so they stay inside the check's list item
    lines = []
    message, hint = text(check["message"]).strip("\n"), text(check["hint"]).strip()
    if "\n" in message:
        lines += ["", *(f"  {line}" if line else "" for line in fenced(message))]
    elif message:
        lines += ["", f"  {code(message)}"]
    if hint:
        lines += ["", f"  Likely mistake: {inline(hint)}"]
    return lines + [""] if lines else lines


def inline(value: str) -> str:
    """One line of plain text, safe inside markdown."""
    return _SPECIAL.sub(r"\\\1", " ".join(value.split()))


def code(value: str) -> str:
    """An inline code span holding ``value`` literally, whatever backticks it contains."""
    value = " ".join(value.splitlines())
    ticks = "`" * (_longest_backtick_run(value) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{ticks}{pad}{value}{pad}{ticks}"


def fenced(value: str) -> list[str]:
    """A fenced code block holding ``value`` literally, as lines."""
    fence = "`" * max(3, _longest_backtick_run(value) + 1)
    return [f"{fence}text", *value.splitlines(), fence]


def _longest_backtick_run(value: str) -> int:
    return max((len(run) for run in re.findall(r"`+", value)), default=0)
