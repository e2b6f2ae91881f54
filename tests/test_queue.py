"""The service's queue in the gradebook, on SQLite and on PostgreSQL: order, leases, and one
run per job however many workers finish it (docs/service.md, "The queue")."""

from __future__ import annotations

import io
import threading
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from grader.gradebook import (
    Enqueued,
    Gradebook,
    JobState,
    NewRun,
    claim,
    enqueue,
    fail,
    finish,
    history,
    queue_overview,
    renew,
    status,
)
from grader.gradebook.models import JobRow, RunRow
from grader.outcomes import RunStatus
from grader.outcomes.results import Category, CheckResult, Outcome

pytest_plugins = ["postgres"]

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
COURSE = "d2l-ch3"
TINY_LEASE = 0.2  # seconds: tests sleep past it, never assert how soon it ran out
PAST_IT = 3 * TINY_LEASE
LONG_LEASE = 600.0  # cannot run out during a test, however busy the machine
WORKERS = 8


def upload(text: str = "def softmax(X):\n    return X\n") -> bytes:
    """A zip as a student uploads it: bytes that are not text (NUL, 0xff) included. Its members
    carry a fixed time, so the same text makes the same bytes at any moment."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("softmax_regression.py", (2026, 1, 1, 0, 0, 0)), text)
        archive.writestr(zipfile.ZipInfo("weights.bin", (2026, 1, 1, 0, 0, 0)),
                         bytes([0, 255, 1, 254]))
    return buffer.getvalue()


def new_run(student: str = "alice", digest: str = "h1", **extra) -> NewRun:
    checks = (CheckResult("a", "softmax", Category.CORRECTNESS, Outcome.PASSED, 2.0, 2.0,
                          "a works"),)
    fields = dict(
        student=student, assignment="softmax", version="v1", content_hash=digest,
        path=f"job:{student}", submitted_at=T0, status=RunStatus.GRADED, started_at=T0,
        finished_at=T0 + timedelta(seconds=3), seed=0, device="cpu", isolation="strict",
        fingerprint={"grader": "0.1.0"}, checks=checks, course=COURSE,
    )
    return NewRun(**{**fields, **extra})


def lost(error: str = "the slot died") -> NewRun:
    return new_run(status=RunStatus.INFRASTRUCTURE_ERROR, checks=(), error=error)


def submit(book: Gradebook, student: str = "alice", **extra):
    return enqueue(book, course=COURSE, assignment="softmax", student_id=student,
                   files=upload(student), **extra)


@pytest.fixture
def book(url):
    with Gradebook(url) as gradebook:
        yield gradebook


def count(book: Gradebook, model) -> int:
    """Rows in a table, read from the table itself."""
    with book.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def states(book: Gradebook) -> dict[int, tuple[str, int]]:
    """job id -> (status, attempts), read from the table."""
    with book.session() as session:
        rows = session.execute(select(JobRow.id, JobRow.status, JobRow.attempts))
        return {id: (str(state), attempts) for id, state, attempts in rows}


# Enqueue -----------------------------------------------------------------------------------


def test_jobs_queue_in_order_and_a_claim_moves_the_rest_up(book):
    jobs = [submit(book, name) for name in ("alice", "bob", "carol")]
    assert [(j.position, j.created) for j in jobs] == [(0, True), (1, True), (2, True)]
    assert claim(book, "w1", lease=LONG_LEASE).job_id == jobs[0].id
    assert [status(book, j.id).position for j in jobs] == [None, 0, 1]
    assert status(book, jobs[0].id).status is JobState.RUNNING
    assert status(book, jobs[0].id + 1000) is None


def test_an_idempotency_key_used_again_by_the_student_returns_the_first_job(book):
    first = submit(book, idempotency_key="k1")
    again = submit(book, idempotency_key="k1")
    assert (again.id, again.created) == (first.id, False)
    assert submit(book, "bob", idempotency_key="k1").created  # another student's key
    other_course = enqueue(book, course="cs231n", assignment="softmax", student_id="alice",
                           files=b"zip", idempotency_key="k1")
    assert other_course.created
    assert submit(book).created and submit(book).created  # no key: every upload is a job
    assert count(book, JobRow) == 5


def test_racing_requests_with_one_idempotency_key_make_one_job(url):
    Gradebook(url).close()  # the tables, made once
    start = threading.Barrier(WORKERS, timeout=120)

    def request(_):
        with Gradebook(url) as book:
            start.wait()
            return submit(book, idempotency_key="retry-1")

    with ThreadPoolExecutor(WORKERS) as pool:
        answers = list(pool.map(request, range(WORKERS)))
    assert len({a.id for a in answers}) == 1 and sum(a.created for a in answers) == 1
    with Gradebook(url) as book:
        assert count(book, JobRow) == 1


# Claim -------------------------------------------------------------------------------------


def test_claims_take_the_oldest_job_with_its_files_and_none_when_all_are_taken(book):
    ids = [submit(book, name, admit=lambda session, now, i=i: 0.5 * i).id
           for i, name in enumerate(("ann", "ben"))]
    first = claim(book, "w1", lease=LONG_LEASE)
    second = claim(book, "w2", lease=LONG_LEASE)
    assert [(c.job_id, c.attempt, c.worker) for c in (first, second)] == [
        (ids[0], 1, "w1"), (ids[1], 1, "w2")]
    assert (second.student_id, second.assignment, second.late_days) == ("ben", "softmax", 0.5)
    assert zipfile.ZipFile(io.BytesIO(second.files)).read("softmax_regression.py") == b"ben"
    assert claim(book, "w3", lease=LONG_LEASE) is None  # both leases hold


def test_racing_workers_claim_every_job_exactly_once(url):
    with Gradebook(url) as book:
        ids = [submit(book, f"student{i}").id for i in range(20)]
    start = threading.Barrier(WORKERS, timeout=120)

    def worker(n: int) -> list[int]:
        with Gradebook(url) as book:
            start.wait()
            taken = []
            while (held := claim(book, f"w{n}", lease=LONG_LEASE)) is not None:
                taken.append(held.job_id)
            return taken

    with ThreadPoolExecutor(WORKERS) as pool:
        claimed = Counter(j for taken in pool.map(worker, range(WORKERS)) for j in taken)
    assert claimed == Counter(ids)
    with Gradebook(url) as book:
        assert set(states(book).values()) == {("running", 1)}


def test_a_job_whose_lease_ran_out_goes_to_the_next_worker(book):
    job = submit(book).id
    claim(book, "w1", lease=TINY_LEASE)
    time.sleep(PAST_IT)
    taken = claim(book, "w2", lease=LONG_LEASE)
    assert (taken.job_id, taken.attempt, taken.worker) == (job, 2, "w2")
    assert queue_overview(book, COURSE).running[0].worker == "w2"


def test_a_renewed_lease_keeps_the_job(book):
    submit(book)
    held = claim(book, "w1", lease=TINY_LEASE)
    assert renew(book, held, lease=LONG_LEASE)
    time.sleep(PAST_IT)  # past the first lease, not the renewed one
    assert claim(book, "w2", lease=LONG_LEASE) is None


def test_a_job_whose_workers_were_lost_three_times_fails(book):
    job = submit(book).id
    for attempt in (1, 2, 3):
        assert claim(book, f"w{attempt}", lease=TINY_LEASE).attempt == attempt
        time.sleep(PAST_IT)
    assert claim(book, "w4", lease=LONG_LEASE) is None
    failed = status(book, job)
    assert (failed.status, failed.attempts) == (JobState.FAILED, 3)
    assert failed.error == "the grading worker was lost 3 times"
    assert failed.finished_at is not None and count(book, RunRow) == 0


# Finish, exactly once ----------------------------------------------------------------------


def test_finish_stores_the_run_and_marks_the_job_done(book):
    job = submit(book).id
    held = claim(book, "w1", lease=LONG_LEASE)
    assert finish(book, held, new_run())
    done = status(book, job)
    assert (done.status, done.position, done.error) == (JobState.DONE, None, "")
    with book.session() as session:
        assert session.scalars(select(RunRow.id)).all() == [done.run_id]
    assert not finish(book, held, new_run())  # no longer running: a second finish is stale
    assert not renew(book, held, lease=LONG_LEASE)
    assert count(book, RunRow) == 1


def test_the_stale_worker_stores_nothing_and_the_new_one_stores_one_run(book):
    job = submit(book).id
    stale = claim(book, "w1", lease=TINY_LEASE)
    time.sleep(PAST_IT)
    current = claim(book, "w2", lease=LONG_LEASE)
    assert not renew(book, stale, lease=LONG_LEASE)
    assert not finish(book, stale, new_run())
    assert count(book, RunRow) == 0 and status(book, job).status is JobState.RUNNING
    assert renew(book, current, lease=LONG_LEASE)
    assert finish(book, current, new_run())
    assert not finish(book, stale, new_run())
    assert count(book, RunRow) == 1 and status(book, job).status is JobState.DONE


def test_the_same_worker_name_claiming_again_fences_its_old_claim(book):
    """A worker restarted under the same name: the attempt number tells its claims apart."""
    submit(book)
    old = claim(book, "w1", lease=TINY_LEASE)
    time.sleep(PAST_IT)
    new = claim(book, "w1", lease=LONG_LEASE)
    assert not finish(book, old, new_run()) and finish(book, new, new_run())
    assert count(book, RunRow) == 1


def test_two_workers_finishing_one_job_at_once_store_one_run(url):
    with Gradebook(url) as book:
        job = submit(book).id
        stale = claim(book, "w1", lease=TINY_LEASE)
        time.sleep(PAST_IT)
        current = claim(book, "w2", lease=LONG_LEASE)
    start = threading.Barrier(2, timeout=120)

    def finisher(held) -> bool:
        with Gradebook(url) as book:
            start.wait()
            return finish(book, held, new_run())

    with ThreadPoolExecutor(2) as pool:
        finished = list(pool.map(finisher, [stale, current]))
    assert finished == [False, True]
    with Gradebook(url) as book:
        assert count(book, RunRow) == 1 and status(book, job).status is JobState.DONE


def test_a_job_for_a_submission_already_graded_points_to_that_run(book):
    """The run goes through record's dedupe: the same files uploaded twice are graded once."""
    first, second = submit(book).id, submit(book).id
    for _ in (first, second):
        assert finish(book, claim(book, "w1", lease=LONG_LEASE), new_run())
    assert status(book, first).run_id == status(book, second).run_id is not None
    assert count(book, RunRow) == 1


