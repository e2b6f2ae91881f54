"""Issue 19, item 2: the grading machine's own failures cost no student a point.

A fork refused for real (the zygote put in a pids cgroup that allows no new process) and a zygote
killed with SIGKILL while it serves a submission: the correct submission ends with full marks
after the batch's retry, or with no score and "needs regrade", which the next batch grades;
never with a lower score.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import LINREG_FILE, REFERENCE_FILE

from grader.batch.executor import LocalExecutor
from grader.batch.run import Options, run_batch
from grader.cli import main
from grader.gradebook import Gradebook
from grader.grading.grader import Grader
from grader.outcomes import RunStatus
from grader.reports.frames import tables

REFERENCE = REFERENCE_FILE.read_text()
CGROUPS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))  # v1's pids hierarchy, or v2


def _pids_hierarchy() -> Path | None:
    for root in CGROUPS:
        v1 = (root / "pids.max").exists() or root.name == "pids"
        v2 = "pids" in (root / "cgroup.subtree_control").read_text().split() if (
            root / "cgroup.subtree_control").exists() else False
        if (v1 or v2) and root.is_dir() and os.access(root, os.W_OK):
            return root
    return None


class ForkLimit:
    """A pids cgroup: a process moved into it can fork nothing more until ``lift``."""

    def __init__(self, root: Path) -> None:
        self.root, self.group = root, root / f"grader-test-{uuid.uuid4().hex[:8]}"
        self.group.mkdir()

    def clamp(self, *pids: int) -> None:
        for pid in pids:
            (self.group / "cgroup.procs").write_text(str(pid))
        (self.group / "pids.max").write_text((self.group / "pids.current").read_text().strip())

    def refused(self) -> int:
        """How many forks the limit refused."""
        lines = (self.group / "pids.events").read_text().splitlines()
        return int(dict(line.split() for line in lines).get("max", 0))

    def lift(self) -> None:
        (self.group / "pids.max").write_text("max")

    def remove(self) -> None:
        for pid in (self.group / "cgroup.procs").read_text().split():
            try:
                (self.root / "cgroup.procs").write_text(pid)
            except OSError:  # it ended meanwhile
                pass
        self.group.rmdir()


@pytest.fixture
def fork_limit():
    root = _pids_hierarchy()
    if root is None:
        pytest.skip("no writable pids cgroup here to refuse a fork with")
    limit = ForkLimit(root)
    yield limit
    limit.remove()


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _is_zygote(pid: int) -> bool:
    """A zygote, or a child it forked for a student (a program it runs has another name)."""
    try:
        return b"grader.runner.zygote" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _zygote_of(slot: int) -> int:
    """The zygote process a grading slot launched."""
    found = [pid for pid in _children(slot) if _is_zygote(pid)]
    assert found, f"slot {slot} has no zygote"
    return found[0]


def _class(root: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / LINREG_FILE).write_text(REFERENCE)
    return root


def _batch(root: Path, db: Path, data_root, executor=LocalExecutor):
    with Gradebook(f"sqlite:///{db}") as book:
        return run_batch(root, book, Options("linreg", jobs=1, device="cpu", seed=0,
                                             data_root=data_root), executor=executor)


def _scores(db: Path):
    with Gradebook(f"sqlite:///{db}", create=False) as book:
        return tables(book)[0].set_index("student")


def test_a_refused_fork_gives_no_score_then_full_marks_once_forks_work(fork_limit, data_root):
    with Grader("linreg", device="cpu", data_root=data_root) as grader:
        full = grader.grade(REFERENCE_FILE.parent).score
        fork_limit.clamp(grader._worker._process.pid)  # started: it forks only for students
        refused = grader.grade(REFERENCE_FILE.parent)
        fork_limit.lift()
        again = grader.grade(REFERENCE_FILE.parent)
    assert refused.status is RunStatus.INFRASTRUCTURE_ERROR
    assert refused.reason.startswith("the grader could not start this submission: the worker "
                                     "could not fork")
    assert again.status is RunStatus.GRADED and again.score == again.max_score == full


def test_a_fork_refused_mid_batch_is_graded_again_with_a_fresh_worker(
    fork_limit, data_root, tmp_path
):
    class RefusesForksAfterTheFirst(LocalExecutor):
        """Grades the first job, then refuses its zygote every fork (the slot is idle between
        the two runs, so nothing races the clamp)."""

        def run(self, jobs):
            jobs = list(jobs)
            if not clamped:
                yield from super().run(jobs[:1])
                fork_limit.clamp(_zygote_of(self._slots[0].process.pid))
                clamped.append(True)
                jobs = jobs[1:]
            yield from super().run(jobs)

    clamped: list[bool] = []
    db = tmp_path / "grades.db"
    summary = _batch(_class(tmp_path / "class", ("ann", "bo", "cy")), db, data_root,
                     RefusesForksAfterTheFirst)
    assert fork_limit.refused() >= 1  # bo's fork was refused, for real
    assert [(g.student, g.status) for g in summary.outcomes] == [
        ("ann", RunStatus.GRADED), ("cy", RunStatus.GRADED), ("bo", RunStatus.GRADED)]
    scores = _scores(db)
    assert (scores["score"] == scores["max_score"]).all() and len(scores) == 3


def test_a_batch_whose_slots_die_twice_stores_no_score_and_the_next_batch_grades_it(
    data_root, tmp_path
):
    class KillsEverySlotThatForks(LocalExecutor):
        """Kills a slot (its zygote goes with it) as soon as it has forked for a student, on
        the first attempt and on the retry alike: the machine's trouble persists."""

        def run(self, jobs):
            stop = threading.Event()
            killer = threading.Thread(target=self._kill_forking_slots, args=(stop,))
            killer.start()
            try:
                yield from super().run(jobs)
            finally:
                stop.set()
                killer.join()

        def _kill_forking_slots(self, stop: threading.Event) -> None:
            while not stop.wait(0.01):
                for slot in list(self._slots):
                    zygotes = [z for z in _children(slot.process.pid) if _is_zygote(z)]
                    if any(_is_zygote(c) for z in zygotes for c in _children(z)):
                        try:
                            os.kill(slot.process.pid, signal.SIGKILL)
                        except ProcessLookupError:  # killed and reaped since the list was read
                            continue
                        killed.append(slot.process.pid)

    killed: list[int] = []
    root = _class(tmp_path / "class", ("bo", "cy"))
    db = tmp_path / "grades.db"
    summary = _batch(root, db, data_root, KillsEverySlotThatForks)
    assert len(set(killed)) == 4  # two students, each tried twice
    assert [(g.student, g.status) for g in summary.needing_regrade] == [
        ("bo", RunStatus.INFRASTRUCTURE_ERROR), ("cy", RunStatus.INFRASTRUCTURE_ERROR)]
    scores = _scores(db)
    assert scores.loc[["bo", "cy"], ["score", "percent"]].isna().all(axis=None)
    assert "the grading slot died (killed by SIGKILL)" in scores.loc["bo", "reason"]
    report = CliRunner().invoke(main, ["report", "--db", f"sqlite:///{db}",
                                       "-o", str(tmp_path / "report.csv")])
    assert report.exit_code == 0, report.output
    listed = [line for line in report.output.splitlines() if line.startswith("needs regrade")]
    assert [line.split(": ")[1] for line in listed] == ["bo (linreg)", "cy (linreg)"]

    again = _batch(root, db, data_root)  # nothing changed, and yet both are graded
    assert again.skipped == 0 and [g.student for g in again.outcomes] == ["bo", "cy"]
    scores = _scores(db)
    assert (scores["status"] == "graded").all() and (scores["score"] == scores["max_score"]).all()


