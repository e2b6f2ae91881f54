"""The class report as one self-contained html page: gradebook, charts and item analysis."""

from __future__ import annotations

import math
from html import escape

import pandas as pd

from grader.reports.charts import pass_rate_bars, score_histogram
from grader.reports.markup import image, page, table
from grader.reports.schema import number
from grader.reports.tables import gradebook, graded_checks, item_analysis, shared_causes


def html_report(scores: pd.DataFrame, checks: pd.DataFrame, *, title: str = "Gradebook") -> str:
    """One html page for instructors, with charts embedded as PNG images and no scripts.

    Args:
        scores: one row per (student, assignment), the current grading.
        checks: one row per (student, assignment, check) of those gradings.
        title: the page's heading.

    Returns:
        the page as a string; with no scores, a page saying nothing has been graded yet.
    """
    heading = f"<h1>{escape(title)}</h1>"
    if scores.empty:
        return page(title, f"{heading}\n<p>Nothing graded yet: there are no scores to report.</p>")
    graded, left_out = graded_checks(checks, scores)
    items = item_analysis(graded) if not graded.empty else None
    parts = [heading, _summary(scores), "<h2>Scores by student</h2>",
             table(gradebook(scores), index=True)]
    parts.append(_not_graded(scores))
    for assignment, rows in scores.groupby("assignment", sort=True):
        parts.append(_charts(str(assignment), rows, items))
    parts.append("<h2>Item analysis</h2>")
    if left_out:
        parts.append(f'<p class="muted">Graded submissions only; {escape(left_out)}.</p>')
    parts.append(_item_table(items))
    causes = shared_causes(checks)
    if not causes.empty:
        parts += ["<h2>One cause, several checks</h2>", table(causes)]
    return page(title, "\n".join(part for part in parts if part))


def _summary(scores: pd.DataFrame) -> str:
    mean = scores["percent"].astype(float).mean()
    mean_text = "n/a" if math.isnan(mean) else f"{mean:.1f}%"
    return (
        f'<p class="summary">{scores["student"].nunique()} students · '
        f"{scores['assignment'].nunique()} assignments · mean percent {mean_text}</p>\n"
        '<p class="muted">Percentages are of each grading\'s own maximum: device checks graded '
        "without a GPU count in neither the score nor the maximum, so a correct submission is "
        "100% on any machine.</p>"
    )


def _not_graded(scores: pd.DataFrame) -> str:
    """The submissions that did not simply run: not run, timed out, crashed, and why."""
    others = scores[scores["status"] != "graded"]
    if others.empty:
        return ""
    rows = others[["student", "assignment", "status", "reason"]].sort_values(
        ["student", "assignment"])
    return "<h3>Not graded as handed in</h3>\n" + table(rows)


def _charts(assignment: str, scores: pd.DataFrame, items: pd.DataFrame | None) -> str:
    values = scores["score"].astype(float)
    alt = (
        f"Histogram of {assignment} scores: {values.notna().sum()} students, "
        f"mean {values.mean():.1f} of {number(scores['max_score'].max())}"
    )
    figures = [image(score_histogram(scores, assignment), alt)]
    mine = items[items["assignment"] == assignment] if items is not None else None
    if mine is not None and not mine.empty:
        hardest = mine.iloc[0]
        rate = "n/a" if math.isnan(hardest["pass_rate"]) else f"{hardest['pass_rate']:.0%}"
        alt = (
            f"Pass rate of each of the {len(mine)} checks of {assignment}; "
            f"lowest: {hardest['check_id']} at {rate}"
        )
        figures.append(image(pass_rate_bars(mine, assignment), alt))
    return f"<h2>{escape(assignment)}</h2>\n" + "\n".join(figures)


def _item_table(items: pd.DataFrame | None) -> str:
    if items is None or items.empty:
        return "<p>No checks recorded.</p>"
    percent = {
        "pass_rate": lambda rate: "" if pd.isna(rate) else f"{float(rate):.0%}",
        "mean_points": lambda mean: "" if pd.isna(mean) else f"{float(mean):.2f}",
    }
    return table(items, formats=percent)
