"""The gradebook on a real SQLite file: runs, resume keys, overrides, the report tables."""

from __future__ import annotations

import sqlite3
import stat
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader.gradebook import Gradebook, GradebookError, NewRun
from grader.outcomes import RunStatus
from grader.outcomes.results import Category, CheckResult, Outcome
from grader.reports.frames import tables

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def check(id: str, status: Outcome, points: float = 2.0, **extra) -> CheckResult:
    passed = status is Outcome.PASSED
    return CheckResult(id, "softmax", Category.CORRECTNESS, status, points if passed else 0.0,
                       points, f"{id} works", **extra)


def run(student: str = "alice", digest: str = "h1", *checks: CheckResult, **extra) -> NewRun:
    fields = dict(
        student=student, assignment="softmax", version="v1", content_hash=digest,
        path=f"/class/{student}", submitted_at=T0, status=RunStatus.GRADED, started_at=T0,
        finished_at=T0 + timedelta(seconds=3), seed=0, device="cpu", isolation="strict",
        fingerprint={"grader": "0.1.0", "torch": "2.13.0"},
        checks=checks or (check("a", Outcome.PASSED), check("b", Outcome.FAILED, hint="max")),
    )
    return NewRun(**{**fields, **extra})


@pytest.fixture
def book(tmp_path: Path) -> Gradebook:
    with Gradebook(f"sqlite:///{tmp_path / 'grades.db'}") as gradebook:
        yield gradebook


def test_a_new_sqlite_gradebook_is_private_and_in_wal_mode(book):
    assert stat.S_IMODE(book.path.stat().st_mode) == 0o600
    book.record(run())
    with sqlite3.connect(book.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_run_and_its_checks_are_stored_whole(book):
    run_id = book.record(run()).run_id
    with sqlite3.connect(book.path) as db:
        score, maximum, status = db.execute(
            "SELECT score, max_score, status FROM runs WHERE id = ?", (run_id,)).fetchone()
        statuses = db.execute(
            "SELECT check_id, status FROM check_results WHERE run_id = ? ORDER BY check_id",
            (run_id,)).fetchall()
    assert (score, maximum, status) == (2.0, 4.0, "graded")
    assert statuses == [("a", "passed"), ("b", "failed")]


def test_a_run_that_cannot_be_stored_leaves_nothing_behind(book):
    twice = (check("a", Outcome.PASSED), check("a", Outcome.PASSED))  # breaks (run, check) unique
    with pytest.raises(Exception, match="UNIQUE"):
        book.record(run("carol", "h9", *twice))
    with sqlite3.connect(book.path) as db:
        counts = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("students", "submissions", "runs", "check_results")]
    assert counts == [0, 0, 0, 0]


def test_graded_knows_content_and_version_and_retries_the_graders_failures(book):
    book.record(run("alice", "h1"))
    book.record(run("bob", "h2", status=RunStatus.NOT_RUN, checks=(), error="bad zip"))
    book.record(run("carol", "h3", status=RunStatus.INFRASTRUCTURE_ERROR, checks=(),
                    error="slot died"))
    book.record(run("dan", "h4", status=RunStatus.CRASHED, checks=(), error="segfault"))
    assert book.graded("d2l-ch3", "softmax", "v1") == {("alice", "h1"), ("bob", "h2"),
                                                       ("dan", "h4")}
    assert book.graded("d2l-ch3", "softmax", "v2") == set()
    assert book.graded("d2l-ch3", "linreg", "v1") == set()


def test_the_report_tables_take_the_newest_run_the_grader_did_not_fail_on(book):
    lost = {"status": RunStatus.INFRASTRUCTURE_ERROR, "checks": (), "error": "slot died"}
    book.record(run("alice", "h1"))
    book.record(run("alice", "h2", check("a", Outcome.PASSED), check("b", Outcome.PASSED)))
    book.record(run("alice", "h2", **lost))  # a regrade of the same content failed: h2 stands
    book.record(run("bob", "h5", **lost))
    book.record(run("cy", "h6"))
    book.record(run("cy", "h7", **lost))  # a new submission the grader failed on: no score yet
    scores, checks = tables(book)
    assert scores[["student", "content_hash", "status"]].values.tolist() == [
        ["alice", "h2", "graded"], ["bob", "h5", "infrastructure_error"],
        ["cy", "h7", "infrastructure_error"],
    ]
    assert scores.loc[0, ["score", "max_score", "percent"]].tolist() == [4.0, 4.0, 100.0]
    assert scores.loc[1:, ["score", "max_score", "percent"]].isna().all(axis=None)
    assert scores.loc[2, "reason"] == "slot died"
    assert set(checks["student"]) == {"alice"} and len(checks) == 2
    assert str(scores["graded_at"].dt.tz) == "UTC"