def test_an_infrastructure_error_queues_the_job_again_then_fails_it(book):
    job = submit(book).id
    for attempt in (1, 2):
        held = claim(book, "w1", lease=LONG_LEASE)
        assert held.attempt == attempt and finish(book, held, lost())
        again = status(book, job)
        assert (again.status, again.attempts, again.position) == (JobState.QUEUED, attempt, 0)
        assert again.error == "the slot died"
    assert finish(book, claim(book, "w1", lease=LONG_LEASE), lost("the disk is full"))
    failed = status(book, job)
    assert (failed.status, failed.attempts, failed.run_id) == (JobState.FAILED, 3, None)
    assert failed.error.endswith("failed 3 times, the grader's fault each time: the disk is full")
    assert claim(book, "w1", lease=LONG_LEASE) is None
    assert count(book, RunRow) == 0


def test_a_stale_infrastructure_error_changes_nothing(book):
    submit(book)
    stale = claim(book, "w1", lease=TINY_LEASE)
    time.sleep(PAST_IT)
    claim(book, "w2", lease=LONG_LEASE)
    assert not finish(book, stale, lost()) and not fail(book, stale, "bad zip")
    assert set(states(book).values()) == {("running", 2)}


def test_fail_gives_up_with_the_reason(book):
    job = submit(book).id
    held = claim(book, "w1", lease=LONG_LEASE)
    assert fail(book, held, "no assignment softmax in course d2l-ch3")
    failed = status(book, job)
    assert (failed.status, failed.error) == (JobState.FAILED,
                                             "no assignment softmax in course d2l-ch3")
    assert not finish(book, held, new_run()) and count(book, RunRow) == 0


