"""The runner: a real worker forks children that run student code and survive its failures."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch
from helpers import LINREG_FILE, REFERENCE_FILE

from grader import options
from grader.outcomes.results import CheckResult, Outcome, SubmissionResult
from grader.runner.worker import Child, ChildDied, ChildTimeout, Worker

STUDENT = """
import os
import sys

import torch


def double(x):
    return 2 * x


def spin():
    if os.fork() == 0:  # a grandchild that would outlive a careless kill
        while True:
            pass
    while True:
        pass


def exit_hard():
    os._exit(0)


def exit_soft():
    sys.exit(0)


def todo():
    raise NotImplementedError


class Sneaky(torch.Tensor):
    def __eq__(self, other):
        return True


def sneaky():
    return torch.ones(2).as_subclass(Sneaky)


def chatty(megabytes):
    print("x" * (megabytes * 2**20))
    return "done"
"""
FUNCTIONS = ["double", "spin", "exit_hard", "exit_soft", "todo", "sneaky", "chatty"]


@pytest.fixture(scope="module")
def worker():
    with Worker(probe_modules=["grader.runner.probes"]) as w:
        yield w


@pytest.fixture
def child(worker, make_submission):
    folder = make_submission({"student.py": STUDENT})
    c = worker.spawn(folder)
    reply = c.request({"op": "import", "file": "student.py", "functions": FUNCTIONS}, timeout=20)
    assert reply == {"ok": {"defined": FUNCTIONS, "failed": {}}}
    yield c
    c.close()


def call(child: Child, function: str, *args, timeout: float = 10.0) -> dict:
    message = {"op": "probe", "probe": "grader.runner.probes:call", "function": function,
               "kwargs": {"args": args}, "bind": [], "seed": 0, "device": "cpu"}
    return child.request(message, timeout)


def group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


# --- the worker and its children -------------------------------------------------------------


def test_a_call_returns_the_functions_result(child):
    x = torch.tensor([[1.5, -2.0], [0.0, 3.25]])
    reply = call(child, "double", x)
    assert set(reply) == {"ok"}
    assert type(reply["ok"]) is torch.Tensor
    assert torch.equal(reply["ok"], torch.tensor([[3.0, -4.0], [0.0, 6.5]]))


def test_a_tensor_subclass_comes_back_as_a_plain_tensor(child):
    value = call(child, "sneaky")["ok"]
    assert type(value) is torch.Tensor
    assert torch.equal(value, torch.ones(2))
    assert not torch.equal(value, torch.zeros(2))


def test_an_endless_loop_times_out_and_its_process_group_is_gone(child):
    start = time.monotonic()
    with pytest.raises(ChildTimeout):
        call(child, "spin", timeout=1.0)
    assert time.monotonic() - start < 1.0 + 2.0
    deadline = time.monotonic() + 2.0  # the zygote reaps the orphaned grandchild on SIGCHLD
    while group_exists(child.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    with pytest.raises(ProcessLookupError):
        os.killpg(child.pid, 0)
    assert not child.alive


def test_os_exit_is_a_dead_child_never_a_result(child):
    with pytest.raises(ChildDied, match="exited with status 0"):
        call(child, "exit_hard")
    assert not child.alive
    with pytest.raises(ChildDied):
        call(child, "double", 1)


LAST_PID = Path("/proc/sys/kernel/ns_last_pid")


def stranger_with_pid(pid: int) -> subprocess.Popen:
    """A process elsewhere on the machine, leading a group of its own, that the kernel gave
    ``pid``: as a busy machine whose pids wrap around would, made here on purpose."""
    for _ in range(20):  # another process on the machine may take the pid first: ask again
        LAST_PID.write_text(str(pid - 1))
        stranger = subprocess.Popen(["sleep", "60"], start_new_session=True)
        if stranger.pid == pid:
            return stranger
        stranger.kill()
        stranger.wait()
    pytest.fail(f"the kernel never gave pid {pid} to a new process")


@pytest.mark.skipif(os.geteuid() != 0, reason="choosing the next pid (ns_last_pid) needs root")
def test_a_child_gone_for_good_takes_no_stranger_with_its_group_id(worker, make_submission):
    """The zygote kills a child's process group, whose id is the child's pid. Once the child is
    reaped and its group empty, that pid may belong to anyone: killing by it then must not
    reach a stranger who got it."""
    folder = make_submission({"student.py": STUDENT})
    c = worker.spawn(folder)
    c.request({"op": "import", "file": "student.py", "functions": FUNCTIONS}, timeout=20)
    with pytest.raises(ChildDied, match="exited with status 0"):
        call(c, "exit_hard")  # the zygote has reaped it: its pid is free
    stranger = stranger_with_pid(c.pid)
    try:
        worker.kill(c.pid)  # as the grader does when it learns how a child ended
        with pytest.raises(subprocess.TimeoutExpired):
            stranger.wait(timeout=0.5)
    finally:
        stranger.kill()
        stranger.wait()
    c.close()


def test_sys_exit_is_an_error_reply_marked_exit(child):
    reply = call(child, "exit_soft")
    assert set(reply) == {"error"}
    assert reply["error"]["type"] == "SystemExit"
    assert reply["error"]["exit"] is True
    assert reply["error"]["not_implemented"] is False
    assert call(child, "double", 21) == {"ok": 42}  # the child lives on


def test_not_implemented_is_an_error_reply_marked_not_implemented(child):
    error = call(child, "todo")["error"]
    assert error["type"] == "NotImplementedError"
    assert error["not_implemented"] is True
    assert error["exit"] is False
    assert "student.py, line" in error["traceback"]


def test_printing_50_megabytes_does_not_break_the_parent(child):
    start = time.monotonic()
    reply = call(child, "chatty", 50, timeout=30)
    assert time.monotonic() - start < 10
    assert reply.get("ok") == "done" or reply["error"]["type"] == "OSError"  # the file limit
    assert len(child.output_tail()) <= 2000
    assert (child.scratch / "output.txt").stat().st_size <= 16 * 2**20
    assert call(child, "double", 2) == {"ok": 4}


# --- a submission's life in a grading session ------------------------------------------------


def grade(grader, folder: Path, functions=("linreg", "sgd")) -> SubmissionResult:
    result = grader.grade(folder, functions=list(functions))
    assert result.checks, "no check ran"
    return result


def counted_checks(result: SubmissionResult) -> list[CheckResult]:
    """The checks that count: device checks are skipped on a CPU-only grader."""
    counted = [c for c in result.checks if c.status is not Outcome.SKIPPED]
    assert counted, "every check was skipped"
    return counted


def test_a_module_level_endless_loop_times_out_every_check(
    linreg_grader, linreg_submission, monkeypatch
):
    monkeypatch.setattr(options, "IMPORT_TIMEOUT", 2.0)
    folder = linreg_submission()
    with open(folder / LINREG_FILE, "a") as f:
        f.write("\nwhile True:\n    pass\n")
    result = linreg_grader.grade(folder)
    assert sum(c.duration for c in result.checks) < 2.0 + 3.0  # one import timeout in all
    counted = counted_checks(result)
    assert {c.status for c in counted} == {Outcome.TIMEOUT}
    assert all("did not finish within 2 s" in c.message for c in counted)
    assert result.score == 0


def test_a_syntax_error_is_an_error_with_its_line_and_needs_no_child(
    linreg_grader, make_submission, reference_source, monkeypatch
):
    spawned = []
    monkeypatch.setattr(Worker, "spawn", lambda *args, **kwargs: spawned.append(args))
    lines = reference_source.splitlines()
    lines[40] = "def broken(:"  # line 41
    folder = make_submission({LINREG_FILE: "\n".join(lines)})
    result = grade(linreg_grader, folder, functions=linreg_grader.assignment.functions)
    counted = counted_checks(result)
    assert {c.status for c in counted} == {Outcome.ERROR}
    assert all("syntax error (line 41)" in c.message for c in counted)
    assert spawned == []


def test_a_missing_file_is_missing(linreg_grader, make_submission):
    folder = make_submission({"other.py": "x = 1\n"})
    counted = counted_checks(grade(linreg_grader, folder))
    assert {c.status for c in counted} == {Outcome.MISSING}
    assert {c.message for c in counted} == {
        f"{LINREG_FILE} not found in the submission (nor linear_regression.ipynb)"}


def test_a_function_absent_from_the_file_is_missing_by_name(
    linreg_grader, make_submission, reference_source
):
    source = reference_source.replace("def sgd(", "def sgd_step(")
    result = grade(linreg_grader, make_submission({LINREG_FILE: source}))
    sgd = [c for c in result.checks if c.function == "sgd"]
    assert {c.status for c in sgd} == {Outcome.MISSING}
    assert {c.message for c in sgd} == {f"`sgd` not found in {LINREG_FILE}"}
    linreg = [c for c in counted_checks(result) if c.function == "linreg"]
    assert {c.status for c in linreg} == {Outcome.PASSED}


def test_a_symlink_to_the_reference_is_refused(linreg_grader, tmp_path):
    folder = tmp_path / "cheat"
    folder.mkdir()
    (folder / LINREG_FILE).symlink_to(REFERENCE_FILE)
    result = grade(linreg_grader, folder)
    counted = counted_checks(result)
    assert {c.status for c in counted} == {Outcome.ERROR}
    assert {c.message for c in counted} == {f"{LINREG_FILE} must be a regular file, not a link"}
    assert result.score == 0


@pytest.fixture
def one_second_linreg_checks(linreg_grader, monkeypatch):
    """linreg's own checks time out after 1 s instead of 10, for the duration of a test."""
    assignment = linreg_grader.assignment
    monkeypatch.setattr(assignment, "checks", [
        dataclasses.replace(c, timeout=1.0) if c.function == "linreg" else c
        for c in assignment.checks
    ])


