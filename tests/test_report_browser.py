"""The html class report as a TA sees it, in headless Chromium at 1366x768 (issue item 5).

The class has every status, a 200-character name without a space, names that are html, a
2000-character failure message without a space and many checks. In the browser: nothing is wider
than the window (every section opened), each table fits or scrolls inside its box, every link
resolves (in-page anchors to an element, feedback links to a file on disk), flagged rows say why
in words, and no student's text runs or becomes an element.
"""

from __future__ import annotations

import math
from pathlib import Path

import browser
import pandas as pd
import pytest

from grader.reports import CHECK_COLUMNS, SCORE_COLUMNS, write_feedback, write_report

WIDTH, HEIGHT = 1366, 768

LONG = "Wolfeschlegelsteinhausenbergerdorff" * 6  # 210 characters, no space to break at
SCRIPT = "<script>window.pwned = 'script'</script>"
IMG = '<img src="x" onerror="window.pwned = \'img\'">'
HUGE = "expected" + "0123456789" * 199  # 1998 characters, no space, a failure message
SHARED = "max abs error 3.2e-02 at row 4 (tolerance 1e-06)"
CHECKS_PER_ASSIGNMENT = 14

# student: (status, reason, which checks pass: "all", "none", "half" or no checks at all)
CLASS = {
    "alice": ("graded", "", "all"),
    LONG: ("graded", "", "half"),
    SCRIPT: ("graded", "", "half"),
    IMG: ("graded", "", "half"),
    "zeno": ("graded", "", "none"),
    "nora": ("not_run", f"linear_regression.py not found; found {LONG}.py", None),
    "tim": ("timed_out", "it used up its time budget of 20 s", "half"),
    "cruz": ("crashed", "the submission killed its worker with SIGSEGV on import", None),
    "ines": ("infrastructure_error", "the worker was lost: fork refused (ENOMEM)", None),
    "noah": ("no_submission", "on the roster, handed in nothing", None),
    "quinn": ("held_for_review", "an unknown status, from a newer grader", None),
}
# the word each student's rows are flagged with; alice and the "half" students are not flagged
FLAGGED = {"zeno": "zero", "nora": "not run", "tim": "timed out", "cruz": "crashed",
           "ines": "needs regrade", "noah": "no submission", "quinn": "held_for_review"}


def _check_rows(student: str, assignment: str, run_id: int, passing: str) -> list[dict]:
    rows = []
    for number in range(CHECKS_PER_ASSIGNMENT):
        passed = passing == "all" or (passing == "half" and number % 2 == 0)
        message = "" if passed else HUGE if student == LONG else SHARED
        rows.append({
            "student": student, "assignment": assignment, "run_id": run_id,
            "check_id": f"{assignment}_check_{number:02d}_with_a_long_descriptive_identifier",
            "function": f"{assignment}_function_{number % 3}", "category": "correctness",
            "status": "passed" if passed else "failed", "points": 1.0 if passed else 0.0,
            "max_points": 1.0, "title": f"check {number} of {assignment} proves one thing.",
            "message": message, "hint": "" if passed else "subtract each row's max before exp",
            "duration": 0.1, "hidden": number == 13, "cause": "", "overridden": False,
        })
    return rows


def _class() -> tuple[pd.DataFrame, pd.DataFrame]:
    scores, checks = [], []
    for run_id, (student, assignment) in enumerate(
            (student, assignment) for student in CLASS for assignment in ("linreg", "softmax")):
        status, reason, passing = CLASS[student]
        mine = _check_rows(student, assignment, run_id, passing) if passing else []
        score = math.nan if status == "infrastructure_error" else sum(r["points"] for r in mine)
        scores.append({
            "student": student, "assignment": assignment, "score": score,
            "max_score": float(CHECKS_PER_ASSIGNMENT), "percent": score / CHECKS_PER_ASSIGNMENT
            * 100.0, "status": status, "graded_at": pd.Timestamp("2026-03-01 10:00", tz="UTC"),
            "version": "a3f9c2e", "run_id": run_id, "content_hash": f"c0ffee{run_id}",
            "reason": reason, "overridden": False,
        })
        checks += mine
    return (pd.DataFrame(scores, columns=list(SCORE_COLUMNS)),
            pd.DataFrame(checks, columns=list(CHECK_COLUMNS)))


