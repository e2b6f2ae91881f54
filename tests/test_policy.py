"""Whether the service takes an upload now: deadline, rate limit and quota, counted from a real
gradebook's jobs (grader.service.policy), and course.toml's keys that set them."""

from __future__ import annotations

import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from grader import options
from grader.courses import settings as course_toml
from grader.courses.settings import AssignmentSettings, CourseError, ServiceSettings
from grader.gradebook import Gradebook, enqueue
from grader.gradebook.models import JobRow
from grader.service.policy import Decision, Earlier, admission, admit, decide, earlier_jobs
from grader.service.uploads import UploadRefused

pytest_plugins = ["postgres"]

UTC = timezone.utc
CEST = timezone(timedelta(hours=2))
DEADLINE = datetime(2026, 10, 1, 23, 59, tzinfo=CEST)
LATE_UNTIL = datetime(2026, 10, 4, 23, 59, tzinfo=CEST)
T0 = datetime(2026, 9, 20, 9, 0, tzinfo=UTC)  # well before the deadline
MIB = 2**20
COURSE = "deep-learning"
BURST = 8  # uploads of one student sent at once


@pytest.fixture
def book(tmp_path):
    with Gradebook(f"sqlite:///{tmp_path / 'grades.db'}") as gradebook:
        yield gradebook


def queued(book: Gradebook, at: datetime, *, student: str = "alice",
           assignment: str = "softmax", course: str = COURSE, size: int = 100) -> int:
    """One job, as enqueue stores it, created at ``at``."""
    job = enqueue(book, course=course, assignment=assignment, student_id=student,
                  files=bytes(size))
    with book.session(write=True) as session:
        session.execute(update(JobRow).where(JobRow.id == job.id).values(created_at=at))
    return job.id


def judged(book: Gradebook, now: datetime, *, settings: AssignmentSettings | None = None,
           service: ServiceSettings | None = None, size: int = 100,
           student: str = "alice") -> Decision:
    earlier = earlier_jobs(book, COURSE, "softmax", student, now)
    return decide("softmax", settings or AssignmentSettings(), service or ServiceSettings(),
                  earlier, size=size, now=now)


def refusal(book: Gradebook, now: datetime, **given) -> UploadRefused:
    with pytest.raises(UploadRefused) as caught:
        judged(book, now, **given)
    return caught.value


# The deadline

TERM = AssignmentSettings(deadline=DEADLINE, late_until=LATE_UNTIL, late_penalty=0.1)


@pytest.mark.parametrize("now, late_days", [
    (DEADLINE - timedelta(seconds=1), 0.0),
    (DEADLINE, 0.0),
    (DEADLINE.astimezone(UTC) + timedelta(hours=6), 0.25),  # another zone, the same moment
    (DEADLINE + timedelta(days=1, hours=12), 1.5),
    (LATE_UNTIL, 3.0),  # the last moment taken
])
def test_late_days_count_from_the_deadline(book, now, late_days):
    assert judged(book, now, settings=TERM) == Decision(late_days)


def test_after_late_until_the_upload_is_refused_naming_the_deadline(book):
    err = refusal(book, LATE_UNTIL + timedelta(microseconds=1), settings=TERM)
    assert (err.status, err.reason, err.retry_after) == (
        403, "late submissions for softmax closed at 2026-10-04T23:59:00+02:00 (the deadline "
             "was 2026-10-01T23:59:00+02:00)", None)


def test_without_late_until_the_deadline_is_the_end(book):
    err = refusal(book, DEADLINE + timedelta(seconds=1),
                  settings=AssignmentSettings(deadline=DEADLINE))
    assert (err.status, err.reason) == (
        403, "the deadline for softmax was 2026-10-01T23:59:00+02:00 and late submissions are "
             "not accepted")


def test_without_a_deadline_nothing_is_late(book):
    assert judged(book, datetime(2099, 1, 1, tzinfo=UTC)) == Decision(0.0)


