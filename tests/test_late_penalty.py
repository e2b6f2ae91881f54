"""Late submissions: days late stored once with the run, the course's late_penalty taken from the
score in every report, export and feedback, a whole-score override untouched by it."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import textwrap
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from grader import api
from grader.batch.executor import Executor, Finished, Job, utcnow
from grader.batch.run import Options, run_batch
from grader.courses.settings import (
    AssignmentSettings,
    CourseSettings,
    ServiceSettings,
    days_late,
)
from grader.gradebook import Gradebook, NewRun
from grader.outcomes import RunStatus, UsageError
from grader.outcomes.results import Category, CheckResult, Outcome
from grader.reports.frames import tables
from grader.service.policy import Earlier, decide

DEADLINE = datetime(2026, 10, 1, 21, 59, tzinfo=timezone.utc)
COURSE = "late-course"
# on time, 0.2 days late, 2.5 days late, 20 days late: 0%, 10%, 30%, capped at 100% off
LATE = {"ada": 0.0, "bo": 0.2, "cy": 2.5, "dee": 20.0}
PENALISED = {"ada": 2.0, "bo": 1.8, "cy": 1.4, "dee": 0.0}  # of a raw 2 / 4 at 0.1 a day
SETTINGS = CourseSettings(COURSE, COURSE, {"softmax": AssignmentSettings(
    deadline=DEADLINE, late_until=DEADLINE + timedelta(days=30), late_penalty=0.1)})
TOML = """
[softmax]
deadline = 2026-10-01T23:59:00+02:00
late_until = 2026-10-31T23:59:00+02:00
late_penalty = 0.1
"""


def check(id: str, passed: bool, points: float = 2.0) -> CheckResult:
    status = Outcome.PASSED if passed else Outcome.FAILED
    return CheckResult(id, "softmax", Category.CORRECTNESS, status, points if passed else 0.0,
                       points, f"{id} works")


def run(student: str, late_days: float = 0.0, **extra) -> NewRun:
    """A run scoring 2 of 4, handed in ``late_days`` after the deadline."""
    handed_in = DEADLINE + timedelta(days=late_days)
    fields = dict(
        student=student, course=COURSE, assignment="softmax", version="v1",
        content_hash=student, path=f"/class/{student}", submitted_at=handed_in,
        status=RunStatus.GRADED, started_at=handed_in, finished_at=handed_in, seed=0,
        device="cpu", isolation="strict", fingerprint={"grader": "0.1.0"},
        checks=(check("a", True), check("b", False)), late_days=late_days,
    )
    return NewRun(**{**fields, **extra})


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'grades.db'}"
    with Gradebook(url) as book:
        for student, late in LATE.items():
            book.record(run(student, late))
    return url


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A course folder whose course.toml gives softmax a deadline and 10% a day late."""
    folder = tmp_path / "course"
    (folder / "softmax").mkdir(parents=True)
    (folder / "softmax" / "__init__.py").write_text('"""softmax"""\n')
    (folder / "course.toml").write_text(f'name = "{COURSE}"\n{textwrap.dedent(TOML)}')
    return folder


def scores_of(url: str, settings: CourseSettings | None = SETTINGS) -> pd.DataFrame:
    with Gradebook(url, create=False) as book:
        return tables(book, settings=settings)[0].set_index("student")


# The formula ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("late_days", "per_day", "taken"), [
    (0.0, 0.1, 0.0),  # on time
    (0.01, 0.1, 0.1),  # a quarter of an hour late: one day begun
    (0.2, 0.1, 0.1),
    (1.0, 0.1, 0.1),  # exactly a day
    (2.5, 0.1, 0.3),
    (20.0, 0.1, 1.0),  # 200% capped at the whole score
    (3.0, 0.0, 0.0),  # a course without a penalty
])
def test_the_penalty_counts_every_day_begun_and_is_at_most_the_whole_score(
        late_days, per_day, taken):
    assert AssignmentSettings(late_penalty=per_day).penalty(late_days) == taken


