"""Hostile submissions under strict isolation: each threat is contained and grading goes on.

Every case is the reference with one function, or its module-level code, swapped for hostile
code. The function is ``normal_equation``: one check covers it and no other check calls it, so
every other check must still pass. ``Arena.grade`` grades the submission and then checks what
every case must leave intact:

- grading returns within ``GRADE_BOUND`` (a hang detector, not a speed target);
- no process is left with a slot uid (``sandbox.UID_BASE`` onwards), whatever it did to hide;
- the test's own files (a canary, a grades.db, in a hidden folder and in one every uid may write),
  a file inside the checkout, the project's ``git status`` and the submission's files are as
  they were;
- nothing reached the TCP, UDP and abstract unix listeners the test keeps on this machine.

Hostile sources are ``string.Template`` text: ``${name}`` becomes a Python literal (a path, a
port, a pid) from ``Arena.values``. Those that steal report what they read in an exception's
message, the only channel back, as SHA-256 digests: short enough never to be cut, and the test
computes the digests of the real files to look for them.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from helpers import LINREG_FILE, REFERENCE_FILE, REPO, replace_function

from grader import options
from grader.api import Grader
from grader.data import raw_folder
from grader.grading.catalog import get_assignment
from grader.grading.session import MAX_SUBMISSION_BYTES
from grader.outcomes.results import CheckResult, Outcome, SubmissionResult
from grader.runner import sandbox

SUPPORT = sandbox.support()
pytestmark = pytest.mark.skipif(
    not SUPPORT.strict,
    reason=f"strict isolation is not possible here: {'; '.join(SUPPORT.missing)}",
)

TARGET = "normal_equation"  # the function hostile code replaces
SHORT_TIMEOUT = 1.0  # seconds for TARGET's check here, instead of 10
GRADE_BOUND = 60.0  # seconds; a grade that takes longer is a hang
REAP_WAIT = 3.0  # seconds for the zygote to reap what a killed child left
SECRET_ENV = "GRADER_TEST_SECRET"
SECRET_VALUE = f"env-secret-{secrets.token_hex(8)}"
FORGED = f"forged-{secrets.token_hex(6)}"  # printed by liars; must reach no output of ours
VICTIM = REPO / "tests" / "hostile" / "victim.txt"  # inside the checkout, safe to lose
VICTIM_TEXT = """\
A file inside the project checkout that the hostile submissions of tests/test_isolation.py try to
overwrite, append to, chmod, rename and delete. It must stay exactly as it is.
"""
CHECKS_FILE = REPO / "assignments" / "linreg" / "checks.py"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the grader and what the test watches -----------------------------------------------------


@dataclasses.dataclass
class Hostile:
    grader: Grader
    zygote: int  # the worker's process: it must outlive every case


def zygotes() -> set[int]:
    """This process's children that are grader workers."""
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            ppid = re.search(r"^PPid:\s+(\d+)", (proc / "status").read_text(), re.M)
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if ppid and int(ppid.group(1)) == os.getpid() and b"grader.runner.zygote" in cmdline:
            found.add(int(proc.name))
    return found


@pytest.fixture(scope="module")
def reference_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("reference") / "submission"
    folder.mkdir()
    shutil.copyfile(REFERENCE_FILE, folder / LINREG_FILE)
    return folder


@pytest.fixture(scope="module")
def hostile(data_root, reference_folder) -> Iterator[Hostile]:
    """One strict linreg grader for every case, TARGET's check cut to SHORT_TIMEOUT.

    SECRET_ENV is in this process's environment before the worker starts, as a grader's own
    settings would be, so that a student reading it would find it.
    """
    linreg = get_assignment("linreg")
    assignment = dataclasses.replace(linreg, checks=[
        dataclasses.replace(c, timeout=SHORT_TIMEOUT) if c.function == TARGET else c
        for c in linreg.checks
    ])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SECRET_ENV, SECRET_VALUE)
        before = zygotes()
        with Grader(assignment, device="cpu", data_root=data_root, isolation="strict") as grader:
            assert_full_marks(grader.grade(reference_folder))
            (zygote,) = zygotes() - before
            yield Hostile(grader, zygote)


class Listeners:
    """A TCP and an abstract unix server and a UDP socket on this machine, never accepted from:
    whatever reaches them waits in their queues until ``arrivals`` looks."""

    def __init__(self) -> None:
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.unix_name = f"\0grader-hostile-{secrets.token_hex(8)}"
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind(self.unix_name)
        self.unix.listen()
        for s in (self.tcp, self.udp, self.unix):
            s.setblocking(False)

    @property
    def tcp_port(self) -> int:
        return self.tcp.getsockname()[1]

    @property
    def udp_port(self) -> int:
        return self.udp.getsockname()[1]

    def arrivals(self) -> list[str]:
        """What reached the listeners since the last look (consumed)."""
        found = []
        for name, server in (("TCP", self.tcp), ("abstract unix", self.unix)):
            while True:
                try:
                    conn, _ = server.accept()
                except BlockingIOError:
                    break
                conn.close()
                found.append(f"{name} connection")
        while True:
            try:
                data, _ = self.udp.recvfrom(1 << 16)
            except BlockingIOError:
                break
            found.append(f"UDP datagram {data[:40]!r}")
        return found

    def close(self) -> None:
        for s in (self.tcp, self.udp, self.unix):
            s.close()


@pytest.fixture(scope="module")
def listeners() -> Iterator[Listeners]:
    found = Listeners()
    yield found
    found.close()


