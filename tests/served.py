"""A real `grader serve` for tests: a course folder built from `grader course new`'s skeleton,
the server started as its own process on a free loopback port, its log kept in a file.

Imported by the service's tests and its browser test.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from grader import options
from grader.courses.scaffold import new_course
from grader.gradebook import Gradebook
from grader.gradebook import tokens as stored_tokens

COURSE = "served-course"
STUDENT_FILE = "huber.py"
START_PATIENCE = 120.0  # seconds for a server to listen, on a busy 2-core machine
_LISTENING = re.compile(r"grader serve: (http://\S+) \((\d+) grading workers\)")


def make_course(parent: Path, toml: str = "") -> Path:
    """The skeleton course (one assignment, huber) in ``parent/COURSE``, with ``toml`` added at
    the top of its course.toml, and two copies of huber: ``late_huber`` (its deadline passed,
    late submissions open, 0.1 per day) and ``closed_huber`` (closed for good)."""
    folder = parent / COURSE
    new_course(folder)
    now = datetime.now(timezone.utc)
    for name in ("late_huber", "closed_huber"):
        shutil.copytree(folder / "huber", folder / name)
        init = folder / name / "__init__.py"
        init.write_text(init.read_text().replace('name="huber"', f'name="{name}"'))
    course_toml = folder / "course.toml"
    body = course_toml.read_text()
    first, _, rest = body.partition("\n[")
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    course_toml.write_text(
        f"{first}\n{textwrap.dedent(toml)}\n[{rest}\n"
        f"[late_huber]\ndeadline = {(now - timedelta(days=2)).strftime(stamp)}\n"
        f"late_until = {(now + timedelta(days=30)).strftime(stamp)}\nlate_penalty = 0.1\n\n"
        f"[closed_huber]\ndeadline = {(now - timedelta(days=9)).strftime(stamp)}\n"
        f"late_until = {(now - timedelta(days=2)).strftime(stamp)}\n")
    return folder


def reference(course: Path) -> str:
    return (course / "huber" / "reference.py").read_text()


def buggy(course: Path) -> str:
    return (course / "huber" / "mistakes" / "forgot_sigma" / "huber.py").read_text()


@dataclass
class Served:
    """One `grader serve` process and what it serves."""

    url: str
    db: str
    course: Path
    process: subprocess.Popen
    log: Path

    def client(self, token: str | None = None, **extra) -> httpx.Client:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60.0, **extra)

    def stop(self, how: signal.Signals = signal.SIGTERM, patience: float = 90.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(how)
        return self.process.wait(patience)

    def worker_pids(self) -> list[int]:
        """The server's grading workers: its children running `grader worker`."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid and b"worker" in command:
                found.append(int(entry.name))
        return found


def start_server(db: str, course: Path, log: Path, *, data_root: Path | None = None,
                 workers: int = 1, lease: float | None = None) -> Served:
    """``grader serve`` on 127.0.0.1 and a free port, returned once it listens."""
    command = [sys.executable, "-m", "grader", "serve", "--course", str(course),
               "--port", "0", "--workers", str(workers)]
    if lease is not None:
        command += ["--lease", str(lease)]
    if data_root is not None:
        command += ["--data-root", str(data_root)]
    environment = {**os.environ, options.DB_ENV: db}
    environment.pop(options.COURSE_ENV, None)
    with log.open("ab") as out:
        start = out.tell()  # a server started before on this log said where it listened
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=environment)
    deadline = time.monotonic() + START_PATIENCE
    while time.monotonic() < deadline:
        with log.open("rb") as written:
            written.seek(start)
            found = _LISTENING.search(written.read().decode(errors="replace"))
        if found:
            return Served(found.group(1), db, course, process, log)
        if process.poll() is not None:
            raise AssertionError(f"grader serve exited with {process.returncode}:\n"
                                 f"{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"grader serve did not listen within {START_PATIENCE} s:\n"
                         f"{log.read_text(errors='replace')[-3000:]}")


@contextmanager
def serving(home: Path, toml: str, data_root: Path | None, **extra) -> Iterator[Served]:
    """A server of ``make_course(home, toml)`` on a new SQLite gradebook in ``home``, stopped
    at the end, where it must exit 0 (its workers stopped after their job)."""
    course = make_course(home, toml)
    server = start_server(f"sqlite:///{home / 'grades.db'}", course, home / "server.log",
                          data_root=data_root, **extra)
    try:
        yield server
    finally:
        assert server.stop() == 0, server.log.read_text()[-3000:]


def issue(db: str, **who) -> list[str]:
    """Tokens for ``students=[...]`` or ``staff=NAME`` in COURSE, as `grader tokens issue`
    stores them."""
    with Gradebook(db) as book:
        return [token for _, token in stored_tokens.issue(book, COURSE, **who)]


def wait_until_done(client: httpx.Client, job_id: int, patience: float = 240.0) -> dict:
    """The submission's answer once it is done or failed."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        answer = client.get(f"/api/submissions/{job_id}")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"submission {job_id} was not graded within {patience} s")
