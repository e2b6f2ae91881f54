"""Every zero explained (issue 19, item 1): a submission that never ran is `not_run`, one whose
time ran out is `timed_out`, each with its reason, in the batch's summary, the gradebook, every
report and the feedback; item analysis counts graded submissions only.

The class is the shipped examples plus three: one that does not import, one with its file
misnamed, one that sleeps through its time budget. The course is the built-in one, copied with a
time budget of a few seconds so that the sleeper runs out quickly.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import LINREG_FILE, REFERENCE_FILE, REPO

from grader.cli import main

# seconds for a whole linreg submission in this course: 20 times what the reference takes
# here, so a busy machine never cuts a correct one, while the sleeper needs over a minute
BUDGET = 20
SLEEPER = REFERENCE_FILE.read_text() + '''

import time as _time

_linreg = linreg


def linreg(X, w, b):
    _time.sleep(3)
    return _linreg(X, w, b)
'''


def short_budget_course(folder: Path) -> Path:
    """The built-in course, with linreg's time budget cut to BUDGET."""
    shutil.copytree(REPO / "assignments", folder)
    toml = "\n".join([
        'name = "ta-term"',
        "[linreg]",
        f'reference = "{REPO / "reference" / LINREG_FILE}"',
        f'template = ["{REPO / "student_template" / LINREG_FILE}"]',
        f"time_budget = {BUDGET}",
    ])
    (folder / "course.toml").write_text(toml + "\n")
    for other in ("softmax", "gradients"):
        shutil.rmtree(folder / other)
    return folder


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, data_root):
    top = tmp_path_factory.mktemp("term")
    course = short_budget_course(top / "course")
    root = top / "class"
    shutil.copytree(REPO / "examples" / "class", root)
    (root / "ivy").mkdir()
    (root / "ivy" / LINREG_FILE).write_text("import torchvision\n" + REFERENCE_FILE.read_text())
    (root / "jon").mkdir()
    (root / "jon" / "linear_regresion.py").write_text(REFERENCE_FILE.read_text())
    (root / "kim").mkdir()
    (root / "kim" / LINREG_FILE).write_text(SLEEPER)
    url = f"sqlite:///{top / 'grades.db'}"
    result = CliRunner().invoke(main, ["batch", str(root), "-a", "linreg", "--course",
                                       str(course), "--db", url, "--device", "cpu",
                                       "--data-root", str(data_root), "--jobs", "2"])
    return top, course, url, result


EXPECTED = {
    "ivy": ("not_run", "importing linear_regression.py failed: `linear_regression.py` raised "
                       "ModuleNotFoundError: No module named 'torchvision'"),
    "jon": ("not_run", "linear_regression.py not found in the submission"),
    "broken": ("not_run", "linear_regression.py has a syntax error (line 6)"),
    "kim": ("timed_out", f"it used up its time budget of {BUDGET} s"),
}


def test_the_batch_counts_each_status(graded_class):
    *_, result = graded_class
    assert result.exit_code == 0, result.output
    # bob handed in softmax only: for linreg he too is not run
    assert "4 not run, 1 timed out, 0 crashed, 0 need a regrade" in result.output
    assert "! ivy  not_run: importing linear_regression.py failed" in result.output
    assert "kim  " in result.output and "timed_out: it used up its time budget" in result.output


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "html"])
def test_every_report_shows_status_and_reason(graded_class, fmt):
    top, course, url, _ = graded_class
    out = top / f"report.{fmt}"
    result = CliRunner().invoke(main, ["report", "--db", url, "--course", "ta-term", "-o",
                                       str(out)])
    assert result.exit_code == 0, result.output
    if fmt == "html":
        page = out.read_text()
        for status, reason in EXPECTED.values():
            assert status in page and reason.replace("'", "&#x27;") in page
        assert "Graded submissions only; left out: 4 not run, 1 timed out." in page
        return
    scores = (pd.read_csv(out) if fmt == "csv" else pd.read_excel(out, sheet_name="scores"))
    rows = scores.set_index("student")
    for student, (status, reason) in EXPECTED.items():
        assert rows.loc[student, "status"] == status
        assert reason in rows.loc[student, "reason"]
    assert (rows.loc[["ada", "alice"], "status"] == "graded").all()
    if fmt == "xlsx":  # none of the four in item analysis: attempts are the graded ones only
        items = pd.read_excel(out, sheet_name="items")
        graded = int((rows["status"] == "graded").sum())
        assert items["attempts"].max() == graded


def test_feedback_says_why_once(graded_class):
    top, course, url, _ = graded_class
    out = top / "feedback"
    result = CliRunner().invoke(main, ["feedback", "--db", url, "--course", "ta-term", "-o",
                                       str(out)])
    assert result.exit_code == 0, result.output
    for student, (_, reason) in EXPECTED.items():
        text = (out / student / "linreg.md").read_text()
        assert text.count(reason) == 1, (student, text)
    assert "Nothing of this submission ran" in (out / "jon" / "linreg.md").read_text()
    kim = (out / "kim" / "linreg.md").read_text()
    assert "ran out of time" in kim and "## `synthetic_data`" in kim  # what ran is listed
