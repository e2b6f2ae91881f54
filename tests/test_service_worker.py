"""The service's grading worker (docs/service.md, "The queue", "Processes"): each job graded as
`grader check` grades the same files and finished exactly once, through the grader's own
failure, a worker killed with SIGKILL mid-grading, and a claim that went stale."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from helpers import LINREG_FILE, REFERENCE_FILE, replace_function
from sqlalchemy import func, select

from grader import api, options
from grader.gradebook import Gradebook, JobState, NewRun, claim, enqueue, finish, status
from grader.gradebook.models import RunRow
from grader.grading.grader import Grader
from grader.outcomes import RunStatus
from grader.service.worker import Ending, serve_jobs

COURSE = options.BUILTIN_COURSE
REFERENCE = REFERENCE_FILE.read_text()
BUGGY = replace_function(REFERENCE, "squared_loss", """
    def squared_loss(y_hat, y):
        return (y_hat - y.reshape(y_hat.shape)) ** 2  # the / 2 forgotten
""")
NOT_IMPORTING = "import a_module_no_one_installed\n" + REFERENCE
# Sleeps on import, so that grading it takes seconds and a kill lands while it runs.
SLEEPY = "import time\ntime.sleep(6)\n" + REFERENCE
TINY_LEASE = 0.2  # seconds: tests sleep past it, never assert how soon it ran out
KILL_LEASE = 3.0  # the subprocess workers': short, so the second worker need not wait long
PATIENCE = 300.0  # seconds to wait for a subprocess worker, on a busy 2-core machine


@pytest.fixture(autouse=True)
def _no_course_from_the_environment(monkeypatch):
    monkeypatch.delenv(options.COURSE_ENV, raising=False)


@pytest.fixture
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'grades.db'}"


def zipped(files: dict[str, str]) -> bytes:
    """An upload as the service stores it: the submission folder's files at the top."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def queue(url: str, student: str, source: str, *, course: str = COURSE) -> int:
    with Gradebook(url) as gradebook:
        return enqueue(gradebook, course=course, assignment="linreg", student_id=student,
                       files=zipped({LINREG_FILE: source})).id


def work(url: str, data_root: Path, max_jobs: int, **extra):
    return serve_jobs(url, course=None, data_root=data_root, device="cpu", poll=0.05,
                      max_jobs=max_jobs, **extra)


def run_count(url: str) -> int:
    with Gradebook(url) as gradebook, gradebook.session() as session:
        return session.scalar(select(func.count()).select_from(RunRow))


def test_each_job_is_graded_as_grader_check_grades_its_files(url, data_root, make_submission):
    sources = {"a1": REFERENCE, "b2": BUGGY, "c3": NOT_IMPORTING}
    jobs = {student: queue(url, student, source) for student, source in sources.items()}
    summary = work(url, data_root, max_jobs=3)
    assert [(h.job_id, h.ending) for h in summary.handled] == [(j, Ending.DONE)
                                                                for j in jobs.values()]
    assert run_count(url) == 3
    seen = {}
    with Gradebook(url) as gradebook, gradebook.session() as session:
        for student, job_id in jobs.items():
            job = status(gradebook, job_id)
            assert (job.status, job.attempts) == (JobState.DONE, 1)
            run = session.get(RunRow, job.run_id)
            folder = make_submission({LINREG_FILE: sources[student]})
            expected = api.check_submission(folder, "linreg", device="cpu",
                                            data_root=data_root).to_dict()
            assert (run.status.value, run.score, run.max_score) == (
                expected["status"], expected["score"], expected["max_score"]), student
            assert {r.check_id: r.status.value for r in run.results} == {
                c["id"]: c["status"] for c in expected["checks"]}, student
            seen[student] = (run.status, run.score, run.max_score)
    # the three are three different outcomes: full marks, fewer, nothing ran
    assert seen["a1"][1] == seen["a1"][2] > seen["b2"][1] > 0
    assert seen["c3"][0] is not RunStatus.GRADED


def test_the_graders_own_failure_queues_the_job_again_and_a_new_grader_grades_it(
        url, data_root, monkeypatch):
    job_id = queue(url, "a1", REFERENCE)
    original, calls = Grader.grade, []

    def fails_once(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 1:
            raise RuntimeError("the zygote went away")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Grader, "grade", fails_once)
    summary = work(url, data_root, max_jobs=2)
    assert [(h.ending, h.attempt) for h in summary.handled] == [(Ending.REQUEUED, 1),
                                                               (Ending.DONE, 2)]
    assert "the zygote went away" in summary.handled[0].error
    assert calls[0] is not calls[1]  # built afresh after the failure
    with Gradebook(url) as gradebook:
        job = status(gradebook, job_id)
    assert (job.status, job.attempts) == (JobState.DONE, 2)
    assert run_count(url) == 1  # the failure stored no run


@pytest.mark.parametrize("files, problem", [
    ({"../linear_regression.py": REFERENCE}, "points outside the folder"),
    ({"notes.txt": "see attached"}, LINREG_FILE),
])
def test_an_upload_that_cannot_be_graded_is_a_not_run_run(url, data_root, files, problem):
    with Gradebook(url) as gradebook:
        job_id = enqueue(gradebook, course=COURSE, assignment="linreg", student_id="a1",
                         files=zipped(files)).id
    (handled,) = work(url, data_root, max_jobs=1).handled
    assert (handled.ending, handled.status) == (Ending.DONE, RunStatus.NOT_RUN)
    assert problem in handled.error
    with Gradebook(url) as gradebook, gradebook.session() as session:
        run = session.get(RunRow, status(gradebook, job_id).run_id)
        assert (run.status, run.submission.path) == (RunStatus.NOT_RUN, f"job {job_id}")