def test_the_time_must_say_its_zone(book):
    naive = datetime(2026, 9, 20, 9, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        earlier_jobs(book, COURSE, "softmax", "alice", naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        decide("softmax", TERM, ServiceSettings(), Earlier((), 0), size=1, now=naive)


# The rate limit, counted from the jobs table

@pytest.mark.parametrize("after, retry_after", [
    (timedelta(seconds=12), 18),
    (timedelta(seconds=12.5), 18),  # 17.5 s left: rounded up
    (timedelta(seconds=29.9), 1),  # never 0
    (timedelta(0), 30),
])
def test_one_submission_per_interval(book, after, retry_after):
    queued(book, T0 - timedelta(minutes=5))
    queued(book, T0)
    err = refusal(book, T0 + after)
    assert (err.status, err.retry_after) == (429, retry_after)
    assert err.reason == f"you may submit softmax once every 30 s; try again in {retry_after} s"


def test_the_interval_over_the_upload_is_taken(book):
    queued(book, T0)
    assert judged(book, T0 + timedelta(seconds=30)) == Decision(0.0)


def test_fifty_a_day_then_wait_for_the_oldest_to_be_a_day_old(book):
    for minute in range(50):
        queued(book, T0 + timedelta(minutes=minute))
    now = T0 + timedelta(minutes=50)  # the interval has passed
    err = refusal(book, now)
    assert (err.status, err.retry_after) == (429, 86_400 - 50 * 60)
    assert err.reason == ("you have submitted softmax 50 times in the last 24 hours, the most "
                          "allowed; try again in 23 h 10 min")
    assert refusal(book, T0 + timedelta(days=1, seconds=-0.5)).retry_after == 1
    assert judged(book, T0 + timedelta(days=1)) == Decision(0.0)  # the first is a day old


@pytest.mark.parametrize("second, now, retry_after, reason", [
    (timedelta(minutes=9), timedelta(minutes=10), 86_400 - 600,  # the interval's is 540 s
     "you have submitted softmax 2 times in the last 24 hours, the most allowed; try again in "
     "23 h 50 min"),
    (timedelta(hours=23, minutes=58), timedelta(hours=23, minutes=59), 540,  # the day's is 60 s
     "you may submit softmax once every 600 s; try again in 9 min"),
])
def test_the_longer_wait_is_the_one_said(book, second, now, retry_after, reason):
    queued(book, T0)
    queued(book, T0 + second)
    err = refusal(book, T0 + now, service=ServiceSettings(submit_interval=600, submits_per_day=2))
    assert (err.status, err.retry_after, err.reason) == (429, retry_after, reason)


def test_only_this_students_jobs_of_this_assignment_and_course_count(book):
    queued(book, T0, student="bob")
    queued(book, T0, assignment="linear")
    queued(book, T0, course="other-course")
    queued(book, T0 - timedelta(days=1))  # a day old: out of the window
    assert judged(book, T0 + timedelta(seconds=1)) == Decision(0.0)
    # alice's two jobs in the course count against her quota; none is in this day's window
    assert earlier_jobs(book, COURSE, "softmax", "alice", T0) == Earlier((), 200)


def test_the_deadline_is_checked_before_the_rate_limit(book):
    queued(book, LATE_UNTIL)
    assert refusal(book, LATE_UNTIL + timedelta(seconds=1), settings=TERM).status == 403


# The quota: what the student stores in the course, every assignment

def test_the_quota_counts_every_stored_upload_of_the_course(book):
    service = ServiceSettings(upload_quota_bytes=2 * MIB)
    queued(book, T0 - timedelta(days=3), size=MIB)
    queued(book, T0 - timedelta(days=2), assignment="linear", size=MIB // 2)
    queued(book, T0, course="other-course", size=MIB)  # not this course's
    queued(book, T0, student="bob", size=MIB)  # not this student's
    assert judged(book, T0, service=service, size=MIB // 2) == Decision(0.0)  # exactly full
    err = refusal(book, T0, service=service, size=MIB // 2 + 1)
    assert (err.status, err.reason, err.retry_after) == (
        413, "your uploads to this course take 1.5 MiB of your 2 MiB quota and this one is "
             "524,289 bytes; ask the course staff for room", None)


# From course.toml to a decision

def write_course(folder: Path, toml: str) -> Path:
    folder.mkdir()
    (folder / "course.toml").write_text(f'name = "{COURSE}"\n{textwrap.dedent(toml)}')
    (folder / "softmax").mkdir()
    (folder / "softmax" / "__init__.py").write_text("")
    return folder


def test_course_toml_sets_the_limits(tmp_path, book):
    course = course_toml.read(write_course(tmp_path / "c", """
        submit_interval = 0
        submits_per_day = 2
        upload_limit_mb = 2.5
        upload_quota_mb = 20

        [softmax]
        deadline = 2026-10-01T23:59:00+02:00
        """))
    assert course.service == ServiceSettings(0.0, 2, int(2.5 * MIB), 20 * MIB)
    queued(book, T0)
    assert admit(book, course, "softmax", "alice", size=10, now=T0) == Decision(0.0)
    queued(book, T0)
    err = pytest.raises(UploadRefused, admit, book, course, "softmax", "alice", size=10, now=T0)
    assert (err.value.status, err.value.retry_after) == (429, 86_400)


def test_without_the_keys_the_defaults_hold(tmp_path):
    course = course_toml.read(write_course(tmp_path / "c", ""))
    assert course.service == ServiceSettings(
        options.SUBMIT_INTERVAL, options.SUBMITS_PER_DAY, options.UPLOAD_MAX_BYTES,
        options.UPLOAD_QUOTA_BYTES)
    assert (course.service.upload_max_bytes, course.service.upload_quota_bytes) == (
        5 * MIB, 100 * MIB)


@pytest.mark.parametrize("toml, message", [
    ('submit_interval = "30"', "submit_interval = '30' is not a number"),
    ("submits_per_day = 2.5", "submits_per_day = 2.5 is not a whole number"),
    ("submits_per_day = true", "submits_per_day = True is not a whole number"),
    ('upload_limit_mb = "5 MB"', "upload_limit_mb = '5 MB' is not a number"),
    ("upload_quota_mb = [100]", "upload_quota_mb = [100] is not a number"),
    ("submit_interval = -1", "submit_interval is in seconds, from 0 to 86400 (a day)"),
    ("submit_interval = 86401", "submit_interval is in seconds, from 0 to 86400 (a day)"),
    ("submits_per_day = 0", "submits_per_day must be at least 1"),
    ("upload_limit_mb = 0", "upload_limit_mb is in MiB and must be positive"),
    ("upload_quota_mb = -5", "upload_quota_mb is in MiB and must be positive"),
    ("upload_quota_mb = nan", "upload_quota_mb is in MiB and must be positive"),
    ("upload_limit_mb = inf", "upload_limit_mb is in MiB and must be positive"),
    ("submit_intervall = 30", "unknown key 'submit_intervall' (known: name, submit_interval, "
                              "submits_per_day, title, upload_limit_mb, upload_quota_mb, and one "
                              "[table] per assignment)"),
    # below a [table] a key is the assignment's: TOML's rule, and the error says where it went
    ("[softmax]\nsubmits_per_day = 5", "[softmax]: unknown key 'submits_per_day'"),
])
def test_a_wrong_service_key_is_one_line_naming_the_file_and_key(tmp_path, toml, message):
    folder = write_course(tmp_path / "c", toml + "\n")
    with pytest.raises(CourseError) as caught:
        course_toml.read(folder)
    text = str(caught.value)
    assert text.startswith(f"{folder / 'course.toml'}: ") and len(text.splitlines()) == 1
    assert message in text
    if "known:" in message:
        assert text == f"{folder / 'course.toml'}: {message}"


# Uploads at the same instant: the limit holds inside enqueue's transaction

@pytest.fixture(params=["sqlite", "postgresql"])
def any_book(request, tmp_path):
    url = (f"sqlite:///{tmp_path / 'grades.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    with Gradebook(url) as gradebook:
        yield gradebook


def test_a_burst_of_uploads_from_one_student_is_held_to_the_limit(tmp_path, any_book):
    course = course_toml.read(write_course(tmp_path / "c", """
        submit_interval = 0
        submits_per_day = 3
        """))
    barrier = threading.Barrier(BURST)

    def hand_in(n: int) -> int | UploadRefused:
        barrier.wait()
        try:
            return enqueue(any_book, course=course.name, assignment="softmax",
                           student_id="alice", files=bytes(10 + n),
                           admit=admission(course, "softmax", "alice", size=10 + n)).id
        except UploadRefused as refused:
            return refused

    with ThreadPoolExecutor(BURST) as pool:
        answers = list(pool.map(hand_in, range(BURST)))
    taken = [a for a in answers if isinstance(a, int)]
    refused = [a for a in answers if isinstance(a, UploadRefused)]
    assert len(taken) == 3 and len(set(taken)) == 3, [str(a) for a in answers]
    assert [r.status for r in refused] == [429] * (BURST - 3)
    with any_book.session() as session:
        assert session.scalar(select(func.count()).select_from(JobRow)) == 3
    # another student is not held back by alice's burst
    assert enqueue(any_book, course=course.name, assignment="softmax", student_id="bob",
                   files=b"x", admit=admission(course, "softmax", "bob", size=1)).created
