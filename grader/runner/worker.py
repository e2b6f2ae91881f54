"""The parent's side of the runner: one zygote per worker slot, one child per submission.

This is the runner's whole interface: ``Worker.spawn`` gives a ``Child`` whose ``request``
sends one message and returns the decoded reply, or raises ``ChildTimeout`` / ``ChildDied``.

This module does not import torch, so that a command can ``launch`` the zygote first and import
torch itself while the zygote does the same on the other core.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from grader.outcomes import GraderError
from grader.runner import sandbox

_STARTUP_TIMEOUT = 120.0  # seconds; importing torch and loading Fashion-MNIST on a busy machine
_OUTPUT_TAIL = 2000  # characters of the child's printed output kept for a message


class WorkerError(GraderError):
    """The zygote could not be started or stopped answering."""


class ChildTimeout(GraderError):
    """The child did not answer in time and was killed."""


class ChildDied(GraderError):
    """The child ended during a request; the message says how (exit status or signal)."""


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 4 * 2**30  # address space on top of what the zygote already maps
    cpu_seconds: int = 600  # CPU time over the child's whole life (one submission)
    file_bytes: int = 16 * 2**20  # largest file, printed output included
    open_files: int = 256


class Worker:
    """A zygote process that imports torch once and forks children from it."""

    def __init__(
        self,
        *,
        probe_modules: list[str] = (),
        datasets: list[str] = (),
        data_root: str | Path | None = None,
        isolation: str = "basic",
        hide: list[str | Path] = (),
    ) -> None:
        self.configure(
            probe_modules=probe_modules, datasets=datasets, data_root=data_root,
            isolation=isolation, hide=hide,
        )
        self._control: socket.socket | None = None
        self._process: subprocess.Popen | None = None
        self._ready = False
        self._slot: tuple[int, int] | None = None  # (uid, the descriptor whose lock holds it)

    def __enter__(self) -> Worker:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def configure(
        self, *, probe_modules: list[str], datasets: list[str] = (), data_root=None,
        isolation: str = "basic", hide: list[str | Path] = (),
    ) -> None:
        """Set what the zygote loads and how it confines children; after ``launch``, before
        ``start``. ``strict`` isolation hides ``hide`` (and the usual secrets) from children."""
        if isolation not in ("strict", "basic"):
            raise ValueError(f"unknown isolation {isolation!r}")
        self.isolation = isolation
        self._hide = [str(Path(p).resolve()) for p in hide]
        self._config = {
            "probe_modules": [(name, _source_file(name)) for name in probe_modules],
            "datasets": list(datasets),
            "data_root": str(data_root) if data_root is not None else None,
        }

    def launch(self) -> None:
        """Start the zygote process; it imports torch while the caller goes on."""
        if self._process is not None:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "grader.runner.zygote", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=_child_environment(),
            cwd=tempfile.gettempdir(),
        )
        theirs.close()
        self._control = ours

    def start(self, meanwhile: Callable[[], None] | None = None) -> None:
        """Launch if need be, send the configuration, and wait until the zygote is ready;
        ``meanwhile`` runs here while the zygote loads."""
        self.launch()
        assert self._control is not None
        self._control.settimeout(_STARTUP_TIMEOUT)
        try:
            isolation = self._isolation()
        except OSError as err:
            self.close()
            raise WorkerError(f"strict isolation cannot start: {err}") from None
        try:
            self._control.send(json.dumps({**self._config, "isolation": isolation}).encode())
        except OSError:
            pass  # the zygote is gone: the reply below says so
        try:
            if meanwhile is not None:
                meanwhile()
            ready = json.loads(self._control.recv(1 << 16) or b"{}")
        except (OSError, ValueError):
            ready = {}
        except BaseException:
            self.close()
            raise
        self._ready = bool(ready.get("ready"))
        if not self._ready:
            reason = self._stderr_tail()
            self.close()
            raise WorkerError(f"the worker process failed to start: {reason}")

    def _isolation(self) -> dict:
        if self.isolation == "basic":
            return sandbox.Isolation().to_dict()
        if self._slot is None:
            self._slot = sandbox.claim_uid()
        hide = sorted({*sandbox.secret_folders(), *self._hide})
        return sandbox.Isolation("strict", uid=self._slot[0], hide=tuple(hide)).to_dict()

    @property
    def uid(self) -> int | None:
        """The unprivileged uid student code runs as under strict isolation."""
        return self._slot[0] if self._slot else None

    def spawn(self, submission: Path, limits: Limits | None = None) -> Child:
        """Fork a fresh child that will serve requests for ``submission``."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        scratch = Path(tempfile.mkdtemp(prefix="grader-scratch-"))
        message = {
            "op": "spawn",
            "submission": str(Path(submission).resolve()),
            "scratch": str(scratch),
            "limits": asdict(limits or Limits()),
        }
        try:
            reply = self._ask(message, fds=[theirs.fileno()])
        finally:
            theirs.close()
        if "pid" not in reply:
            ours.close()
            shutil.rmtree(scratch, ignore_errors=True)
            raise WorkerError(f"the worker could not fork: {reply.get('error')}")
        return Child(self, int(reply["pid"]), ours, scratch)

    def kill(self, pid: int) -> None:
        """SIGKILL a child's process group and every process of its pid namespace."""
        self._ask({"op": "kill", "pid": pid})

    def exit_status(self, pid: int, wait: float) -> dict:
        return self._ask({"op": "status", "pid": pid, "wait": wait}, timeout=wait + 10)

    def _ask(self, message: dict, fds: list[int] = (), timeout: float = 30.0) -> dict:
        if self._control is None:
            raise WorkerError("the worker is not running")
        self._control.settimeout(timeout)
        try:
            socket.send_fds(self._control, [json.dumps(message).encode()], list(fds))
            reply = self._control.recv(1 << 16)
        except (OSError, TimeoutError) as err:
            raise WorkerError(f"the worker stopped answering: {err}") from None
        if not reply:
            raise WorkerError(f"the worker process ended: {self._stderr_tail()}")
        return json.loads(reply)

    def close(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._process is not None:
            if not self._ready:  # launched but never used: no need to wait for its imports
                self._process.kill()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stderr is not None:
                self._process.stderr.close()
            self._process, self._ready = None, False
        if self._slot is not None:
            os.close(self._slot[1])  # the uid is free for another worker
            self._slot = None

    def _stderr_tail(self) -> str:
        if self._process is None or self._process.stderr is None:
            return "no process"
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        lines = self._process.stderr.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else f"exit status {self._process.returncode}"


class Child:
    """One forked child serving one submission."""

    def __init__(self, worker: Worker, pid: int, sock: socket.socket, scratch: Path) -> None:
        self.worker, self.pid, self._sock, self.scratch = worker, pid, sock, scratch
        self.alive = True
        self._requests = 0

    def request(self, message: dict, timeout: float) -> Any:
        """Send one request; the decoded reply, or ``ChildTimeout`` / ``ChildDied`` (or
        ``WorkerError`` when the zygote itself is gone)."""
        from grader.runner import wire

        if not self.alive:
            raise ChildDied("the process had already ended")
        self._requests += 1
        payload, _ = wire.encode({**message, "id": self._requests})
        deadline = time.monotonic() + timeout
        try:
            self._sock.settimeout(timeout)
            wire.send(self._sock, payload)
            while True:  # a reply to an earlier request (sent by a forked copy) is dropped
                self._sock.settimeout(max(deadline - time.monotonic(), 0.001))
                reply, _ = wire.decode(wire.recv(self._sock))
                if not isinstance(reply, dict) or reply.get("id") == self._requests:
                    break
        except TimeoutError:
            self.kill()
            raise ChildTimeout(f"no answer within {timeout:g} s") from None
        except (EOFError, ConnectionError, BrokenPipeError):
            raise ChildDied(self._how_it_ended()) from None
        except wire.WireError as err:
            self.kill()
            raise ChildDied(f"it sent a malformed reply ({err})") from None
        if not isinstance(reply, dict) or not ({"ok", "error"} & reply.keys()):
            self.kill()
            raise ChildDied("it sent a reply that is not a result")
        reply.pop("id")
        return reply

    def output_tail(self) -> str:
        """The last lines the child printed (stdout and stderr together)."""
        try:
            with open(self.scratch / "output.txt", "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(f.tell() - _OUTPUT_TAIL, 0))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def kill(self) -> None:
        if self.alive:
            self.alive = False
            try:
                self.worker.kill(self.pid)
                self.worker.exit_status(self.pid, wait=2.0)
            except WorkerError:
                pass

    def close(self) -> None:
        from grader.runner import wire

        if self.alive:
            try:
                wire.send(self._sock, wire.encode({"op": "exit"})[0])
            except OSError:
                pass
            self._sock.close()
            status = self.worker.exit_status(self.pid, wait=1.0)
            if status.get("running"):
                self.kill()
            self.alive = False
        self._sock.close()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _how_it_ended(self) -> str:
        """How the child ended, asked of the zygote; WorkerError when the zygote is gone too
        (then the child went with it, and the grader, not the student, is at fault)."""
        self.alive = False
        status = self.worker.exit_status(self.pid, wait=2.0)
        try:
            self.worker.kill(self.pid)  # whatever it started goes with it
        except WorkerError:
            pass
        if "signal" in status:
            name = signal.Signals(status["signal"]).name
            return f"the process was killed by {name}" + _SIGNAL_CAUSES.get(name, "")
        if "exit" in status:
            return f"the process exited with status {status['exit']} (os._exit or a crash)"
        return "the process closed its connection"


_SIGNAL_CAUSES = {
    "SIGSEGV": " (a crash: deep recursion or a native error)",
    "SIGXCPU": " (it used up its CPU time)",
    "SIGKILL": " (the CPU or memory limit)",
}


def _source_file(module: str) -> str | None:
    """Where the zygote loads ``module`` from without importing its package; None for the
    runner's own probes. An assignment's package registers its checks on import, so its probes
    and stand-ins are loaded from their files alone, built-in course or not."""
    if module.startswith(f"{__package__}."):
        return None
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not os.path.isfile(spec.origin):
        raise WorkerError(f"no module {module} to load in the worker")
    return spec.origin


def _child_environment() -> dict[str, str]:
    """The zygote's environment: enough to run Python, none of the grader's settings."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "CUDA_VISIBLE_DEVICES", "PYTHONPATH",
            "XDG_CACHE_HOME")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # never write __pycache__ into a submission
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONHASHSEED"] = "0"
    return env
