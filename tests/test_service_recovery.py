"""Nothing answered 202 is lost: `grader serve` killed with SIGKILL, its grading worker killed
mid-grading, or both, then started again; and two workers sharing one PostgreSQL queue. Every
submission is graded exactly once (issue 17, "Reliability"). Real processes, real signals."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
from served import issue, make_course, reference, start_server, wait_until_done
from sqlalchemy import func, select

from grader.gradebook import Gradebook, JobState
from grader.gradebook.models import JobRow, RunRow

pytest_plugins = ["postgres"]

LEASE = 3.0  # seconds: a killed worker's job waits this long for another worker
PATIENCE = 240.0  # seconds for anything a busy 2-core machine does
# Sleeps on import, so that grading it takes seconds and a kill lands while it runs.
SLOW = "import time\ntime.sleep(6)\n"


def upload(served, token: str, text: str) -> int:
    with served.client(token) as client:
        answer = client.post("/api/submissions", data={"assignment": "huber"},
                             files=[("files", ("huber.py", text.encode()))])
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


def job_rows(db: str) -> dict[int, tuple[JobState, int | None, int, str]]:
    """id -> (status, run_id, attempts, worker), read from the table."""
    with Gradebook(db) as book, book.session() as session:
        rows = session.execute(select(JobRow.id, JobRow.status, JobRow.run_id, JobRow.attempts,
                                      JobRow.worker))
        return {row[0]: tuple(row[1:]) for row in rows}


def runs(db: str) -> int:
    with Gradebook(db) as book, book.session() as session:
        return session.scalar(select(func.count()).select_from(RunRow))


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {PATIENCE} s"
        time.sleep(0.2)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie until its parent reaps it: dead all the same
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "Z"


@pytest.fixture
def servers():
    """Every server a test starts, stopped at its end however it ends."""
    started = []
    yield started
    for served in started:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait()


@pytest.mark.parametrize("killed", ["server", "worker", "both"])
def test_submissions_answered_202_are_graded_once_whatever_is_killed(
        tmp_path, data_root, servers, killed):
    course = make_course(tmp_path, "submit_interval = 0\n")
    db = f"sqlite:///{tmp_path / 'grades.db'}"
    log = tmp_path / "server.log"
    [token] = issue(db, students=["ann"])
    served = start_server(db, course, log, data_root=data_root, lease=LEASE)
    servers.append(served)
    texts = [SLOW + reference(course)] + [f"{reference(course)}\n# try {i}\n" for i in range(3)]
    ids = [upload(served, token, text) for text in texts]
    wait_for(lambda: job_rows(db)[ids[0]][0] is JobState.RUNNING, "the slow job running")
    [worker] = served.worker_pids()
    if killed in ("server", "both"):
        served.process.kill()
        served.process.wait()
    if killed in ("worker", "both"):
        os.kill(worker, signal.SIGKILL)
    if killed == "server":  # its worker was told to stop: it finishes its job, takes no other
        wait_for(lambda: gone(worker), "the worker stopping after its job")
    if killed != "worker":
        with pytest.raises(httpx.TransportError):
            httpx.get(served.url, timeout=5)
        served = start_server(db, course, log, data_root=data_root, lease=LEASE)
        servers.append(served)
    with served.client(token) as client:
        done = [wait_until_done(client, job_id, PATIENCE) for job_id in ids]
    assert [d["status"] for d in done] == ["done"] * len(ids)
    assert [d["result"]["score"] for d in done] == [d["result"]["max_score"] for d in done]
    rows = job_rows(db)
    assert len({rows[i][1] for i in ids}) == len(ids) == runs(db)  # one run each, no more
    if killed != "server":  # the killed worker's job was claimed again once its lease ran out
        assert rows[ids[0]][2] == 2
    assert served.stop() == 0, log.read_text()[-3000:]


def test_two_workers_share_one_postgresql_queue(tmp_path, data_root, postgres_url, servers):
    course = make_course(tmp_path, "submit_interval = 0\n")
    students = [f"s{i}" for i in range(6)]
    tokens = issue(postgres_url, students=students)
    served = start_server(postgres_url, course, tmp_path / "server.log", data_root=data_root,
                          workers=2)
    servers.append(served)
    try:
        slow = "import time\ntime.sleep(2)\n" + reference(course)
        ids = [upload(served, token, slow) for token in tokens]
        with served.client(tokens[0]) as client:
            # a student's own only: wait for the rest through the table
            wait_until_done(client, ids[0], PATIENCE)
        wait_for(lambda: all(row[0] is JobState.DONE for row in job_rows(postgres_url).values()),
                 "every job done")
        rows = job_rows(postgres_url)
        assert len({rows[i][1] for i in ids}) == len(ids) == runs(postgres_url)
        assert len({rows[i][3] for i in ids}) == 2  # both workers took jobs
        assert all(rows[i][2] == 1 for i in ids)  # each claimed once
    finally:
        assert served.stop() == 0, (tmp_path / "server.log").read_text()[-3000:]
