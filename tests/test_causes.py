"""One cause said once: a function that breaks the same way in several checks is explained at
the first of them, in `grader check`, in the JSON (a shared cause id), in the gradebook and in
both kinds of feedback; a gradebook from before causes opens and gains the column."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from helpers import LINREG_FILE, REPO, replace_function

from grader import api
from grader.cli import main
from grader.gradebook import Gradebook, NewRun
from grader.outcomes import Outcome, RunStatus
from grader.reports.frames import tables

BROKEN = """
def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2 + bias_term
"""
RAISED = "`squared_loss` raised NameError: name 'bias_term' is not defined"
CHECKS = ["squared_loss_matches_the_reference", "squared_loss_gradients_are_right"]
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


def record(book: Gradebook, result, student: str = "carol") -> None:
    book.record(NewRun(
        student=student, assignment="linreg", version="v1", content_hash=student, path=student,
        submitted_at=NOW, status=RunStatus.GRADED, started_at=NOW, finished_at=NOW, seed=0,
        device="cpu", isolation="basic", fingerprint={}, checks=result.checks,
    ))


@pytest.fixture(scope="module")
def broken(linreg_grader, tmp_path_factory):
    """(the folder, its SubmissionResult): squared_loss raises at one line, whatever it meets."""
    folder = tmp_path_factory.mktemp("carol")
    source = replace_function((REPO / "reference" / LINREG_FILE).read_text(), "squared_loss",
                              BROKEN)
    (folder / LINREG_FILE).write_text(source)
    return folder, linreg_grader.grade(folder, student="carol", functions=["squared_loss"])


def test_checks_that_failed_for_one_reason_share_a_cause(broken):
    _, result = broken
    failed = [c for c in result.checks if c.status is Outcome.ERROR]
    assert [c.id for c in failed] == CHECKS
    assert len({c.cause for c in failed}) == 1 and failed[0].cause
    passed = [c for c in result.checks if c.status is Outcome.PASSED]
    assert all(c.cause == "" for c in passed)


def test_grader_check_says_the_cause_once(broken, data_root):
    folder, _ = broken
    run = CliRunner().invoke(main, ["check", str(folder), "-a", "linreg", "--function",
                                    "squared_loss", "--data-root", str(data_root)])
    assert run.exit_code == 0, run.output
    assert run.stdout.count(RAISED) == 1
    assert f"one cause, 2 checks: {', '.join(CHECKS)}" in run.stdout
    assert f"same cause as {CHECKS[0]}" in run.stdout
    as_json = CliRunner().invoke(main, ["check", str(folder), "-a", "linreg", "--function",
                                        "squared_loss", "--data-root", str(data_root), "--json"])
    causes = {c["id"]: c["cause"] for c in json.loads(as_json.stdout)["checks"]}
    assert causes[CHECKS[0]] == causes[CHECKS[1]] != ""


def test_feedback_says_the_cause_once(broken, tmp_path):
    _, result = broken
    db = f"sqlite:///{tmp_path / 'grades.db'}"
    with Gradebook(db) as book:
        record(book, result)
    paths = api.feedback(tmp_path / "feedback", db=db).paths
    titles = [c.title for c in result.checks if c.id in CHECKS]
    for path in paths:
        page = path.read_text()
        shown = RAISED if path.suffix == ".md" else RAISED.replace("'", "&#x27;")
        assert page.count(shown) == 1, path
        assert "one cause, 2 checks" in page and "same cause as" in page, path
        assert titles[0].split(" ")[0] in page


def test_a_gradebook_from_before_causes_opens_and_gains_the_column(broken, tmp_path):
    _, result = broken
    path = tmp_path / "old.db"
    Gradebook(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as old:  # as the gradebook was made before this column existed
        old.execute("ALTER TABLE check_results DROP COLUMN cause")
    with Gradebook(f"sqlite:///{path}") as book:
        record(book, result)
        _, checks = tables(book)
    shared = checks.set_index("check_id").loc[CHECKS, "cause"]
    assert shared.nunique() == 1 and shared.iloc[0] != ""


def test_the_class_report_says_the_cause_once(broken, linreg_grader, tmp_path):
    _, result = broken
    (tmp_path / "dave").mkdir()  # handed in nothing: every check missing, for one reason
    nothing = linreg_grader.grade(tmp_path / "dave", student="dave", functions=["squared_loss"])
    assert {c.status for c in nothing.checks if c.counted} == {Outcome.MISSING}
    db = f"sqlite:///{tmp_path / 'grades.db'}"
    with Gradebook(db) as book:
        record(book, result)
        record(book, nothing, student="dave")
    page = api.report(tmp_path / "report.html", db=db).paths[0].read_text()
    assert "One cause, several checks" in page
    assert page.count("name &#x27;bias_term&#x27; is not defined") == 1
    assert ", ".join(CHECKS) in page
    causes = page[page.index("One cause, several checks"):]
    assert "dave" not in causes  # a missing file is no cause to list check by check
