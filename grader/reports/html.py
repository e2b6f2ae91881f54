"""The class report as one self-contained html page, written for the TA who reads it.

A row per grading (score, maximum, percentage, status, a flag where it needs a look, a link to the
student's feedback), charts, an item analysis, then a section per grading with every check's
outcome, which its row links to. No scripts: the page is opened from disk and may be mailed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from html import escape
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from grader.reports.charts import pass_rate_bars, score_histogram
from grader.reports.markup import image, page, table
from grader.outcomes import RunStatus
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
    heading = f"<h1>{escape(title)}</h1>"
    if scores.empty:
        return page(title, f"{heading}\n<p>Nothing graded yet: there are no scores to report.</p>")
    checks = checks_table(checks)
    rows = scores.sort_values(["student", "assignment"]).reset_index(drop=True)
    anchors = _anchors(rows)
    graded, left_out = graded_checks(checks, scores)
    items = item_analysis(graded) if not graded.empty else None
    causes = shared_causes(checks)
    parts = [heading, _summary(rows), "<h2>Scores by student</h2>",
             _scores(rows, anchors, feedback or {}), _not_graded(scores)]
    for assignment, mine in scores.groupby("assignment", sort=True):
        parts.append(_charts(str(assignment), mine, items))
    parts.append("<h2>Item analysis</h2>")
    if left_out:
        parts.append(f'<p class="muted">Graded submissions only; {escape(left_out)}.</p>')
    parts += [_item_table(items), "<h2>Checks by submission</h2>",
              _sections(rows, anchors, checks, causes)]
    if not causes.empty:
        parts += ['<h2 id="causes">One cause, several checks</h2>', table(causes)]
    return page(title, "\n".join(part for part in parts if part))


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


def _flag_marks(flags: list[str]) -> str:
    return " ".join(f'<span class="flag">{escape(flag)}</span>' for flag in flags)


def _percent(value: object) -> str:
    return "" if pd.isna(value) else f"{float(value):.1f}%"


def _summary(rows: pd.DataFrame) -> str:
    mean = rows["percent"].astype(float).mean()
    mean_text = "n/a" if math.isnan(mean) else f"{mean:.1f}%"
    flagged = Counter(flag for _, row in rows.iterrows() for flag in _flags(row))
    parts = [
        f'<p class="summary">{rows["student"].nunique()} students · '
        f"{rows['assignment'].nunique()} assignments · mean percent {mean_text}</p>"
    ]
    if flagged:
        order = [*FLAGS.values(), ZERO]  # the known flags in this order, then any other
        ranked = sorted(flagged.items(), key=lambda item: (
            order.index(item[0]) if item[0] in order else len(order), item[0]))
        counts = ", ".join(f"{count} {_flag_marks([flag])}" for flag, count in ranked)
        parts.append(f"<p>Flagged for a look: {counts}.</p>")
    parts.append(
        '<p class="muted">Percentages are of each grading\'s own maximum, its max: device '
        "checks graded without a GPU count in neither the score nor the maximum, so a correct "
        "submission is 100% on any machine. A submission that needs regrade has no score yet "
        "and counts in no mean. A student's name opens the outcome of each of their checks.</p>"
    )
    return "\n".join(parts)


def _scores(rows: pd.DataFrame, anchors: list[str], feedback: Mapping[tuple[str, str], str],
            ) -> str:
    flags = [_flags(row) for _, row in rows.iterrows()]
    frame = pd.DataFrame({
        "student": [f'<a href="#{anchor}">{escape(_who(row))}</a>'
                    for anchor, (_, row) in zip(anchors, rows.iterrows(), strict=True)],
        "assignment": rows["assignment"].map(text),
        "score": rows["score"].astype(float),
        "max": rows["max_score"].astype(float),
        "percent": rows["percent"].astype(float),
        "flag": [_flag_marks(marks) for marks in flags],
        "status": rows["status"].map(text),
        "reason": rows["reason"].map(text),
    })
    markup = ["student", "flag"]
    if feedback:
        keys = zip(rows["student"].map(text), rows["assignment"].map(text), strict=True)
        frame["feedback"] = [
            f'<a href="{escape(feedback[key])}">feedback</a>' if key in feedback else ""
            for key in keys
        ]
        markup.append("feedback")
    return table(frame, formats={"percent": _percent}, markup=markup,
                 row_classes=["flagged" if marks else "" for marks in flags])


def _not_graded(scores: pd.DataFrame) -> str:
    """The submissions that did not simply run: not run, timed out, crashed, and why."""
    others = scores[scores["status"] != RunStatus.GRADED]
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
    frame = pd.DataFrame({
        "assignment": items["assignment"].map(text),
        "check": [_check_name(row) for _, row in items.iterrows()],
        "function": items["function"].map(_word),
        "attempts": items["attempts"],
        "pass rate": items["pass_rate"],
        "mean points": [f"{mean:.2f} of {number(top)}" if not pd.isna(mean) else ""
                        for mean, top in zip(items["mean_points"], items["max_points"],
                                             strict=True)],
        "most common failure message": [
            _message(message, limit=_SHOWN) + (f' <span class="muted">(×{count})</span>'
                                               if count else "")
            for message, count in zip(items["common_message"], items["common_message_count"],
                                      strict=True)
        ],
        "common hints": items["common_hints"].map(text),
    })
    rate = {"pass rate": lambda rate: "" if pd.isna(rate) else f"{float(rate):.0%}"}
    return table(frame, formats=rate, markup=["check", "function", "most common failure message"])


def _check_name(check: pd.Series) -> str:
    """The check's id over its title, and whether students see its message."""
    hidden = pd.notna(check.get("hidden")) and bool(check.get("hidden"))
    note = ' <span class="muted">(hidden)</span>' if hidden else ""
    return f"{_word(check['check_id'])}{note}<br>{escape(text(check['title']))}"


