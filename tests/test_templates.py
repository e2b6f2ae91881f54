"""The html pages' Jinja2 templates: hostile text stays text, the feedback body is one partial
that a higher layer's page can include, a missing variable fails, and the templates ship."""

from __future__ import annotations

import fnmatch
import html
import re

import pandas as pd
import pytest
from helpers import REPO
from jinja2 import ChoiceLoader, DictLoader, UndefinedError

from grader.reports import CHECK_COLUMNS, SCORE_COLUMNS, feedback_html, html_report, templates

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
FORMULA = '=HYPERLINK("http://evil.example","click")'
HREF = 'x.html" onmouseover="alert(3)'


def _scores(*students: str) -> pd.DataFrame:
    rows = [{
        "student": student, "roster_id": "", "name": "", "assignment": "linreg", "score": 1.0,
        "max_score": 2.0, "percent": 50.0, "status": "graded",
        "graded_at": pd.Timestamp("2026-03-01 10:00", tz="UTC"), "version": "v1",
        "run_id": number, "content_hash": f"h{number}", "reason": "", "overridden": False,
    } for number, student in enumerate(students)]
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


def _checks(scores: pd.DataFrame, message: str) -> pd.DataFrame:
    """Per grading, one passed check and one failed with ``message`` (its hint and title too)."""
    rows = []
    for _, row in scores.iterrows():
        for check_id, passed in (("shapes", True), ("in_place", False)):
            rows.append({
                "student": row["student"], "assignment": row["assignment"],
                "run_id": row["run_id"], "check_id": check_id, "function": "sgd",
                "category": "correctness", "status": "passed" if passed else "failed",
                "points": 1.0 if passed else 0.0, "max_points": 1.0,
                "title": f"{check_id}: {message}", "message": "" if passed else message,
                "hint": "" if passed else message, "duration": 0.1, "hidden": False,
                "cause": "", "overridden": False,
            })
    return pd.DataFrame(rows, columns=list(CHECK_COLUMNS))


@pytest.fixture
def hostile() -> tuple[pd.DataFrame, pd.DataFrame]:
    scores = _scores(SCRIPT, FORMULA, "ada")
    return scores, _checks(scores, IMG)


def _assert_text_only(page: str) -> None:
    __tracebackhide__ = True
    assert "<script" not in page and "<img src=x" not in page and "onerror=alert" in page
    for said in (SCRIPT, IMG):
        assert html.escape(said) in page, said


def test_the_report_shows_hostile_names_and_messages_as_text(hostile):
    scores, checks = hostile
    page = html_report(scores, checks, title=SCRIPT,
                       feedback={(SCRIPT, "linreg"): HREF, ("ada", "linreg"): "ada/linreg.html"})
    _assert_text_only(page)
    assert f"<title>{html.escape(SCRIPT)}</title>" in page
    assert f"<h1>{html.escape(SCRIPT)}</h1>" in page
    assert f"{html.escape(FORMULA)}</a>" in page  # a name that a spreadsheet would evaluate
    assert 'onmouseover="' not in page and f'<a href="{html.escape(HREF)}">' in page
    assert page.count("<img") == 2  # the charts alone


@pytest.mark.parametrize("student", [SCRIPT, FORMULA])
def test_the_feedback_shows_hostile_names_and_messages_as_text(hostile, student):
    scores, checks = hostile
    row = scores[scores["student"] == student].iloc[0]
    page = feedback_html.render(row, checks[checks["student"] == student])
    heading = html.escape(f"linreg: feedback for {student}")
    assert f"<title>{heading}</title>" in page and f"<h1>{heading}</h1>" in page
    assert "<img" not in page and "onerror=alert" in page and "<script" not in page
    assert f"<code>{html.escape(IMG)}</code>" in page
    assert f"Likely mistake: {html.escape(IMG)}</div>" in page


def _body(page: str) -> str:
    return re.search(r"<body>\n(.*)</body>", page, re.DOTALL).group(1)


def test_the_feedback_page_is_its_partial_in_the_base_document(hostile):
    scores, checks = hostile
    row = scores.iloc[0]
    mine = checks[checks["student"] == row["student"]]
    feedback = feedback_html.feedback(row, mine)
    body = templates.render("feedback_body.html", feedback=feedback)
    page = feedback_html.render(row, mine)
    assert _body(page) == body
    assert body.startswith("<h1>") and body.endswith("</ul>\n")


def test_a_higher_layers_page_extends_base_and_includes_the_feedback_body(hostile):
    """As the service does: its own templates first, then these, in one Environment."""
    scores, checks = hostile
    row = scores.iloc[0]
    mine = checks[checks["student"] == row["student"]]
    page = (
        '{% extends "base.html" %}\n'
        "{% block title %}Result {{ number }}{% endblock %}\n"
        "{% block head %}<style>.queued { color: gray; }</style>\n{% endblock %}\n"
        '{% block content %}\n<p class="queued">{{ number }}</p>\n'
        '{% include "feedback_body.html" %}\n{% endblock %}\n'
    )
    env = templates.make_environment(
        ChoiceLoader([DictLoader({"result.html": page}), templates.loader()]))
    shown = env.get_template("result.html").render(number=7,
                                                   feedback=feedback_html.feedback(row, mine))
    head = shown[shown.index("<head>"):shown.index("</head>")]
    assert "<title>Result 7</title>" in head and ".queued { color: gray; }" in head
    assert ".scroll { overflow-x: auto" in head  # the house stylesheet, inline
    assert _body(shown) == '<p class="queued">7</p>\n' + _body(feedback_html.render(row, mine))


def test_a_missing_variable_fails_the_render(hostile):
    with pytest.raises(UndefinedError, match="feedback"):
        templates.render("feedback.html")
    with pytest.raises(UndefinedError):
        templates.render("report.html", title="Week 3", graded=True)
    # the page of nothing graded needs its title alone
    assert "Nothing graded yet" in templates.render("report.html", title="x", graded=False)


def test_the_table_macro_escapes_and_aligns():
    table = templates.environment().from_string(
        '{% from "macros.html" import table %}'
        '{{ table(columns, rows, numeric=["rate"], classes=classes) }}')
    rows = [{"<b>": "<i>", "n": 2.5, "ok": True, "rate": "50%"},
            {"<b>": None, "n": float("nan"), "ok": False, "rate": ""}]
    shown = table.render(columns=list(rows[0]), rows=rows, classes=["flagged", ""])
    assert shown == (
        '<div class="scroll"><table>\n'
        "<thead><tr><th>&lt;b&gt;</th><th>n</th><th>ok</th><th>rate</th></tr></thead>\n"
        "<tbody>\n"
        '<tr class="flagged"><td>&lt;i&gt;</td><td class="num">2.5</td><td>yes</td>'
        '<td class="num">50%</td></tr>\n'
        '<tr><td></td><td class="num"></td><td>no</td><td class="num"></td></tr>\n'
        "</tbody>\n</table></div>"
    )


def test_every_template_ships_in_the_wheel():
    """Each file of grader/reports/templates matches pyproject's package data for it."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["grader.reports"]
    folder = REPO / "grader" / "reports"
    files = sorted(p.relative_to(folder).as_posix() for p in (folder / "templates").iterdir())
    assert "templates/base.html" in files
    assert [f for f in files if not any(fnmatch.fnmatch(f, p) for p in patterns)] == []