def test_a_zygote_killed_mid_submission_costs_no_point_after_the_retry(data_root, tmp_path):
    class KillsTheZygoteMidWay(LocalExecutor):
        """After the first job, kills the slot's zygote once it has forked for the next."""

        def run(self, jobs):
            jobs = list(jobs)
            if not killed:
                yield from super().run(jobs[:1])
                zygote = _zygote_of(self._slots[0].process.pid)
                threading.Thread(target=self._kill_when_forked, args=(zygote,)).start()
                jobs = jobs[1:]
            yield from super().run(jobs)

        def _kill_when_forked(self, zygote: int) -> None:
            deadline = time.monotonic() + 120
            while not _children(zygote) and time.monotonic() < deadline:
                time.sleep(0.01)
            os.kill(zygote, signal.SIGKILL)
            killed.append(zygote)

    killed: list[int] = []
    root = _class(tmp_path / "class", ("ann", "bo"))
    db = tmp_path / "grades.db"
    summary = _batch(root, db, data_root, KillsTheZygoteMidWay)
    assert killed
    assert [(g.student, g.status) for g in summary.outcomes] == [
        ("ann", RunStatus.GRADED), ("bo", RunStatus.GRADED)]
    scores = _scores(db)
    assert (scores["score"] == scores["max_score"]).all() and len(scores) == 2