def test_days_late_is_one_measure_for_the_service_and_a_batch():
    assert days_late(None, DEADLINE + timedelta(days=3)) == 0.0
    assert days_late(DEADLINE, DEADLINE - timedelta(hours=1)) == 0.0
    assert days_late(DEADLINE, DEADLINE + timedelta(hours=36)) == 1.5
    admitted = decide("softmax", SETTINGS.of("softmax"), ServiceSettings(), Earlier((), 0),
                      size=1, now=DEADLINE + timedelta(hours=60))
    assert admitted.late_days == 2.5


# The gradebook and its tables ----------------------------------------------------------------


def test_a_run_stores_its_late_days(url, tmp_path):
    with sqlite3.connect(tmp_path / "grades.db") as db:
        stored = dict(db.execute("SELECT students.name, runs.late_days FROM runs JOIN "
                                 "submissions ON submissions.id = runs.submission_id JOIN "
                                 "students ON students.id = submissions.student_id"))
    assert stored == LATE


def test_the_score_is_after_the_penalty_and_the_raw_score_before(url):
    scores = scores_of(url)
    assert scores["score"].to_dict() == PENALISED
    assert scores["raw_score"].to_dict() == dict.fromkeys(LATE, 2.0)
    assert scores["late_days"].to_dict() == LATE
    assert scores["late_penalty"].to_dict() == {"ada": 0.0, "bo": 0.1, "cy": 0.3, "dee": 1.0}
    assert scores["percent"].to_dict() == {s: 100 * p / 4 for s, p in PENALISED.items()}


def test_without_the_course_settings_nothing_is_taken_but_lateness_shows(url):
    scores = scores_of(url, settings=None)
    assert scores["score"].to_dict() == dict.fromkeys(LATE, 2.0)
    assert scores["late_days"].to_dict() == LATE


def test_the_same_files_again_after_the_deadline_keep_their_on_time_run(url):
    with Gradebook(url) as book:
        again = book.record(run("ada", 3.0))
    assert not again.stored
    assert scores_of(url).loc["ada", ["score", "late_days"]].tolist() == [2.0, 0.0]


def test_a_whole_score_override_is_the_final_word_and_a_check_override_is_penalised(url):
    with Gradebook(url) as book:
        book.override("dee", "softmax", 3.5, by="ta@uni", reason="illness", course=COURSE)
        book.override("cy", "softmax", 2.0, check_id="b", by="ta@uni", reason="fair",
                      course=COURSE)
    scores = scores_of(url)
    assert scores.loc["dee", ["score", "raw_score", "late_penalty"]].tolist() == [3.5, 3.5, 0.0]
    assert scores.loc["cy", ["score", "raw_score", "late_penalty"]].tolist() == [2.8, 4.0, 0.3]


def test_a_gradebook_from_before_the_column_gains_it_when_opened(tmp_path):
    path = tmp_path / "old.db"
    with Gradebook(f"sqlite:///{path}") as book:
        book.record(run("ada"))
    with sqlite3.connect(path) as db:  # the runs table as it was made before late_days
        db.execute("ALTER TABLE runs DROP COLUMN late_days")
    with Gradebook(f"sqlite:///{path}") as book:
        book.record(run("bo", 2.5))
        with book.engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT late_days FROM runs ORDER BY id").all()
    assert [late for (late,) in rows] == [0.0, 2.5]
    assert scores_of(f"sqlite:///{path}")["score"].to_dict() == {"ada": 2.0, "bo": 1.4}


# Every report, export and feedback, from course.toml ------------------------------------------


def test_course_toml_drives_the_penalty_in_the_csv_report(url, course, tmp_path):
    out = tmp_path / "report.csv"
    api.report(out, db=url, course=str(course))
    with out.open(encoding="utf-8") as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    assert {s: float(r["score"]) for s, r in rows.items()} == PENALISED
    assert {s: float(r["raw_score"]) for s, r in rows.items()} == dict.fromkeys(LATE, 2.0)
    assert float(rows["cy"]["late_penalty"]) == 0.3 and float(rows["cy"]["percent"]) == 35.0