@pytest.fixture(scope="module")
def driver():
    if browser.missing():
        pytest.skip(browser.missing())
    chromium = browser.chromium(WIDTH, HEIGHT)
    yield chromium
    chromium.quit()


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """The report beside the feedback folder, as `make demo` writes them."""
    folder = tmp_path_factory.mktemp("term")
    scores, checks = _class()
    write_feedback(scores, checks, folder / "feedback")
    return write_report(scores, checks, "html", folder / "report.html")


@pytest.fixture
def opened(driver, report):
    """The report in the browser with every section opened, so that all of it is laid out."""
    driver.get(report.resolve().as_uri())
    driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
    return driver


def test_nothing_is_wider_than_a_1366_pixel_window(opened):
    browser.assert_fits(opened, WIDTH)
    boxed = opened.execute_script(
        "return [...document.querySelectorAll('table')].every(t => t.parentElement.matches("
        "'div.scroll') && getComputedStyle(t.parentElement).overflowX === 'auto')")
    assert boxed, "a table is not in a box that scrolls sideways"


def test_every_link_resolves(opened, report):
    rows = 2 * len(CLASS)
    # a student link and a feedback link each
    assert browser.assert_links_resolve(opened) >= 2 * rows
    feedback = opened.execute_script(
        "return [...document.querySelectorAll('a[href]')].filter(a => a.textContent === "
        "'feedback').map(a => a.href)")
    assert len(feedback) == rows  # write_feedback wrote one for every grading
    long_feedback = [href for href in feedback if "Wolfe" in href]
    opened.get(long_feedback[0])
    assert LONG in opened.title


def test_a_students_link_opens_their_checks(driver, report):
    driver.get(report.resolve().as_uri())
    link = driver.execute_script(
        "return [...document.querySelectorAll('a[href^=\"#\"]')].find(a => a.textContent === "
        "arguments[0])", LONG)
    link.click()
    section = driver.execute_script(
        "const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));"
        "return [target.closest('details').open, target.textContent]")
    assert section[0], "the link did not open the student's section"
    assert HUGE in section[1] and "subtract each row" in section[1]


def test_flagged_rows_say_why_in_words(opened):
    rows = opened.execute_script(
        "return [...document.querySelector('table').tBodies[0].rows].map(r => "
        "[r.cells[0].textContent, r.className, r.cells[5].textContent])")
    assert len(rows) == 2 * len(CLASS)
    for student, class_, flag in rows:
        expected = FLAGGED.get(student, "")
        assert flag == expected, (student, flag)
        assert (class_ == "flagged") == bool(expected), student
    summary = opened.execute_script("return document.body.innerText")
    assert "Flagged for a look: " in summary and "2 needs regrade" in summary


def test_no_students_text_runs_or_becomes_an_element(opened):
    assert opened.execute_script("return window.pwned === undefined")
    assert opened.execute_script("return document.scripts.length") == 0
    sources = opened.execute_script("return [...document.images].map(i => i.src.slice(0, 5))")
    assert sources and set(sources) == {"data:"}  # the charts, and no student's <img>
    shown = opened.execute_script("return document.body.innerText")
    assert SCRIPT in shown and IMG in shown and LONG in shown


def test_the_checks_catch_a_page_that_breaks_them(driver, tmp_path):
    wide = tmp_path / "wide.html"
    wide.write_text("<!DOCTYPE html><table><tr><td style='white-space: nowrap'>"
                    + "a long unwrapped cell " * 200 + "</td></tr></table>")
    driver.get(wide.as_uri())
    with pytest.raises(AssertionError, match="wider than the window"):
        browser.assert_fits(driver, WIDTH)
    broken = tmp_path / "broken.html"
    broken.write_text('<!DOCTYPE html><a href="#nowhere">x</a> <a href="feedback/x.html">y</a>')
    driver.get(broken.as_uri())
    with pytest.raises(AssertionError, match="no element with the id of the link '#nowhere'"):
        browser.assert_links_resolve(driver)
    (tmp_path / "broken.html").write_text('<!DOCTYPE html><a href="feedback/x.html">y</a>')
    driver.get(broken.as_uri())
    with pytest.raises(AssertionError, match="points to no file"):
        browser.assert_links_resolve(driver)