def _word(name: object) -> str:
    """An identifier as code that wraps only where it must: a column no narrower than it."""
    return f'<code class="word">{escape(text(name))}</code>'


def _message(message: object, *, limit: int | None = None) -> str:
    """A message as html that wraps, cut after ``limit`` characters with a note saying so."""
    message = text(message).strip("\n")
    if not message:
        return ""
    cut = ""
    if limit is not None and len(message) > limit:
        rest = len(message) - limit
        message, cut = message[:limit], f' <span class="muted">… {rest} more characters</span>'
    return f'<div class="message">{escape(message)}{cut}</div>'


def _sections(rows: pd.DataFrame, anchors: list[str], checks: pd.DataFrame,
              causes: pd.DataFrame) -> str:
    """A closed <details> per grading, holding the id its scores row links to."""
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
    return "\n".join(sections)


def _section(row: pd.Series, anchor: str, checks: pd.DataFrame, shared: set[tuple]) -> str:
    share = "" if pd.isna(row["percent"]) else f" ({float(row['percent']):.1f}%)"
    points = f"{number(row['score']) or 'no score'} / {number(row['max_score'])}{share}"
    line = (f"<strong>{escape(_who(row))}</strong> · "
            f"{escape(text(row['assignment']))}: {escape(points)} {_flag_marks(_flags(row))}")
    body = []
    if text(row["reason"]):
        body.append(f"<p>{escape(text(row['status']))}:</p>{_message(row['reason'])}")
    if checks.empty or not ran(row):  # a submission that never ran: its reason says all
        body.append('<p class="muted">No check ran.</p>')
    else:
        body.append(_check_table(checks, shared))
    # the id inside the closed <details>: following a link to it opens the section
    return (f'<details><summary>{line}</summary>\n<div class="grading" id="{escape(anchor)}">'
            + "\n".join(body) + "</div>\n</details>")


def _check_table(checks: pd.DataFrame, shared: set[tuple]) -> str:
    outcome = []
    for _, check in checks.iterrows():
        key = (check["student"], check["assignment"], check["check_id"])
        said = ('<div>one cause with other checks of this function: its message is in the '
                '<a href="#causes">table of causes</a></div>') if key in shared else ""
        hint = text(check["hint"]).strip()
        outcome.append((said or _message(check["message"]))
                       + (f'<div class="detail">Likely mistake: {escape(hint)}</div>'
                          if hint else ""))
    status = [f'<span class="word {_STATUS_CLASS.get(text(s), "failed")}">{escape(text(s))}'
              "</span>" for s in checks["status"]]
    by_hand = checks["overridden"].fillna(False).astype(bool)
    frame = pd.DataFrame({
        "function": checks["function"].map(_word).to_numpy(),
        "check": [_check_name(check) for _, check in checks.iterrows()],
        "status": status,
        "points": [f"{number(p)}/{number(m)}" + (" (set by hand)" if hand else "")
                   for p, m, hand in zip(checks["points"], checks["max_points"], by_hand,
                                         strict=True)],
        "outcome": outcome,
    })
    return table(frame, markup=["function", "check", "status", "outcome"])
