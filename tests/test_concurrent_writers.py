"""Two writers at once on one gradebook, on PostgreSQL and on SQLite: nothing lost, nothing twice.

The PostgreSQL server is a throwaway cluster (tests/postgres.py); without Debian's postgresql
package those tests are skipped and the SQLite ones still run.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers import REPO
from sqlalchemy import func, select

from grader.gradebook import Gradebook, GradebookError, NewRun, database_url
from grader.gradebook.models import CheckResultRow, RunRow, StudentRow, SubmissionRow
from grader.grading.catalog import get_assignment
from grader.outcomes import RunStatus
from grader.outcomes.results import Category, CheckResult, Outcome
from grader.reports.frames import tables

pytest_plugins = ["postgres"]

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
GRADER = Path(sys.executable).parent / "grader"  # the console script, as a teacher runs it
CLASS = REPO / "examples" / "class"
SUMMARY = re.compile(r"(\d+) submissions, (\d+) graded, (\d+) skipped, (\d+) not run, "
                     r"(\d+) timed out, (\d+) crashed, (\d+) need a regrade")
WRITERS = 8


def check(id: str, status: Outcome, points: float = 2.0, **extra) -> CheckResult:
    passed = status is Outcome.PASSED
    return CheckResult(id, "softmax", Category.CORRECTNESS, status, points if passed else 0.0,
                       points, f"{id} works", **extra)


def new_run(student: str = "alice", digest: str = "h1", **extra) -> NewRun:
    fields = dict(
        student=student, assignment="softmax", version="v1", content_hash=digest,
        path=f"/class/{student}", submitted_at=T0, status=RunStatus.GRADED, started_at=T0,
        finished_at=T0 + timedelta(seconds=3), seed=0, device="cpu", isolation="strict",
        fingerprint={"grader": "0.1.0", "torch": "2.13.0"},
        checks=(check("a", Outcome.PASSED), check("b", Outcome.FAILED, hint="max")),
    )
    return NewRun(**{**fields, **extra})


def runs_of(url: str) -> Counter:
    """(student, status) -> how many runs."""
    query = (select(StudentRow.name, RunRow.status)
             .join(RunRow.submission).join(SubmissionRow.student))
    with Gradebook(url, create=False) as book, book.session() as session:
        return Counter((name, str(status)) for name, status in session.execute(query))


# The URL as typed ---------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "used"), [
    ("postgresql://ta@db.uni/grades", "postgresql+psycopg://ta@db.uni/grades"),
    ("postgres://ta:pw@db.uni:6543/grades", "postgresql+psycopg://ta:pw@db.uni:6543/grades"),
    ("postgresql+psycopg2://ta@db.uni/grades", "postgresql+psycopg2://ta@db.uni/grades"),
    ("sqlite:///grades.db", "sqlite:///grades.db"),
])
def test_a_postgresql_url_as_typed_gets_psycopg_and_a_named_driver_stays(typed, used):
    assert database_url(typed) == used


def test_a_server_that_cannot_be_reached_is_one_line_without_the_password():
    pytest.importorskip("psycopg", reason="no psycopg: pip install 'psycopg[binary]'")
    with pytest.raises(GradebookError, match="cannot open the gradebook") as raised:
        Gradebook("postgresql://ta:s3cret@127.0.0.1:1/grades")  # port 1: refused at once
    message = str(raised.value)
    assert "\n" not in message and "s3cret" not in message and "ta:***@127.0.0.1" in message


def test_a_driver_that_is_not_installed_is_named_with_how_to_install_it():
    pytest.importorskip("sqlalchemy.dialects.postgresql.pg8000")
    if importlib.util.find_spec("pg8000") is not None:
        pytest.skip("pg8000 is installed here")
    with pytest.raises(GradebookError, match=r"no driver 'pg8000' \(pip install pg8000\)"):
        Gradebook("postgresql+pg8000://ta@127.0.0.1:1/grades")


# The gradebook on PostgreSQL ----------------------------------------------------------------


def test_a_postgresql_gradebook_with_shorter_status_columns_is_widened_when_opened(
    postgres_url
):
    """Gradebooks made when every status fitted 16 characters: infrastructure_error does not."""
    with Gradebook(postgres_url) as book, book.engine.begin() as connection:
        for table, column in (("runs", "status"), ("check_results", "status")):
            connection.exec_driver_sql(f"ALTER TABLE {table} ALTER COLUMN {column} "
                                       "TYPE VARCHAR(16)")
    with Gradebook(postgres_url) as book:
        book.record(new_run(status=RunStatus.INFRASTRUCTURE_ERROR, checks=(), error="lost"))
        with book.engine.connect() as connection:
            lengths = connection.exec_driver_sql(
                "SELECT character_maximum_length FROM information_schema.columns "
                "WHERE column_name = 'status' AND table_name IN ('runs', 'check_results') "
                "ORDER BY table_name").scalars().all()
    assert lengths == [32, 32]
    assert runs_of(postgres_url) == {("alice", "infrastructure_error"): 1}


def test_a_postgresql_gradebook_from_before_late_days_gains_the_column_when_opened(
    postgres_url
):
    """Its runs were all handed in on time, as far as anyone knew: 0 days late."""
    with Gradebook(postgres_url) as book:
        book.record(new_run("alice", "h1"))
        with book.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE runs DROP COLUMN late_days")
    with Gradebook(postgres_url) as book:
        book.record(new_run("bob", "h2", late_days=2.5))
        with book.engine.connect() as connection:
            late = connection.exec_driver_sql(
                "SELECT late_days FROM runs ORDER BY id").scalars().all()
    assert late == [0.0, 2.5]


def test_runs_overrides_and_tables_round_trip_on_postgresql(postgres_url):
    with Gradebook(postgres_url) as book:
        assert book.path is None  # no file, so no 0600 file to make
        book.record(new_run("alice", "h1"))
        # bob's run as a gradebook from before not_run stored it: it reads back as not_run
        book.record(new_run("bob", "h2", status=RunStatus.ERROR, checks=(), error="bad zip"))
        book.record(new_run("carol", "h3", status=RunStatus.CRASHED, checks=(), error="died"))
        book.record(new_run("dan", "h4", status=RunStatus.TIMED_OUT, error="budget"))
        # the longest status there is: PostgreSQL enforces the column's length
        book.record(new_run("erin", "h5", status=RunStatus.INFRASTRUCTURE_ERROR, checks=(),
                            error="the worker could not fork"))
        assert book.graded("d2l-ch3", "softmax", "v1") == {("alice", "h1"), ("bob", "h2"),
                                                           ("carol", "h3"), ("dan", "h4")}
        book.override("alice", "softmax", 1.5, check_id="b", by="ta@uni", reason="partial")
        scores, checks = tables(book)
    by_student = scores.set_index("student")
    assert by_student["status"].to_dict() == {"alice": "graded", "bob": "not_run",
                                              "carol": "crashed", "dan": "timed_out",
                                              "erin": "infrastructure_error"}
    assert by_student.loc["bob", "reason"] == "bad zip"
    assert by_student.loc[["erin"], ["score", "max_score", "percent"]].isna().all(axis=None)
    assert by_student.loc["alice", "score"] == 3.5 and by_student.loc["alice", "overridden"]
    assert by_student.loc["alice", "graded_at"] == T0 + timedelta(seconds=3)
    assert str(scores["graded_at"].dt.tz) == "UTC"
    assert checks.set_index("check_id")["hint"].to_dict() == {"a": "", "b": "max"}


def test_postgresql_keeps_what_sqlite_would_have_kept(postgres_url):
    """A 64-bit seed, a fingerprint and datetimes come back as given; NUL, which PostgreSQL's
    text cannot hold, comes back as U+FFFD instead of refusing the run."""
    fingerprint = {"grader": "0.1.0", "gpus": "none", "nested": {"cuda": None, "n": [1, 2]}}
    odd = new_run("dana", "h4", seed=2**40 + 1, fingerprint=fingerprint,
                  started_at=datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2))),
                  checks=(check("a", Outcome.ERROR, message="raised ValueError('a\x00b')"),))
    with Gradebook(postgres_url) as book:
        run_id = book.record(odd).run_id
        with book.session() as session:
            run = session.get(RunRow, run_id)
            message = session.scalar(select(CheckResultRow.message))
    assert (run.seed, run.fingerprint) == (2**40 + 1, fingerprint)
    assert run.started_at == datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc)
    assert run.started_at.tzinfo is timezone.utc
    assert message == "raised ValueError('a\ufffdb')"


def test_an_override_by_longer_than_the_column_is_refused_on_every_database(url):
    with Gradebook(url) as book:
        book.record(new_run())
        with pytest.raises(GradebookError, match="--by is 256 characters long; at most 255"):
            book.override("alice", "softmax", 1.0, by="t" * 256, reason="why")


# One finished run per submission and version ------------------------------------------------


def test_a_second_finished_run_of_the_same_submission_is_skipped_unless_regraded(url):
    with Gradebook(url) as book:
        first = book.record(new_run())
        again = book.record(new_run())
        error = book.record(new_run(status=RunStatus.ERROR, checks=(), error="too big"))
        assert first.stored and (again.stored, again.run_id) == (False, first.run_id)
        assert (error.stored, error.run_id) == (False, first.run_id)
        regraded = book.record(new_run(regrade=True))
        assert regraded.stored and regraded.run_id > first.run_id
        assert book.record(new_run()).run_id == regraded.run_id  # the newest finished one
    assert runs_of(url) == {("alice", "graded"): 2}


@pytest.mark.parametrize(("field", "value"), [
    ("student", "bob"),  # the same files handed in by someone else
    ("content_hash", "h2"),  # a resubmission
    ("version", "v2"),  # the assignment's checks changed
])
def test_another_student_content_or_version_is_a_run_of_its_own(url, field, value):
    with Gradebook(url) as book:
        book.record(new_run())
        assert book.record(replace(new_run(), **{field: value})).stored


def test_runs_needing_a_regrade_are_always_stored_and_never_stand_in_for_a_grade(url):
    lost = new_run(status=RunStatus.INFRASTRUCTURE_ERROR, checks=(), error="the slot died")
    with Gradebook(url) as book:
        assert book.record(lost).stored and book.record(lost).stored
        assert book.graded("d2l-ch3", "softmax", "v1") == set()  # the next batch grades it
        assert book.record(new_run()).stored  # failures only: still to grade
        assert book.record(lost).stored  # after a grade too: the failure is worth keeping
        scores, _ = tables(book)
    assert runs_of(url) == {("alice", "infrastructure_error"): 3, ("alice", "graded"): 1}
    # the grade of the same submission stands over a later failure to grade it again
    assert scores[["status", "score"]].values.tolist() == [["graded", 2.0]]


def race(url: str, runs: list[NewRun]) -> list[list]:
    """WRITERS threads, each with its own gradebook (its own connections), opened at the same
    moment, record each of ``runs`` at the same moment; returns, per run, what each writer's
    ``record`` returned."""
    start = threading.Barrier(WRITERS, timeout=120)

    def writer(_) -> list:
        try:
            start.wait()
            with Gradebook(url) as book:
                results = []
                for new in runs:
                    start.wait()
                    results.append(book.record(new))
                return results
        except BaseException:
            start.abort()  # the others stop waiting for this one
            raise

    with ThreadPoolExecutor(WRITERS) as pool:
        per_writer = list(pool.map(writer, range(WRITERS)))
    return [list(recorded) for recorded in zip(*per_writer, strict=True)]


@pytest.mark.parametrize("failed_before", [False, True],
                         ids=["new", "retried after the grader failed"])
def test_racing_writers_store_one_graded_run_and_all_agree_on_it(url, failed_before):
    """New, the student's row is what writers collide on; retried, every row but the run is
    there already and only the lock on the submission keeps the writers apart."""
    students = [f"student{i}" for i in range(6)]
    if failed_before:
        with Gradebook(url) as book:
            for name in students:
                book.record(new_run(name, status=RunStatus.INFRASTRUCTURE_ERROR, checks=(),
                                    error="died"))
    outcomes = race(url, [new_run(name) for name in students])
    for recorded in outcomes:
        assert sum(r.stored for r in recorded) == 1, recorded
        assert len({r.run_id for r in recorded}) == 1, recorded
    assert {k: n for k, n in runs_of(url).items() if k[1] == "graded"} == {
        (name, "graded"): 1 for name in students}


def test_racing_regrades_are_all_stored(url):
    outcomes = race(url, [new_run("alice", regrade=True)])
    assert all(r.stored for r in outcomes[0])
    assert len({r.run_id for r in outcomes[0]}) == WRITERS
    assert runs_of(url) == {("alice", "graded"): WRITERS}


# Two `grader batch` processes at once --------------------------------------------------------


def write_class(root: Path, students: dict[str, str]) -> Path:
    """A class folder: student -> the example submission they copied."""
    root.mkdir()
    for student, example in students.items():
        shutil.copytree(CLASS / example, root / student)
    return root


def start_batches(url: str, roots: list[Path], data_root: Path, logs: list[Path]
                  ) -> list[subprocess.Popen]:
    """One ``grader batch`` per root, started at the same moment.

    On PostgreSQL every insert into runs is held back until each batch waits on a lock: each is
    then inside ``record``, so each planned its work before either stored anything.
    """
    def start(root: Path, log: Path) -> subprocess.Popen:
        with log.open("w") as out:  # a file, not a pipe: nothing blocks while the test waits
            return subprocess.Popen(
                [str(GRADER), "batch", str(root), "-a", "linreg", "--jobs", "1", "--device",
                 "cpu", "--db", url, "--data-root", str(data_root)],
                stdout=out, stderr=subprocess.STDOUT,
            )

    if not url.startswith("postgresql"):
        return [start(root, log) for root, log in zip(roots, logs, strict=True)]
    Gradebook(url).close()  # the tables, so that there is a table to lock
    with Gradebook(url) as book, book.engine.connect() as connection:
        connection.exec_driver_sql("LOCK TABLE runs IN EXCLUSIVE MODE")  # plain reads still go
        batches = [start(root, log) for root, log in zip(roots, logs, strict=True)]
        # pg_locks, not pg_stat_activity: that one is a snapshot taken once per transaction.
        waiting = "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted"
        deadline = time.monotonic() + 180
        while connection.exec_driver_sql(waiting).scalar() < len(batches):
            if any(batch.poll() is not None for batch in batches):
                break  # `finish` shows why
            assert time.monotonic() < deadline, "the batches never both waited in `record`"
            time.sleep(0.1)
        connection.commit()
    return batches


def finish(batches: list[subprocess.Popen], logs: list[Path]) -> list[tuple[int, ...]]:
    """Each batch's (found, graded, skipped, not run, timed out, crashed, to regrade), once
    all have exited 0."""
    for process in batches:
        process.wait(timeout=240)
    outputs = [log.read_text() for log in logs]
    for process, output in zip(batches, outputs, strict=True):
        assert process.returncode == 0, output
    return [tuple(int(n) for n in SUMMARY.search(output).groups()) for output in outputs]


def assert_whole(url: str) -> None:
    """Every run has all its check results; on SQLite, the file passes its integrity check."""
    checks = len(get_assignment("linreg").checks)
    query = select(func.count(CheckResultRow.id)).select_from(RunRow).outerjoin(RunRow.results)
    with Gradebook(url, create=False) as book, book.session() as session:
        assert set(session.scalars(query.group_by(RunRow.id))) == {checks}
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("PRAGMA foreign_key_check").fetchall() == []


@pytest.mark.slow
def test_two_batches_over_one_class_grade_each_submission_once(url, tmp_path, data_root):
    """Both batches find nothing graded and grade all three; each submission is stored once,
    and the batch that came second counts it as skipped."""
    root = write_class(tmp_path / "class", {"ada": "ada", "ada twin": "ada",
                                            "chen wei": "chen wei"})
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    summaries = finish(start_batches(url, [root, root], data_root, logs), logs)
    assert [(found, graded + skipped) for found, graded, skipped, *_ in summaries] == [(3, 3)] * 2
    assert sum(graded for _, graded, *_ in summaries) == 3
    assert runs_of(url) == {("ada", "graded"): 1, ("ada twin", "graded"): 1,
                            ("chen wei", "graded"): 1}
    if url.startswith("postgresql"):  # held until both were in `record`: neither skipped early
        assert not any("already graded" in log.read_text() for log in logs)
        # each submission graded twice, stored once: the other batch's progress says so
        said = sum(log.read_text().count("graded by another batch meanwhile") for log in logs)
        assert said == 3
    assert_whole(url)


@pytest.mark.slow
def test_two_batches_over_two_classes_store_every_run(postgres_url, tmp_path, data_root):
    roots = [write_class(tmp_path / f"class{i}", {f"{name}{i}": name for name in
                                                   ("ada", "chen wei")}) for i in (1, 2)]
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    summaries = finish(start_batches(postgres_url, roots, data_root, logs), logs)
    assert summaries == [(2, 2, 0, 0, 0, 0, 0)] * 2
    assert runs_of(postgres_url) == {(f"{name}{i}", "graded"): 1
                                     for name in ("ada", "chen wei") for i in (1, 2)}
    assert_whole(postgres_url)