# What staff see, and a restart -------------------------------------------------------------


def test_the_overview_counts_a_courses_jobs_and_names_the_workers(book):
    for name in ("ann", "ben", "cy", "dee"):
        submit(book, name)
    enqueue(book, course="cs231n", assignment="knn", student_id="eve", files=b"zip")
    finish(book, claim(book, "w1", lease=LONG_LEASE), new_run("ann"))
    fail(book, claim(book, "w1", lease=LONG_LEASE), "bad zip")
    claim(book, "w2", lease=LONG_LEASE)
    overview = queue_overview(book, COURSE)
    assert overview.counts == {JobState.QUEUED: 1, JobState.RUNNING: 1, JobState.DONE: 1,
                               JobState.FAILED: 1}
    assert [(r.student_id, r.worker, r.attempts) for r in overview.running] == [("cy", "w2", 1)]
    assert queue_overview(book, "cs231n").counts[JobState.QUEUED] == 1


def test_the_queue_and_its_files_survive_closing_the_gradebook(url):
    files = upload("def softmax(X):\n    return X.exp()\n")
    with Gradebook(url) as book:
        first = enqueue(book, course=COURSE, assignment="softmax", student_id="alice",
                        files=files, idempotency_key="k1").id
        submit(book, "bob")
    with Gradebook(url, create=False) as book:
        held = claim(book, "w1", lease=LONG_LEASE)
    assert (held.job_id, held.files) == (first, files)
    with Gradebook(url, create=False) as book:
        assert finish(book, held, new_run())  # a claim outlives the worker's connection
        assert submit(book, idempotency_key="k1") == Enqueued(first, None, created=False,
                                                               status=JobState.DONE)
        taken = claim(book, "w2", lease=LONG_LEASE)
        assert (taken.student_id, taken.files) == ("bob", upload("bob"))
        assert status(book, first).status is JobState.DONE and count(book, RunRow) == 1


def test_a_position_counts_only_the_jobs_of_the_same_course(book):
    enqueue(book, course="another-course", assignment="softmax", student_id="zoe",
            files=upload("zoe"))
    mine = submit(book, "ann")
    assert mine.position == 0  # the other course's job is graded by that course's workers
    assert status(book, mine.id).position == 0
    assert [j.position for j in history(book, COURSE)] == [0]