def test_skipped_checks_count_towards_neither_score_nor_maximum(book):
    book.record(run("alice", "h1", check("a", Outcome.PASSED), check("gpu", Outcome.SKIPPED)))
    scores, _ = tables(book)
    assert (scores.loc[0, "score"], scores.loc[0, "max_score"]) == (2.0, 2.0)


def test_overrides_win_and_survive_a_regrade(book):
    book.record(run("alice", "h1"))
    book.override("alice", "softmax", 1.5, check_id="b", by="ta@uni", reason="partial credit")
    scores, checks = tables(book)
    assert scores.loc[0, "score"] == 3.5 and bool(scores.loc[0, "overridden"])
    assert checks.set_index("check_id").loc["b", "points"] == 1.5
    book.record(run("alice", "h2"))  # a resubmission, graded again: the override still holds
    scores, _ = tables(book)
    assert scores.loc[0, "score"] == 3.5 and scores.loc[0, "content_hash"] == "h2"
    book.override("alice", "softmax", 4.0, by="prof", reason="regrade request")
    assert tables(book)[0].loc[0, "score"] == 4.0


@pytest.mark.parametrize(("student", "check_id", "by", "message"), [
    ("nobody", None, "ta", "no student 'nobody'"),
    ("alice", "no_such_check", "ta", "no graded check 'no_such_check'"),
    ("alice", None, " ", "needs who"),
])
def test_overrides_refuse_what_the_gradebook_does_not_hold(book, student, check_id, by, message):
    book.record(run("alice", "h1"))
    with pytest.raises(GradebookError, match=message):
        book.override(student, "softmax", 1.0, check_id=check_id, by=by, reason="why")


def test_tables_filter_by_assignment(book):
    book.record(run("alice", "h1"))
    book.record(replace(run("alice", "h1"), assignment="linreg"))
    scores, checks = tables(book, "linreg")
    assert scores["assignment"].tolist() == ["linreg"]
    assert set(checks["assignment"]) == {"linreg"}


def test_an_empty_gradebook_gives_empty_tables(book):
    scores, checks = tables(book)
    assert scores.empty and checks.empty
    assert "score" in scores.columns and "check_id" in checks.columns


@pytest.mark.parametrize(("url", "message"), [
    ("sqlite:////no/such/folder/grades.db", "no such folder"),
    ("not a url", "not a database URL"),
    ("nosuchdialect://x/y", "cannot open the gradebook"),
])
def test_a_gradebook_that_cannot_open_is_a_one_line_error(url, message):
    with pytest.raises(GradebookError, match=message) as raised:
        Gradebook(url)
    assert "\n" not in str(raised.value)


def test_grader_db_names_the_default_gradebook(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_DB", f"sqlite:///{tmp_path / 'env.db'}")
    with Gradebook() as gradebook:
        gradebook.record(run())
    assert (tmp_path / "env.db").is_file()


def test_a_gradebook_locked_by_another_program_is_waited_for_and_nothing_is_lost(
    tmp_path, monkeypatch
):
    """Issue 20, item 6: a lock held past the busy timeout used to lose the batch's results."""
    import threading

    from grader.gradebook import store

    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 200)  # read when the gradebook opens
    path = tmp_path / "grades.db"
    with Gradebook(f"sqlite:///{path}") as book:
        # a TA's database browser, released from the timer's thread
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # holds the write lock
        release = threading.Timer(1.5, lambda: other.execute("ROLLBACK"))
        release.start()
        try:
            with pytest.warns(store.GradebookBusy, match="locked by another program") as seen:
                recorded = book.record(run("alice", "h1", check("a", Outcome.PASSED)))
        finally:
            release.join()
            other.close()
        assert recorded.stored and len(seen) >= 2  # it warned, and waited past one timeout
        scores, _ = tables(book)
    assert scores.set_index("student").loc["alice", "score"] == 2.0