def _slot_claimed(uid: int) -> bool:
    """Whether a live worker holds ``uid`` (a grader of another test run on this machine)."""
    try:
        fd = os.open(Path(tempfile.gettempdir()) / "grader-slots" / f"{uid}.lock", os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def sandbox_processes(own_uid: int | None) -> dict[int, tuple[int, str]]:
    """pid -> (uid, description) of every process whose real uid is a slot uid that is ours, or
    that no worker holds any more: either way, student code that outlived its grading."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
        except OSError:
            continue
        uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
        if not sandbox.UID_BASE <= uid < sandbox.UID_BASE + sandbox.UID_COUNT:
            continue
        if uid == own_uid or not _slot_claimed(uid):
            state = re.search(r"^State:\s+(.*)$", status, re.M).group(1)
            ppid = re.search(r"^PPid:\s+(\d+)", status, re.M).group(1)
            found[int(proc.name)] = (uid, f"pid {proc.name} (uid {uid}, parent {ppid}, {state})")
    return found


def leftover_processes(own_uid: int | None, wait: float = REAP_WAIT) -> list[str]:
    """The sandbox processes still there after ``wait`` s; those of ``own_uid`` are then killed,
    so that one leak does not spill into the next case."""
    deadline = time.monotonic() + wait
    found = sandbox_processes(own_uid)
    while found and time.monotonic() < deadline:
        time.sleep(0.05)
        found = sandbox_processes(own_uid)
    for pid, (uid, _) in found.items():
        if uid == own_uid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return sorted(description for _, description in found.values())


def tree(folder: Path) -> dict[str, str]:
    """Every entry under ``folder``: a file's mode and digest, a link's target, a folder."""
    if not folder.exists():
        return {".": "gone"}
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root, name)
            key = str(path.relative_to(folder))
            info = path.lstat()
            if path.is_symlink():
                found[key] = f"link to {os.readlink(path)}"
            elif path.is_dir():
                found[key] = f"folder {info.st_mode:o}"
            else:
                found[key] = f"file {info.st_mode:o} {sha256(path.read_bytes())}"
    return found


def git_status() -> str:
    return subprocess.run(
        ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=all"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout


def bounded(call: Callable[[], SubmissionResult], seconds: float) -> SubmissionResult:
    """``call()``'s value; fails the test if it has not returned within ``seconds``."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as err:  # re-raised in the test's thread
            box["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"grading did not return within {seconds:g} s: the grader hangs")
    if "error" in box:
        raise box["error"]
    return box["value"]


@dataclasses.dataclass
class Arena:
    """One case's targets, and grading with every post-condition checked."""

    hostile: Hostile
    listeners: Listeners
    own: Path  # the test's folder, under the temporary folder (hidden from children)
    shown: Path  # a folder children can see, where every uid may write: only the sandbox guards
    make_submission: Callable[..., Path]
    reference_source: str

    @property
    def grader(self) -> Grader:
        return self.hostile.grader

    def values(self, submission: Path) -> dict[str, object]:
        """What hostile sources may name, as ``${name}``."""
        return {
            "own_canary": self.own / "canary.txt",
            "own_db": self.own / "grades.db",
            "shown_canary": self.shown / "canary.txt",
            "shown_db": self.shown / "grades.db",
            "victim": VICTIM,
            "reference_file": REFERENCE_FILE,
            "checks_file": CHECKS_FILE,
            "original": submission / LINREG_FILE,
            "tcp_port": self.listeners.tcp_port,
            "udp_port": self.listeners.udp_port,
            "unix_name": self.listeners.unix_name,
            "grader_pid": os.getpid(),
            "grader_pgid": os.getpgid(0),
            "zygote_pid": self.hostile.zygote,
            "zygote_pgid": os.getpgid(self.hostile.zygote),
            "env_name": SECRET_ENV,
            "forged": FORGED,
        }

    def submission(self, source: str, **extra: object) -> Path:
        """A folder holding ``source`` with its ``${names}`` filled in."""
        folder = self.make_submission({})
        literals = {k: repr(str(v) if isinstance(v, Path) else v)
                    for k, v in self.values(folder).items()}
        literals.update({k: str(v) for k, v in extra.items()})  # Python expressions as they are
        (folder / LINREG_FILE).write_text(string.Template(source).substitute(literals))
        return folder

    def replace(self, function_source: str, **extra: object) -> Path:
        """The reference with TARGET replaced by ``function_source``."""
        source = replace_function(self.reference_source, TARGET, textwrap.dedent(function_source))
        return self.submission(source, **extra)

    def append(self, module_code: str) -> Path:
        """The reference with ``module_code`` run at the end of its import."""
        return self.submission(self.reference_source + "\n" + textwrap.dedent(module_code))

    def snapshot(self, folder: Path) -> dict[str, object]:
        return {
            "the test's own folder": tree(self.own),
            "the folder every uid may write": tree(self.shown),
            "tests/hostile in the checkout": tree(VICTIM.parent),
            "the project's git status": git_status(),
            "the submission's files": tree(folder),
        }

    def problems(self, before: dict, folder: Path, *, settle: float = 0.0) -> list[str]:
        """Every post-condition that does not hold, in words."""
        time.sleep(settle)
        found = [f"a process was left behind: {p}"
                 for p in leftover_processes(self.grader.sandbox_uid)]
        after = self.snapshot(folder)
        found += [f"{what} changed:\n  before {before[what]!r}\n  after  {after[what]!r}"
                  for what in before if before[what] != after[what]]
        found += [f"a {a} reached a listener of the test" for a in self.listeners.arrivals()]
        return found

    def grade(self, folder: Path, *, settle: float = 0.0) -> SubmissionResult:
        """Grade ``folder`` and assert every post-condition; ``settle`` s pass before they are
        checked, for code that acts late."""
        before = self.snapshot(folder)
        result = bounded(lambda: self.grader.grade(folder), GRADE_BOUND)
        problems = self.problems(before, folder, settle=settle)
        assert not problems, "\n".join(problems)
        return result


def shown_folder() -> Path:
    """A folder outside the hidden ones (the temporary folder is hidden from children)."""
    for parent in ("/dev/shm", "/var/tmp"):
        if os.access(parent, os.W_OK):
            return Path(tempfile.mkdtemp(prefix="grader-hostile-", dir=parent))
    pytest.skip("no world-writable folder outside the temporary folder for the canary")


@pytest.fixture
def arena(hostile, listeners, tmp_path, make_submission, reference_source) -> Iterator[Arena]:
    own, shown = tmp_path / "own", shown_folder()
    own.mkdir()
    shown.chmod(0o777)  # the uid's permissions allow anything here: Landlock must refuse it
    for folder in (own, shown):
        for name in ("canary.txt", "grades.db"):
            (folder / name).write_text(f"{name} of {folder}: {secrets.token_hex(8)}\n")
            (folder / name).chmod(0o666)
    listeners.arrivals()  # what an earlier failure left is not this case's
    if not VICTIM.is_file() or VICTIM.read_text() != VICTIM_TEXT:  # an earlier failure's doing
        VICTIM.write_text(VICTIM_TEXT)
    yield Arena(hostile, listeners, own, shown, make_submission, reference_source)
    shutil.rmtree(shown, ignore_errors=True)


# --- reading results ---------------------------------------------------------------------------


def counted(result: SubmissionResult) -> list[CheckResult]:
    found = [c for c in result.checks if c.counted]
    assert found, "every check was skipped"
    return found


def target_check(result: SubmissionResult) -> CheckResult:
    (check,) = [c for c in counted(result) if c.function == TARGET]
    return check


def assert_others_pass(result: SubmissionResult) -> None:
    __tracebackhide__ = True
    wrong = {c.id: f"{c.status}: {c.message}" for c in counted(result)
             if c.function != TARGET and c.status is not Outcome.PASSED}
    assert wrong == {}, "checks on functions the hostile code left alone did not pass"


def assert_full_marks(result: SubmissionResult) -> None:
    __tracebackhide__ = True
    wrong = {c.id: f"{c.status}: {c.message}" for c in counted(result)
             if c.status is not Outcome.PASSED}
    assert wrong == {}
    assert result.score == result.max_score


def all_text(result: SubmissionResult) -> str:
    """Everything a student would read back, bar the checks' fixed titles."""
    return "\n".join(f"{c.message}\n{c.hint}" for c in result.checks)


def assert_grader_goes_on(arena: Arena, reference_folder: Path) -> None:
    """The same worker is alive and grades the reference in full."""
    __tracebackhide__ = True
    os.kill(arena.hostile.zygote, 0)  # ProcessLookupError if the worker died
    assert_full_marks(arena.grade(reference_folder))


# --- the post-conditions themselves can fail -------------------------------------------------

UNCONFINED = """
import os
import socket

with open(${own_canary}, "a") as f:
    f.write("changed")
os.remove(${shown_db})
socket.create_connection(("127.0.0.1", ${tcp_port})).close()
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.sendto(b"hello", ("127.0.0.1", ${udp_port}))
with socket.socket(socket.AF_UNIX) as s:
    s.connect(${unix_name})
"""


def test_the_witnesses_see_what_an_unconfined_process_does(arena):
    folder = arena.submission(UNCONFINED)
    before = arena.snapshot(folder)
    subprocess.run([sys.executable, folder / LINREG_FILE], check=True, timeout=30)
    problems = "\n".join(arena.problems(before, folder))
    assert "the test's own folder changed" in problems
    assert "the folder every uid may write changed" in problems
    for what in ("TCP connection", "UDP datagram b'hello'", "abstract unix connection"):
        assert f"a {what} reached a listener" in problems


def test_the_witnesses_see_a_process_left_with_a_slot_uid():
    uid = sandbox.UID_BASE + sandbox.UID_COUNT - 1  # a slot no worker claims
    assert not _slot_claimed(uid)
    with subprocess.Popen(["sleep", "60"], user=uid, group=uid) as stray:
        try:
            assert any(f"pid {stray.pid} " in p for p in leftover_processes(None, wait=0.2))
        finally:
            stray.kill()


# --- time ------------------------------------------------------------------------------------

ENDLESS = """
def normal_equation(X, y):
    while True:
        pass
"""
DEAF = """
import signal


def normal_equation(X, y):
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGXCPU, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    while True:
        pass
"""
SLEEPY = """
import time


def normal_equation(X, y):
    time.sleep(1000)
"""


@pytest.mark.parametrize("source", [ENDLESS, DEAF, SLEEPY],
                         ids=["endless-loop", "ignores-signals", "sleep-1000"])
def test_a_function_that_never_returns_times_out(arena, source):
    result = arena.grade(arena.replace(source))
    check = target_check(result)
    assert check.status is Outcome.TIMEOUT
    assert "did not finish in time" in check.message
    assert check.duration < SHORT_TIMEOUT + 3.0
    assert_others_pass(result)


def test_an_endless_loop_at_import_times_out_every_check(arena, monkeypatch):
    monkeypatch.setattr(options, "IMPORT_TIMEOUT", 2.0)
    result = arena.grade(arena.append("while True:\n    pass\n"))
    checks = counted(result)
    assert {c.status for c in checks} == {Outcome.TIMEOUT}  # nothing of it can be called
    assert all("did not finish within 2 s" in c.message for c in checks)
    assert sum(c.duration for c in checks) < 2.0 + 3.0  # one import timeout, not one per check
    assert result.score == 0


# --- resources -------------------------------------------------------------------------------

HUGE_ALLOCATION = """
def normal_equation(X, y):
    return bytearray(50 * 2**30)
"""
GROWING_HOARD = """
def normal_equation(X, y):
    hoard = []
    while True:
        hoard.append(bytearray(2**24))  # 16 MiB at a time, every page written
"""


def test_a_50_gib_allocation_is_a_memory_error(arena):
    result = arena.grade(arena.replace(HUGE_ALLOCATION))
    check = target_check(result)
    assert check.status is Outcome.ERROR
    assert "MemoryError" in check.message
    assert "out of memory" in check.hint
    assert_others_pass(result)


def test_a_growing_hoard_is_stopped_by_the_memory_limit_or_the_clock(arena):
    result = arena.grade(arena.replace(GROWING_HOARD))
    check = target_check(result)
    # Filling 4 GiB takes about a second here: whichever limit comes first stops it.
    said = {Outcome.ERROR: "MemoryError", Outcome.TIMEOUT: "did not finish in time"}
    assert check.status in said
    assert said[check.status] in check.message
    assert_others_pass(result)


FORK_BOMB = """
import os


def normal_equation(X, y):
    while True:
        os.fork()
"""


def test_a_fork_bomb_is_stopped_and_leaves_no_process(arena, reference_folder):
    result = arena.grade(arena.replace(FORK_BOMB))
    check = target_check(result)
    said = {Outcome.ERROR: "Resource temporarily unavailable",  # fork() at RLIMIT_NPROC
            Outcome.TIMEOUT: "did not finish in time"}
    assert check.status in said
    assert said[check.status] in check.message
    assert result.score < result.max_score
    assert_grader_goes_on(arena, reference_folder)


def test_a_fork_bomb_costs_no_other_function_its_points(arena):
    assert_others_pass(arena.grade(arena.replace(FORK_BOMB)))


TWO_ANSWERS = """
import os

import torch


def normal_equation(X, y):
    os.fork()  # parent and copy both return, and both answer the grader
    X1 = torch.cat([X, torch.ones_like(X[:, :1])], dim=1)
    theta = torch.linalg.lstsq(X1, y.reshape(-1, 1).to(X1.dtype)).solution
    return theta[:-1], theta[-1]
"""


def test_a_forked_copy_cannot_answer_for_later_checks(arena):
    assert_full_marks(arena.grade(arena.replace(TWO_ANSWERS)))


LOUD = """
def normal_equation(X, y):
    for _ in range(200):  # 200 MiB in all
        print("x" * 2**20)
"""


def test_printing_200_megabytes_is_cut_at_the_file_limit(arena, capfd):
    result = arena.grade(arena.replace(LOUD))
    check = target_check(result)
    assert check.status is Outcome.ERROR
    assert "File too large" in check.message
    out, err = capfd.readouterr()
    assert "x" * 1000 not in out + err  # nothing of it reached the grader's own output
    assert_others_pass(result)


ABYSS = """
import sys


class _Abyss:
    def __getattr__(self, name):  # through a C slot: 3.11 keeps plain Python calls off the C stack
        return getattr(self, name)


def normal_equation(X, y):
    sys.setrecursionlimit(10**6)
    return _Abyss().w
"""


def test_a_segfault_from_deep_recursion_is_a_crash(arena):
    result = arena.grade(arena.replace(ABYSS))
    check = target_check(result)
    assert check.status is Outcome.ERROR
    assert "SIGSEGV" in check.message
    assert_others_pass(result)


# --- escape ----------------------------------------------------------------------------------

DAEMON = """
import os
import time


def _haunt():
    for delay in (0.0, 1.0):
        time.sleep(delay)
        for path in (${own_canary}, ${shown_canary}):
            try:
                with open(path, "a") as f:
                    f.write("haunted")
                os.remove(path)
            except OSError:
                pass
    time.sleep(60)  # alive long after grading, if nothing ends it


def normal_equation(X, y):
    first = os.fork()
    if first == 0:
        os.setsid()  # a session of its own, out of the process group the grader kills
        if os.fork() == 0:
            try:
                _haunt()
            finally:
                os._exit(0)
        os._exit(0)
    os.waitpid(first, 0)
    raise RuntimeError("a daemon was started")
"""


def test_a_double_forked_daemon_does_not_outlive_grading(arena):
    result = arena.grade(arena.replace(DAEMON), settle=2.0)  # past the daemon's second attempt
    check = target_check(result)
    assert check.status is Outcome.ERROR
    assert "a daemon was started" in check.message
    assert_others_pass(result)


UNKILLABLE = """
import ctypes
import os
import time


def normal_equation(X, y):
    os.setsid()  # out of the process group the grader kills on a timeout
    ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG 0: no death with its parent
    time.sleep(1000)
"""


def test_a_child_that_leaves_its_group_does_not_outlive_a_timeout(arena):
    result = arena.grade(arena.replace(UNKILLABLE))
    assert target_check(result).status is Outcome.TIMEOUT


ATTEMPT = '''
def _attempt(label, act):
    """One hostile act: what stopped it, or SUCCEEDED."""
    try:
        act()
    except BaseException as err:
        return f"{label}: {type(err).__name__}"
    return f"{label}: SUCCEEDED"
'''
SIGNALS = ATTEMPT + """

import ctypes
import os
import signal

_libc = ctypes.CDLL(None, use_errno=True)


def _ptrace_attach(pid):
    if _libc.ptrace(16, pid, None, None) != 0:  # PTRACE_ATTACH
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def normal_equation(X, y):
    acts = ${acts}
    raise RuntimeError("signals: " + ", ".join(_attempt(n, a) for n, a in acts.items()))
"""
SIGNAL_ACTS = {
    "kill-parent": '{"kill parent": lambda: os.kill(os.getppid(), signal.SIGKILL)}',
    "kill-everyone": '{"kill -1": lambda: os.kill(-1, signal.SIGKILL)}',
    "kill-groups": """{
        "kill grader": lambda: os.kill(${grader_pid}, signal.SIGKILL),
        "kill zygote": lambda: os.kill(${zygote_pid}, signal.SIGKILL),
        "killpg grader": lambda: os.killpg(${grader_pgid}, signal.SIGKILL),
        "killpg zygote": lambda: os.killpg(${zygote_pgid}, signal.SIGKILL),
        "killpg parent's": lambda: os.killpg(os.getpgid(os.getppid()), signal.SIGKILL),
    }""",
    "ptrace": """{
        "attach grader": lambda: _ptrace_attach(${grader_pid}),
        "attach zygote": lambda: _ptrace_attach(${zygote_pid}),
        "attach parent": lambda: _ptrace_attach(os.getppid()),
    }""",
}


@pytest.mark.parametrize("acts", SIGNAL_ACTS.values(), ids=SIGNAL_ACTS.keys())
def test_the_grader_survives_signals_and_ptrace(arena, reference_folder, acts):
    # ${...} inside the acts are filled in on a second pass, with the rest of the source.
    source = string.Template(SIGNALS).safe_substitute(acts=acts)
    result = arena.grade(arena.replace(source))
    check = target_check(result)
    assert check.status is Outcome.ERROR
    assert "signals:" in check.message or "SIGKILL" in check.message  # or it only killed itself
    # A kill that "succeeds" may have reached nothing: the child is its pid namespace's init,
    # which ignores SIGKILL from inside. What counts is that the grader and its worker live on.
    assert not re.search(r"attach \w+: SUCCEEDED", check.message)
    assert_others_pass(result)
    assert_grader_goes_on(arena, reference_folder)


# --- theft -----------------------------------------------------------------------------------

DIGEST = """
import hashlib
import os
from pathlib import Path


def _digest(path, size=-1):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read(size)).hexdigest()
    except OSError as err:
        return type(err).__name__
"""
IMPORT_REFERENCE = """
def normal_equation(X, y):
    import grader.builtin.reference.linear_regression as ref

    return ref.normal_equation(X, y)
"""
IMPORT_CHECKS = DIGEST + """

def normal_equation(X, y):
    import inspect

    import grader.builtin.assignments.linreg.checks as checks

    raise RuntimeError("stolen: " + hashlib.sha256(inspect.getsource(checks).encode()).hexdigest())
"""
FROM_MEMORY = """
import gc
import sys


def normal_equation(X, y):
    for obj in gc.get_objects():  # the reference's function, if the worker ever loaded it
        module = getattr(obj, "__module__", None)
        if isinstance(module, str) and module.endswith((".reference", ".linear_regression")) \\
                and callable(obj):
            if getattr(obj, "__name__", "") == "normal_equation":
                return obj(X, y)
    modules = sorted(m for m in sys.modules if m.startswith(("grader.builtin", "grader_course")))
    raise RuntimeError(f"stolen: {modules}")
"""
WALK_UP = DIGEST + """

def normal_equation(X, y):
    import grader

    here = Path(grader.__file__).resolve()
    read = []
    for folder in here.parents:
        for name in ("reference/linear_regression.py", "assignments/linreg/checks.py",
                     ".git/HEAD", ".git/config"):
            digest = _digest(folder / name)
            if digest != "FileNotFoundError":
                read.append(f"{folder / name}={digest}")
    for path in (${reference_file}, ${checks_file}):
        read.append(f"{path}={_digest(path)}")
    raise RuntimeError(f"stolen: {sorted(os.listdir(here.parents[1]))} {read}")
"""
ENVIRONMENT = """
import os
from pathlib import Path


def normal_equation(X, y):
    seen = [os.environ.get(${env_name}, "-")]
    for environ in Path("/proc").glob("*/environ"):
        try:
            entries = environ.read_bytes().split(b"\\0")
        except OSError:
            continue
        seen += [e.decode(errors="replace") for e in entries if e.startswith(b"GRADER")]
    raise RuntimeError(f"stolen: {seen}")
"""
HOME = DIGEST + """

def normal_equation(X, y):
    try:
        secret = open(${home_secret}).read()[:100]
    except OSError as err:
        secret = type(err).__name__
    raise RuntimeError(f"stolen: {secret} {_digest(${home_secret})}")
"""
TEST_SET = DIGEST + """

def normal_equation(X, y):
    raw = Path(${raw})
    names = sorted({p.name for p in raw.glob("t10k-*")}
                   | {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"})
    read = [f"{name}={_digest(raw / name, 4096)}" for name in names]
    raise RuntimeError(f"stolen: {read}")
"""


def _file_digests(*paths: Path) -> list[str]:
    return [sha256(p.read_bytes()) for p in paths if p.is_file()]


@pytest.fixture
def home_secret() -> Iterator[tuple[Path, str]]:
    """A secret file of the test's own in the grader's home folder."""
    folder = Path(tempfile.mkdtemp(prefix=".grader-hostile-", dir=Path.home()))
    secret = f"home-secret-{secrets.token_hex(8)}"
    (folder / "secret.txt").write_text(secret)
    yield folder / "secret.txt", secret
    shutil.rmtree(folder)


def test_importing_the_reference_finds_nothing(arena):
    result = arena.grade(arena.replace(IMPORT_REFERENCE))
    check = target_check(result)
    assert check.status is Outcome.ERROR
    assert "No module named 'grader.builtin.reference'" in check.message
    assert_others_pass(result)


def test_importing_the_checks_finds_nothing(arena):
    result = arena.grade(arena.replace(IMPORT_CHECKS))
    check = target_check(result)
    assert check.status is Outcome.ERROR
    assert "No module named 'grader.builtin.assignments" in check.message
    assert sha256(CHECKS_FILE.read_text().encode()) not in all_text(result)
    assert_others_pass(result)


def test_the_workers_memory_holds_no_reference_or_checks(arena):
    result = arena.grade(arena.replace(FROM_MEMORY))
    check = target_check(result)
    assert check.status is Outcome.ERROR
    assert "stolen: [" in check.message
    assert "reference" not in check.message
    assert ".linreg.checks" not in check.message
    assert_others_pass(result)


def test_walking_up_from_the_grader_reads_no_secret(arena):
    result = arena.grade(arena.replace(WALK_UP))
    check = target_check(result)
    assert check.status is Outcome.ERROR
    assert "stolen:" in check.message
    git = REPO / ".git"
    for digest in _file_digests(REFERENCE_FILE, CHECKS_FILE, git / "HEAD", git / "config"):
        assert digest not in all_text(result)
    assert "'reference'" not in check.message  # the checkout's listing
    assert_others_pass(result)


def test_the_graders_environment_is_not_readable(arena):
    assert os.environ[SECRET_ENV] == SECRET_VALUE
    result = arena.grade(arena.replace(ENVIRONMENT))
    check = target_check(result)
    assert check.status is Outcome.ERROR
    assert "stolen: ['-'" in check.message
    assert SECRET_VALUE not in all_text(result)
    assert_others_pass(result)


def test_files_in_the_home_folder_are_hidden(arena, home_secret):
    path, secret = home_secret
    result = arena.grade(arena.replace(HOME, home_secret=repr(str(path))))
    check = target_check(result)
    assert check.status is Outcome.ERROR
    assert "stolen: FileNotFoundError" in check.message
    assert secret not in all_text(result)
    assert sha256(secret.encode()) not in all_text(result)
    assert_others_pass(result)


def test_the_test_set_is_hidden(arena, data_root):
    raw = raw_folder(data_root)
    heads = [sha256(p.read_bytes()[:4096]) for p in raw.glob("t10k-*")]
    assert heads, f"no test set under {raw} to steal"
    result = arena.grade(arena.replace(TEST_SET, raw=repr(str(raw))))
    check = target_check(result)
    assert check.status is Outcome.ERROR
    assert "stolen:" in check.message
    for digest in heads:
        assert digest not in all_text(result)
    assert_others_pass(result)


# --- tampering -------------------------------------------------------------------------------

TAMPER = ATTEMPT + """

import os


def _write(path):
    with open(path, "w") as f:
        f.write("hostile")


def _append(path):
    with open(path, "a") as f:
        f.write("hostile")


def _create_beside(path):
    with open(os.path.join(os.path.dirname(path), "hostile-new.txt"), "x") as f:
        f.write("hostile")


DESTROY = {
    "write": _write,
    "append": _append,
    "chmod": lambda path: os.chmod(path, 0o777),
    "rename": lambda path: os.rename(path, path + ".moved"),
    "delete": os.remove,
    "create": _create_beside,
}
# Acts that would change nothing if they succeeded, for files a failure must not destroy.
PROBE = {
    "open for append": lambda path: os.close(os.open(path, os.O_WRONLY | os.O_APPEND)),
    "chmod to its mode": lambda path: os.chmod(path, os.stat(path).st_mode & 0o7777),
    "create": _create_beside,
}


def normal_equation(X, y):
    results = []
    for label, path in ${destroy}.items():
        results += [_attempt(f"{label} {n}", lambda a=a: a(path)) for n, a in DESTROY.items()]
    for label, path in ${probe}.items():
        results += [_attempt(f"{label} {n}", lambda a=a: a(path)) for n, a in PROBE.items()]
    raise RuntimeError("tamper: " + ", ".join(results))
"""
# Files the grader itself runs or reads: only probed, as a broken sandbox must not damage them.
PROTECTED = {
    "reference": REFERENCE_FILE,
    "checks": CHECKS_FILE,
    "grader": REPO / "grader" / "api.py",
    "torch": Path(torch.__file__),
    "stdlib": Path(os.__file__),
}
TAMPER_TARGETS = {  # the files destroyed, the files probed
    "canary": ('{"own": ${own_canary}, "shown": ${shown_canary}}', "{}"),
    "grades-db": ('{"own": ${own_db}, "shown": ${shown_db}}', "{}"),
    "checkout": ('{"victim": ${victim}}', repr({k: str(v) for k, v in PROTECTED.items()})),
    "submission": ('{"self": __file__, "original": ${original}}', "{}"),
}


@pytest.mark.parametrize("destroy, probe", TAMPER_TARGETS.values(), ids=TAMPER_TARGETS.keys())
def test_files_outside_the_scratch_folder_cannot_be_changed(arena, destroy, probe):
    source = string.Template(TAMPER).safe_substitute(destroy=destroy, probe=probe)
    try:
        result = arena.grade(arena.replace(source))
    finally:
        for path in PROTECTED.values():  # only there if the sandbox failed, and reported so
            path.with_name("hostile-new.txt").unlink(missing_ok=True)
    check = target_check(result)
    assert check.status is Outcome.ERROR
    assert "tamper:" in check.message
    assert "SUCCEEDED" not in check.message
    assert_others_pass(result)


# --- network ---------------------------------------------------------------------------------

NETWORK = ATTEMPT + """

import socket


def _tcp():
    with socket.create_connection(("127.0.0.1", ${tcp_port}), timeout=2) as s:
        s.sendall(b"hostile")


def _udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"hostile", ("127.0.0.1", ${udp_port}))


def _unix():
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect(${unix_name})
        s.sendall(b"hostile")


def normal_equation(X, y):
    raise RuntimeError("network: " + _attempt("${kind}", _${kind}))
"""


@pytest.mark.parametrize("kind", ["tcp", "udp", "unix"])
def test_the_listeners_of_the_machine_are_out_of_reach(arena, kind):
    result = arena.grade(arena.replace(string.Template(NETWORK).safe_substitute(kind=kind)))
    check = target_check(result)
    assert check.status is Outcome.ERROR
    assert f"network: {kind}:" in check.message
    assert "SUCCEEDED" not in check.message
    assert_others_pass(result)


# --- lying -----------------------------------------------------------------------------------

WRONG = """
    return torch.zeros(X.shape[1], 1, dtype=X.dtype), torch.zeros(1, dtype=X.dtype)
"""
FORGED_OUTPUT = """
import json
import sys

import torch


def normal_equation(X, y):
    forged = json.dumps({"assignment": "linreg", "score": 30.0, "max_score": 30.0,
                         "checks": [{"status": "passed"}], "note": ${forged}})
    print(forged)
    print(forged, file=sys.stderr)
""" + WRONG
FORGED_DESCRIPTORS = """
import json
import os

import torch


def normal_equation(X, y):
    forged = json.dumps({"ok": {"score": 30.0}, "note": ${forged}}).encode()
    for fd in range(3, 256):
        try:
            os.write(fd, forged)
        except OSError:
            pass
""" + WRONG
PATCHED_COMPARISONS = """
import builtins
import math

import torch
import torch.testing


def normal_equation(X, y):
    agree = lambda *args, **kwargs: True
    torch.allclose = torch.equal = math.isclose = agree
    torch.testing.assert_close = lambda *args, **kwargs: None
    builtins.all = builtins.any = agree
""" + WRONG
AGREEABLE_TENSOR = """
import torch


class _Agreeable(torch.Tensor):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


def normal_equation(X, y):
    w = torch.zeros(X.shape[1], 1, dtype=X.dtype).as_subclass(_Agreeable)
    return w, torch.zeros(1, dtype=X.dtype).as_subclass(_Agreeable)
"""
PICKLE_TRAP = """
class _Trap:
    def __reduce__(self):  # unpickled anywhere, it truncates the canary
        return (open, (${own_canary}, "w"))


def normal_equation(X, y):
    return _Trap(), _Trap()
"""
LIES = {  # source, the status it must get, a word of its message
    "forged-output": (FORGED_OUTPUT, Outcome.FAILED, "max abs error"),
    "forged-descriptors": (FORGED_DESCRIPTORS, Outcome.ERROR, "malformed reply"),
    "patched-comparisons": (PATCHED_COMPARISONS, Outcome.FAILED, "max abs error"),
    "tensor-equal-to-all": (AGREEABLE_TENSOR, Outcome.FAILED, "max abs error"),
    "pickle-trap": (PICKLE_TRAP, Outcome.FAILED, "_Trap object"),
}


@pytest.mark.parametrize("source, status, said", LIES.values(), ids=LIES.keys())
def test_a_lie_never_reads_as_a_pass(arena, capfd, source, status, said):
    result = arena.grade(arena.replace(source))
    check = target_check(result)
    assert check.status is status
    assert said in check.message
    assert result.score < result.max_score
    out, err = capfd.readouterr()
    assert FORGED not in out + err  # the child's output never reaches the grader's
    assert_others_pass(result)


EXITS = {
    "sys.exit": ("import sys\n\n\ndef normal_equation(X, y):\n    sys.exit(0)\n", "sys.exit(0)"),
    "os._exit": ("import os\n\n\ndef normal_equation(X, y):\n    os._exit(0)\n",
                 "exited with status 0"),
}


@pytest.mark.parametrize("source, said", EXITS.values(), ids=EXITS.keys())
def test_exiting_is_an_error_never_a_pass(arena, source, said):
    result = arena.grade(arena.replace(source))
    check = target_check(result)
    assert check.status is Outcome.ERROR
    assert said in check.message
    assert_others_pass(result)


# --- broken files ----------------------------------------------------------------------------


def _write_bytes(arena: Arena, data: bytes) -> Path:
    folder = arena.make_submission({})
    (folder / LINREG_FILE).write_bytes(data)
    return folder


def test_a_syntax_error_is_an_error_on_every_check(arena):
    result = arena.grade(arena.append("def broken(:\n"))
    checks = counted(result)
    assert {c.status for c in checks} == {Outcome.ERROR}
    assert all("syntax error" in c.message for c in checks)
    assert result.score == 0


def test_bytes_that_are_not_utf8_are_an_error_on_every_check(arena, reference_source):
    result = arena.grade(_write_bytes(arena, b"\xff\xfe" + reference_source.encode()))
    checks = counted(result)
    assert {c.status for c in checks} == {Outcome.ERROR}
    assert all("utf-8" in c.message for c in checks)
    assert result.score == 0


def test_an_empty_file_has_every_function_missing(arena):
    result = arena.grade(_write_bytes(arena, b""))
    checks = counted(result)
    assert {c.status for c in checks} == {Outcome.MISSING}
    assert all(f"not found in {LINREG_FILE}" in c.message for c in checks)


@pytest.mark.parametrize("target", [REFERENCE_FILE, Path("/etc/passwd")],
                         ids=["to-the-reference", "to-etc-passwd"])
def test_a_student_file_that_is_a_symlink_is_refused(arena, target):
    folder = arena.make_submission({})
    (folder / LINREG_FILE).symlink_to(target)
    result = arena.grade(folder)
    checks = counted(result)
    assert {c.status for c in checks} == {Outcome.ERROR}
    assert {c.message for c in checks} == {f"{LINREG_FILE} must be a regular file, not a link"}
    assert result.score == 0


THROUGH_LINKS = DIGEST + """

def normal_equation(X, y):
    here = Path(__file__).parent
    read = [f"{name}={_digest(here / name)}"
            for name in ("stolen.py", "passwd", "checkout/reference/linear_regression.py")]
    raise RuntimeError(f"stolen: {sorted(os.listdir(here))} {read}")
"""


def test_symlinks_beside_the_student_file_lead_nowhere(arena):
    folder = arena.replace(THROUGH_LINKS)
    (folder / "stolen.py").symlink_to(REFERENCE_FILE)
    (folder / "passwd").symlink_to("/etc/passwd")
    (folder / "checkout").symlink_to(REPO, target_is_directory=True)
    result = arena.grade(folder)
    check = target_check(result)
    assert check.status is Outcome.ERROR
    assert f"stolen: ['{LINREG_FILE}']" in check.message  # the links were not copied
    for digest in _file_digests(REFERENCE_FILE, Path("/etc/passwd")):
        assert digest not in all_text(result)
    assert_others_pass(result)


HELPED = """
from helper import solve


def normal_equation(X, y):
    return solve(X, y)
"""
HELPER = """
import torch


def solve(X, y):
    X1 = torch.cat([X, torch.ones_like(X[:, :1])], dim=1)
    theta = torch.linalg.lstsq(X1, y.reshape(-1, 1).to(X1.dtype)).solution
    return theta[:-1], theta[-1]
"""


def test_extra_modules_and_folders_are_harmless(arena):
    folder = arena.replace(HELPED)
    (folder / "helper.py").write_text(textwrap.dedent(HELPER))
    (folder / "notes").mkdir()
    (folder / "notes" / "todo.txt").write_text("finish huber_loss\n")
    (folder / "pkg").mkdir()
    (folder / "pkg" / "__init__.py").write_text("raise SystemExit('never imported')\n")
    assert_full_marks(arena.grade(folder))


JUNK = {  # case -> {file name: MiB}
    "one-20-MiB-file": {"junk.bin": 20},
    "70-MiB-in-small-files": {f"junk{i}.bin": 10 for i in range(7)},
}


@pytest.mark.parametrize("junk", JUNK.values(), ids=JUNK.keys())
def test_junk_files_give_results_not_an_exception(arena, junk):
    folder = arena.make_submission({LINREG_FILE: arena.reference_source})
    for name, mebibytes in junk.items():
        (folder / name).write_bytes(os.urandom(mebibytes * 2**20))
    result = arena.grade(folder)
    if sum(junk.values()) * 2**20 <= MAX_SUBMISSION_BYTES:  # copied in, past the file limit
        assert_full_marks(result)
    else:  # refused before any child starts, with the sizes in the message
        assert {c.status for c in counted(result)} == {Outcome.ERROR}
        assert all("the limit is 32 MiB" in c.message for c in counted(result))


def test_the_grader_still_gives_full_marks_at_the_end(arena, reference_folder):
    assert_grader_goes_on(arena, reference_folder)


# --- inodes (issue 20, item 10) --------------------------------------------------------------

INODES = """
import os


def normal_equation(X, y):
    made = 0
    try:
        while made < 500_000:  # empty files: kernel memory that no rlimit counts
            open(f"empty{made}", "w").close()
            made += 1
    except OSError as err:
        raise RuntimeError(f"inodes: {made} made, then errno {err.errno}")
    raise RuntimeError(f"inodes: {made} made, no limit")
"""


def test_files_made_in_scratch_are_capped_by_count(arena, reference_folder):
    result = arena.grade(arena.replace(INODES))
    check = target_check(result)
    assert check.status is Outcome.ERROR
    found = re.search(r"inodes: (\d+) made, then errno 28", check.message)  # ENOSPC
    assert found, check.message
    cap = sandbox.Isolation.scratch_inodes + sandbox.Isolation.submission_files + 8
    assert sandbox.Isolation.scratch_inodes // 2 < int(found[1]) <= cap
    assert_others_pass(result)
    assert_grader_goes_on(arena, reference_folder)


def test_a_submission_of_too_many_files_is_refused_with_the_count(arena):
    folder = arena.make_submission({LINREG_FILE: arena.reference_source})
    for i in range(sandbox.Isolation.submission_files):
        (folder / f"note{i}.txt").touch()
    result = arena.grade(folder)
    assert {c.status for c in counted(result)} == {Outcome.ERROR}
    limit = sandbox.Isolation.submission_files
    assert all(f"the limit is {limit}" in c.message for c in counted(result))