@pytest.mark.usefixtures("one_second_linreg_checks")
def test_a_check_times_out_and_the_next_check_gets_a_fresh_child(
    linreg_grader, linreg_submission
):
    folder = linreg_submission(linreg="""
        def linreg(X, w, b):
            if X.shape[0] == 5:  # only the correctness check's first input
                while True:
                    pass
            return torch.matmul(X, w) + b
    """)
    by_id = {c.id: c for c in grade(linreg_grader, folder, ["linreg"]).checks}
    assert by_id["linreg_matches_the_reference"].status is Outcome.TIMEOUT
    assert by_id["linreg_matches_the_reference"].duration < 1.0 + 2.0
    assert "did not finish in time" in by_id["linreg_matches_the_reference"].message
    assert by_id["linreg_gradients_match"].status is Outcome.PASSED


# A submission that forges a reply on its own socket: every byte from the child is hostile.
FORGER = """
import os
import stat
import struct

_BODY = b'{"int": "not a number"}'
_SECTION = struct.pack("<Q", 2) + b"{}"
_PAYLOAD = struct.pack("<II", len(_BODY), len(_SECTION)) + _BODY + _SECTION
for _fd in range(3, 256):
    try:
        if stat.S_ISSOCK(os.fstat(_fd).st_mode):
            os.write(_fd, struct.pack("<Q", len(_PAYLOAD)) + _PAYLOAD)
    except OSError:
        pass
"""