def test_feedback_says_how_late_and_what_it_cost(url, course, tmp_path):
    api.feedback(tmp_path / "fb", db=url, course=str(course))
    markdown = (tmp_path / "fb" / "cy" / "softmax.md").read_text(encoding="utf-8")
    html = (tmp_path / "fb" / "cy" / "softmax.html").read_text(encoding="utf-8")
    line = "Score: 1.4 / 4 (35.0%), late by 3 days: \u221230% of 2"
    assert f"**{line}**" in markdown and line in html
    on_time = (tmp_path / "fb" / "ada" / "softmax.md").read_text(encoding="utf-8")
    assert "**Score: 2 / 4 (50.0%)**" in on_time and "late" not in on_time


def test_lms_and_gradescope_exports_give_the_penalised_score(url, course, tmp_path):
    api.export("canvas", tmp_path / "canvas.csv", db=url, course=str(course))
    with (tmp_path / "canvas.csv").open(encoding="utf-8") as file:
        marks = {row["Student"]: row["softmax"] for row in csv.DictReader(file)}
    assert marks == {"Points Possible": "4", "ada": "2", "bo": "1.8", "cy": "1.4", "dee": "0"}
    api.export("gradescope", tmp_path / "bo.json", db=url, course=str(course), student="bo")
    results = json.loads((tmp_path / "bo.json").read_text(encoding="utf-8"))
    assert results["score"] == 1.8 and "late by 1 day: \u221210% of 2" in results["output"]


def test_late_runs_of_a_course_whose_toml_cannot_be_found_are_not_reported_unpenalised(
        url, tmp_path):
    with pytest.raises(UsageError, match="late_penalty.*--course"):
        api.report(tmp_path / "report.csv", db=url)


def test_the_built_in_course_takes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'grades.db'}"
    with Gradebook(url) as book:
        book.record(run("ada", 4.0, course="d2l-ch3"))
    api.report(tmp_path / "report.csv", db=url)
    report = pd.read_csv(tmp_path / "report.csv")
    assert report[["score", "late_days", "late_penalty"]].values.tolist() == [[2.0, 4.0, 0.0]]


# grader batch -------------------------------------------------------------------------------


class _NothingRuns(Executor):
    """Hands every job back ungraded, at once: the batch's bookkeeping without grading."""

    def __init__(self, settings, jobs=None) -> None:
        pass

    def run(self, jobs: Iterable[Job]) -> Iterator[Finished]:
        for job in jobs:
            yield Finished(job, None, utcnow(), utcnow(), error="not graded in this test",
                           fingerprint={"grader": "test"})

    def close(self) -> None:
        pass


@pytest.fixture
def batch_course(tmp_path: Path) -> Path:
    folder = tmp_path / "batch-course"
    (folder / "softmax").mkdir(parents=True)
    (folder / "softmax" / "__init__.py").write_text(textwrap.dedent('''
        from grader.authoring import Assignment

        assignment = Assignment(name="softmax", title="softmax", student_file="hw.py",
                                functions=("double",))

        @assignment.check(function="double", category="correctness", points=2)
        def doubles(student, ref):
            """double doubles."""
        '''))
    (folder / "softmax" / "reference.py").write_text("def double(x):\n    return 2 * x\n")
    (folder / "course.toml").write_text(f'name = "{COURSE}"\n{textwrap.dedent(TOML)}')
    return folder


@pytest.mark.parametrize(("from_mtime", "expected"), [
    (False, {"ada": 0.0, "bo": 0.0}),  # file times are no evidence unless staff say so
    (True, {"ada": 0.0, "bo": 2.5}),
])
def test_a_batch_takes_late_days_from_file_times_only_when_asked(
        batch_course, tmp_path, from_mtime, expected):
    root = tmp_path / "class"
    for student, late in {"ada": -0.5, "bo": 2.5}.items():
        (root / student).mkdir(parents=True)
        (root / student / "hw.py").write_text("def double(x):\n    return 2 * x\n")
        moment = (DEADLINE + timedelta(days=late)).timestamp()
        os.utime(root / student / "hw.py", (moment, moment))
    url = f"sqlite:///{tmp_path / 'grades.db'}"
    options = Options("softmax", course=str(batch_course), isolation="basic", jobs=1,
                      late_from_mtime=from_mtime)
    with Gradebook(url) as book:
        run_batch(root, book, options, executor=_NothingRuns)
    assert scores_of(url)["late_days"].round(6).to_dict() == expected
