"""The zygote: imports torch once, preloads public training data, forks one child per submission.

Started by ``Worker`` as ``python -m grader.runner.zygote FD``. It imports torch at once, then reads
its configuration (probe modules, datasets) as the first message, runs each probe module's
``warm_up()`` and preloads the datasets before it reports ready. It speaks JSON
over a SOCK_SEQPACKET control socket; each ``spawn`` message carries the child's end of a fresh
socket pair as an SCM_RIGHTS descriptor. It holds no secrets: no reference outputs, no test set.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import socket
import sys
import tempfile
from pathlib import Path

# cuBLAS reads this at a process's first CUDA call, which happens in a child (CUDA cannot cross
# a fork, so the zygote never touches it): deterministic matrix products on a GPU.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

# Forked children hang in OpenMP if the parent ever ran a multi-threaded op: one thread, first.
import torch  # noqa: E402

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

import importlib  # noqa: E402
import importlib.util  # noqa: E402

from grader.runner import child, datasets, sandbox, seccomp  # noqa: E402

_exited: dict[int, int] = {}  # pid -> raw wait status, filled by the SIGCHLD handler
_children: set[int] = set()  # children spawned and not yet reported as exited
_seccomp_rules = None  # the strict children's seccomp filter, built once in main()
_inits: dict[int, int] = {}  # child -> a pidfd of its pid namespace's first process (strict)


def _reap(signum, frame) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _exited[pid] = status
        _children.discard(pid)
        if len(_exited) > 10_000:  # statuses nobody asked for; keep memory bounded
            _exited.pop(next(iter(_exited)))


def _prctl(option: int, value: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
_SETUP_TIMEOUT = 10.0  # seconds for a child to fork, isolate itself and say so


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _limit(resource_id: int, value: int) -> None:
    soft = hard = value
    try:
        resource.setrlimit(resource_id, (soft, hard))
    except (ValueError, OSError):
        pass


def _enter_child(
    sock: socket.socket, request: dict, probe_modules: dict, isolation: sandbox.Isolation,
    ready: int,
) -> None:
    """In the forked child: detach, limit, redirect output, isolate, then serve the parent.

    ``ready`` is a pipe to the zygote: one line, ``ok`` or what went wrong, once the child is
    confined and before it runs any student code.
    """
    os.setsid()  # its own process group: the parent kills the whole group on timeout
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the zygote
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # oversized output fails a write, not the child
    limits = request["limits"]
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_NOFILE, limits["open_files"])
    cpu = limits["cpu_seconds"]
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    except (ValueError, OSError):
        pass
    _limit(resource.RLIMIT_AS, _vm_size() + limits["memory_bytes"])
    scratch = Path(request["scratch"])
    out = os.open(scratch / "output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    os.close(devnull)
    submission = Path(request["submission"])
    if isolation.level == "strict":
        _limit(resource.RLIMIT_NPROC, sandbox.PROCESSES)  # counted for the slot's uid
        try:
            submission, work = sandbox.enter(isolation, submission, scratch)
        except OSError as err:
            _tell(ready, f"strict isolation failed: {err}")
            os._exit(71)
        _limit(resource.RLIMIT_FSIZE, limits["file_bytes"])  # after copying the submission
        pid = os.fork()  # the first process of the new pid namespace runs the student's code
        if pid:
            _tell(ready, f"init {pid}")  # the zygote kills it by pid: it may leave the group
            _supervise(pid, sock, ready)
        try:
            sandbox.confine(isolation, work, keep=(0, 1, 2, sock.fileno(), ready),
                            rules=_seccomp_rules)
        except OSError as err:
            _tell(ready, f"strict isolation failed: {err}")
            os._exit(71)
        os.environ.update(HOME=str(work), TMPDIR=str(work))
        tempfile.tempdir = str(work)
    else:
        _limit(resource.RLIMIT_FSIZE, limits["file_bytes"])
        os.chdir(scratch)
    _tell(ready, "ok")
    os.close(ready)
    child.run(sock, submission, probe_modules)


def _supervise(pid: int, sock: socket.socket, ready: int) -> None:
    """Outside the pid namespace: wait for its first process and end the way it ended."""
    sock.close()  # the parent must see the connection close when the child dies
    os.close(ready)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(70)
    if os.WIFSIGNALED(status):
        try:
            signal.signal(os.WTERMSIG(status), signal.SIG_DFL)  # not allowed for SIGKILL
        except (OSError, ValueError):
            pass
        os.kill(os.getpid(), os.WTERMSIG(status))
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 70)


def _tell(fd: int, line: str) -> None:
    try:
        os.write(fd, line.encode()[:4000] + b"\n")
    except OSError:
        pass


def _spawn(
    control: socket.socket, request: dict, fds: list[int], probe_modules: dict,
    isolation: sandbox.Isolation,
) -> None:
    if len(fds) != 1:
        for fd in fds:
            os.close(fd)
        control.send(json.dumps({"error": "spawn needs exactly one descriptor"}).encode())
        return
    try:
        read, write = os.pipe()
    except OSError as err:  # out of descriptors: the grader's trouble, said, not fatal
        os.close(fds[0])
        control.send(json.dumps({"error": f"no pipe ({err.strerror})"}).encode())
        return
    try:
        pid = os.fork()
    except OSError as err:  # out of processes or memory: the zygote lives on for the next one
        for fd in (read, write, fds[0]):
            os.close(fd)
        control.send(json.dumps({"error": f"fork failed ({err.strerror})"}).encode())
        return
    if pid == 0:
        try:  # a forked copy must never return into the zygote's loop
            control.close()
            os.close(read)
            _enter_child(socket.socket(fileno=fds[0]), request, probe_modules, isolation, write)
        finally:
            os._exit(70)  # not reached when all goes well: child.run exits
    os.close(fds[0])
    os.close(write)
    _children.add(pid)
    strict = isolation.level == "strict"
    lines = _read_lines(read, _SETUP_TIMEOUT, expect_init=strict)
    os.close(read)
    reply: dict = {"pid": pid}
    init, lines = _split_init(lines)
    if strict and init is None and lines == ["ok"]:  # the zygote could not kill what it runs
        lines = ["the child's supervisor ended before naming its first process"]
    if init is not None:
        try:
            _inits[pid] = os.pidfd_open(init)
        except (OSError, ValueError):
            lines = ["the child ended while being set up"]
    if lines == ["ok"]:
        control.send(json.dumps(reply).encode())
    else:
        _kill(pid)
        _kill_init(pid, release=True)
        said = lines[-1] if lines else "the child ended while being set up"
        control.send(json.dumps({"error": said}).encode())


def _split_init(lines: list[str]) -> tuple[int | None, list[str]]:
    """(the pid in the supervisor's "init PID" line, the other lines). The supervisor's line and
    the init's own "ok" come from two processes, in either order: on a busy machine the init
    can say ok before its parent says init."""
    init = next((line for line in lines if line.startswith("init ")), None)
    rest = [line for line in lines if line is not init]
    try:
        return (int(init.split()[1]) if init else None), rest
    except (IndexError, ValueError):
        return None, ["the child ended while being set up"]


def _read_lines(fd: int, timeout: float, expect_init: bool) -> list[str]:
    """The lines written to the pipe until ``ok`` or an error (and, with ``expect_init``, the
    supervisor's ``init PID``, which may come before or after), or its last writer closing it."""
    deadline = _monotonic() + timeout
    data = b""
    while True:
        lines = data.decode(errors="replace").splitlines()
        said = [line for line in lines if not line.startswith("init ")]
        has_init = len(said) < len(lines)
        if data.endswith(b"\n") and said and (has_init or not expect_init):
            return lines
        left = deadline - _monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return [*lines, "the child took too long to set up"]
        chunk = os.read(fd, 4096)
        if not chunk:
            return lines
        data += chunk


def _status(control: socket.socket, pid: int, wait: float) -> None:
    """The exit status of ``pid``, waiting up to ``wait`` seconds for it to end."""
    deadline = _monotonic() + wait
    while pid not in _exited and _monotonic() < deadline:
        signal.sigtimedwait([signal.SIGCHLD], 0.01)
        _reap(None, None)
    status = _exited.pop(pid, None)
    reply: dict = {"running": status is None}
    if status is not None:
        _kill_init(pid, release=True)  # a supervisor killed alone must not leave its namespace
        if os.WIFSIGNALED(status):
            reply["signal"] = os.WTERMSIG(status)
        else:
            reply["exit"] = os.WEXITSTATUS(status)
    control.send(json.dumps(reply).encode())


def _load(name: str, path: str | None):
    """Import a module; one with a path is loaded from its file alone, without its package.

    An assignment's probes live in its package, whose ``__init__`` registers the checks: loading
    the file alone keeps the checks, and any hidden inputs in them, out of the children.
    """
    if path is None:
        return importlib.import_module(name)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {name} from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _book_helpers() -> None:
    """``from d2l import torch as d2l`` in student code imports the grader's own d2l
    (runner/shims/d2l: the book's helpers, over the preloaded data), loaded once here. A
    submission's own folder comes first on the path, but this d2l is already imported."""
    sys.path.insert(0, str(Path(__file__).with_name("shims")))
    importlib.import_module("d2l.torch")


def _kill(pid: int) -> None:
    """Kill a child's process group and, under strict isolation, the first process of its pid
    namespace, which student code can take out of the group; every process it started dies too.

    The group's id is the child's pid. Once the child is reaped and the group empty, that id is
    free and the machine may give it to a process elsewhere that leads a group of its own, so
    the group is killed only while it is surely the child's: the child not yet reaped, or a
    process of ours still in the group (which keeps the id from being given out).
    """
    if pid in _children or _ours_in_group(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    _kill_init(pid, release=False)


def _ours_in_group(pgid: int) -> bool:
    """Whether a process of group ``pgid`` descends from this zygote: a child's orphans are
    reparented here (PR_SET_CHILD_SUBREAPER), so what the child left behind does."""
    parents, members = {}, []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                ppid, group = f.read().rsplit(b")", 1)[1].split()[1:3]  # after the name
        except (OSError, ValueError):
            continue  # gone meanwhile
        parents[int(entry.name)] = int(ppid)
        if int(group) == pgid:
            members.append(int(entry.name))
    me = os.getpid()
    for pid in members:
        seen = set()
        while pid > 1 and pid not in seen:
            seen.add(pid)
            pid = parents.get(pid, 0)
            if pid == me:
                return True
    return False


def _kill_init(pid: int, release: bool) -> None:
    """Through a pidfd, so a recycled pid can never be hit."""
    pidfd = _inits.pop(pid, None) if release else _inits.get(pid)
    if pidfd is None:
        return
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except OSError:
        pass  # already gone
    if release:
        os.close(pidfd)


def _monotonic() -> float:
    import time

    return time.monotonic()


def main(argv: list[str]) -> int:
    global _seccomp_rules
    control = socket.socket(fileno=int(argv[0]))
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the grader, and so do its children
    _prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphaned grandchildren are reparented here and reaped
    signal.signal(signal.SIGCHLD, _reap)
    config = json.loads(control.recv(1 << 16) or b"null")
    if config is None:  # the parent went away before configuring us
        return 0
    probe_modules = {name: _load(name, path) for name, path in config["probe_modules"]}
    isolation = sandbox.Isolation.from_dict(config["isolation"])
    if isolation.level == "strict":
        _seccomp_rules = seccomp.prepare()  # children cannot run ldconfig to find it
    for module in probe_modules.values():
        # torch's lazy first-use costs, paid once here rather than in every child
        getattr(module, "warm_up", lambda: None)()
    for name in config["datasets"]:
        datasets.preload(name, config["data_root"])
    _book_helpers()
    control.send(json.dumps({"ready": True, "vm_size": _vm_size()}).encode())
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 4)
        except InterruptedError:
            continue
        if not message:  # the parent is gone: take every child with us
            for pid in _children:
                _kill(pid)
            return 0
        request = json.loads(message)
        if request["op"] == "spawn":
            _spawn(control, request, fds, probe_modules, isolation)
        elif request["op"] == "kill":
            _kill(int(request["pid"]))
            control.send(b'{"killed": true}')
        elif request["op"] == "status":
            _status(control, int(request["pid"]), float(request["wait"]))


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stderr.flush()
    os._exit(code)  # its children are killed; unloading torch would only cost a second