def test_a_forged_malformed_reply_is_an_error_not_an_exception(
    linreg_grader, make_submission, reference_source
):
    folder = make_submission({LINREG_FILE: reference_source + FORGER})
    result = grade(linreg_grader, folder)
    assert {c.status for c in counted_checks(result)} == {Outcome.ERROR}
    assert result.score == 0


@pytest.mark.usefixtures("one_second_linreg_checks")
def test_timeouts_and_crashes_leave_no_scratch_folder_behind(
    linreg_grader, linreg_submission, monkeypatch, tmp_path
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where scratch folders are made
    folder = linreg_submission(linreg="""
        def linreg(X, w, b):
            if X.shape[0] == 5:
                while True:
                    pass
            if X.shape[0] == 6:
                import os
                os._exit(0)
            return torch.matmul(X, w) + b
    """)
    statuses = {c.id: c.status for c in grade(linreg_grader, folder, ["linreg"]).checks}
    assert statuses["linreg_matches_the_reference"] is Outcome.TIMEOUT
    assert statuses["linreg_gradients_match"] is Outcome.ERROR  # X of 6 rows: os._exit
    assert list(tmp_path.glob("grader-scratch-*")) == []


SETUP_LINES = """
import os, sys
from grader.runner.zygote import _read_lines, _split_init

def told(*chunks, close=True, expect_init=True):
    read, write = os.pipe()
    for chunk in chunks:
        os.write(write, chunk)
    if close:
        os.close(write)
    return _read_lines(read, 0.5, expect_init=expect_init)

print(_split_init(told(b"ok\\n", b"init 4242\\n")))  # the init spoke first
print(_split_init(told(b"init 4242\\nok\\n")))
print(_split_init(told(b"ok\\n", close=False)))  # no init yet: wait for it, in strict
print(_split_init(told(b"ok\\n", close=False, expect_init=False)))  # basic has none
print(_split_init(told(b"init 4242\\n", b"strict isolation failed: no\\n")))
"""


def test_the_zygote_reads_a_childs_setup_lines_in_either_order():
    """The supervisor's "init PID" and the init's "ok" come from two processes; on a busy
    machine "ok" can come first, which once failed a spawn with the message "init PID"."""
    done = subprocess.run([sys.executable, "-c", SETUP_LINES], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "(4242, ['ok'])",
        "(4242, ['ok'])",
        "(None, ['ok', 'the child took too long to set up'])",
        "(None, ['ok'])",
        "(4242, ['strict isolation failed: no'])",
    ]
