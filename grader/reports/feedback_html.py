"""One grading as a self-contained html page, every piece of submitted text escaped."""

from __future__ import annotations

from html import escape

import pandas as pd

from grader.reports import causes, summary
from grader.reports.markup import page
from grader.reports.schema import text


def render(row: pd.Series, checks: pd.DataFrame) -> str:
    """Html feedback for the scores ``row`` and its (already student-visible) ``checks``."""
    title = f"{text(row['assignment'])}: feedback for {text(row['student'])}"
    parts = [
        f"<h1>{escape(title)}</h1>",
        f"<p><strong>{escape(summary.score_line(row))}</strong></p>",
    ]
    if summary.maximum_note(checks):
        parts.append(f'<p class="muted">{escape(summary.maximum_note(checks))}</p>')
    if summary.overridden(row):
        parts.append(f"<p>{escape(summary.OVERRIDE_NOTE)}</p>")
    parts.append(f'<p class="muted">{escape(summary.graded_line(row))}</p>')
    if summary.status_intro(row):
        parts.append(f"<p>{escape(summary.status_intro(row))}</p>\n"
                     f"<pre>{escape(text(row['reason']))}</pre>")
    for function, group in summary.by_function(checks) if summary.ran(row) else ():
        heading = f"<code>{escape(function)}</code>: {escape(summary.function_points(group))}"
        parts += [f"<h2>{heading}</h2>", _function(group)]
    return page(title, "\n".join(parts))


def _function(checks: pd.DataFrame) -> str:
    passed, failed, skipped = summary.split(checks)
    mark = '<span class="passed">✓ passed</span>'
    items = [
        f"<li>{mark}, {_points(check)}: {escape(text(check['title']))}</li>"
        for _, check in passed.iterrows()
    ]
    rows, groups = summary.failed_groups(failed)
    for position, check in enumerate(rows):
        status = f'<span class="failed">✗ <strong>{escape(str(check["status"]))}</strong></span>'
        group = groups.get(position)
        if group is not None and group.first != position:
            again = causes.again_line(text(rows[group.first]["title"]))
            details = f'<div class="detail">{escape(again)}</div>'
        else:
            details = _details(check)
            if group is not None:
                cost = causes.cost_line([text(rows[i]["title"]) for i in group.members])
                details += f'<div class="detail">{escape(cost)}</div>'
        title = escape(text(check["title"]))
        items.append(f"<li>{status}, {_points(check)}: {title}{details}</li>")
    for _, check in skipped.iterrows():
        items.append(
            f'<li class="muted">skipped, not counted: {escape(text(check["title"]))}'
            f"{_details(check)}</li>"
        )
    return "<ul>\n" + "\n".join(items) + "\n</ul>"


def _points(check: pd.Series) -> str:
    note = f" {summary.CHECK_OVERRIDE_NOTE}" if summary.overridden(check) else ""
    return escape(summary.points(check) + note)


def _details(check: pd.Series) -> str:
    message, hint = text(check["message"]).strip("\n"), text(check["hint"]).strip()
    parts = []
    if "\n" in message:
        parts.append(f"<pre>{escape(message)}</pre>")
    elif message:
        parts.append(f'<div class="detail"><code>{escape(message)}</code></div>')
    if hint:
        parts.append(f'<div class="detail">Likely mistake: {escape(hint)}</div>')
    return "".join(parts)