def test_a_worker_takes_only_its_own_courses_jobs(url, data_root):
    """Two courses may share a gradebook: each worker claims its own course's jobs."""
    theirs = queue(url, "a1", REFERENCE, course="another-course")
    ours = queue(url, "b2", REFERENCE)
    (handled,) = work(url, data_root, max_jobs=1).handled
    assert handled.job_id == ours and handled.ending is Ending.DONE
    with Gradebook(url) as gradebook:
        assert status(gradebook, theirs).status is JobState.QUEUED
    assert run_count(url) == 1


def test_a_stale_claim_finishes_nothing(url, data_root):
    job_id = queue(url, "a1", REFERENCE)
    with Gradebook(url) as gradebook:
        stale = claim(gradebook, "lost-worker", lease=TINY_LEASE)
    time.sleep(3 * TINY_LEASE)
    (handled,) = work(url, data_root, max_jobs=1).handled
    assert (handled.job_id, handled.attempt, handled.ending) == (job_id, 2, Ending.DONE)
    now = datetime.now(timezone.utc)
    late = NewRun(student="a1", assignment="linreg", version="v-late", content_hash="other",
                  path="late", submitted_at=now, status=RunStatus.GRADED, started_at=now,
                  finished_at=now, seed=0, device="cpu", isolation="strict", fingerprint={},
                  course=COURSE)
    with Gradebook(url) as gradebook:
        assert finish(gradebook, stale, late) is False
        job = status(gradebook, job_id)
    assert (job.status, job.attempts) == (JobState.DONE, 2)
    assert run_count(url) == 1


def test_a_worker_killed_mid_grading_loses_nothing_and_the_job_is_recorded_once(
        url, data_root, tmp_path):
    warm_up = queue(url, "w0", REFERENCE)  # builds the grader, so the kill lands in grading
    sleepy = queue(url, "k1", SLEEPY)
    book = Gradebook(url)
    first = start_worker(url, data_root, tmp_path / "first.log")
    try:
        wait_for(lambda: state(book, warm_up) is JobState.DONE
                 and state(book, sleepy) is JobState.RUNNING, "the sleepy job running", first)
        grading = descendants(first.pid)  # its zygote, and the child importing the job's code
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert grading
    wait_for(lambda: not any(map(alive, grading)), "its zygote and children gone", timeout=30)
    assert status(book, sleepy).attempts == 1
    second = start_worker(url, data_root, tmp_path / "second.log")
    try:
        wait_for(lambda: state(book, sleepy) in (JobState.DONE, JobState.FAILED),
                 "the sleepy job finished", second)
    finally:
        os.killpg(second.pid, signal.SIGTERM)  # finish the job in hand (none), then stop
        assert second.wait(timeout=PATIENCE) == 0, (tmp_path / "second.log").read_text()
    job = status(book, sleepy)
    book.close()
    assert (job.status, job.attempts) == (JobState.DONE, 2), job.error
    assert run_count(url) == 2  # the warm-up's and the sleepy job's, once
    printed = (tmp_path / "second.log").read_text()
    assert f"job {sleepy} (k1, linreg): graded, " in printed, printed


def test_ctrl_c_mid_grading_finishes_the_job_in_hand_then_stops(url, data_root, tmp_path):
    """Ctrl-C reaches the whole process group, as from a terminal: the zygote grading the job
    ignores it, and the worker stores the job's run before it stops."""
    sleepy, later = queue(url, "k1", SLEEPY), queue(url, "k2", REFERENCE)
    book = Gradebook(url)
    worker = start_worker(url, data_root, tmp_path / "worker.log")
    try:
        wait_for(lambda: state(book, sleepy) is JobState.RUNNING, "the sleepy job running",
                 worker)
        os.killpg(worker.pid, signal.SIGINT)
        assert worker.wait(timeout=PATIENCE) == 0, (tmp_path / "worker.log").read_text()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    done, waiting = status(book, sleepy), status(book, later)
    book.close()
    assert (done.status, done.attempts, waiting.status) == (JobState.DONE, 1, JobState.QUEUED)
    assert run_count(url) == 1


def start_worker(url: str, data_root: Path, log: Path) -> subprocess.Popen:
    """``grader worker`` in its own process group, its output in ``log``."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "grader", "worker", "--db", url, "--device", "cpu",
             "--data-root", str(data_root), "--lease", str(KILL_LEASE)],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )


def state(gradebook: Gradebook, job_id: int) -> JobState:
    return status(gradebook, job_id).status


def wait_for(ready, what: str, process: subprocess.Popen | None = None,
             timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and process.poll() is not None:
            pytest.fail(f"the worker exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.05)


def descendants(pid: int) -> set[int]:
    """The processes below ``pid``: its children, theirs, and so on."""
    parents = {}
    for proc in Path("/proc").iterdir():
        try:
            status_lines = (proc / "status").read_text().splitlines() if proc.name.isdigit() else []
        except OSError:
            continue
        for line in status_lines:
            if line.startswith("PPid:"):
                parents[int(proc.name)] = int(line.split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Running, or stopped; not gone and not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
