"""``grader serve``: the web app under uvicorn, and N ``grader worker`` processes beside it.

The workers are separate processes (each imports torch and runs its own zygote, as a batch slot
does), started with the gradebook's URL in their environment, not on their command line, where
``ps`` would show a PostgreSQL password. A worker that exits is started again, after a pause
that grows while it keeps failing. When the server stops (Ctrl-C, SIGTERM) each worker is asked
to finish its job and stop; when the server is killed outright, the kernel sends its workers
SIGTERM (PR_SET_PDEATHSIG), so no worker outlives it by more than one job. Workers run in
their own process group: a Ctrl-C in the server's terminal reaches the server alone, which then
stops them as above (one SIGTERM each: a second would abandon the job in hand). Either way the queue
is in the gradebook: a restart picks up every job, and a job whose worker died is claimed again
when its lease runs out.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from grader import options
from grader.outcomes import UsageError
from grader.service.submissions import open_service

log = logging.getLogger(__name__)

STOP_GRACE = 30.0  # seconds a worker has to finish its job once the server stops
RESTART_PAUSES = (1.0, 2.0, 5.0, 10.0, 30.0)  # after the 1st, 2nd, ... failure in a row
HEALTHY_AFTER = 60.0  # a worker that ran this long before exiting starts the count afresh
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Listening:
    """Where the server listens, as ``on_listening`` is told once the socket is bound."""

    host: str
    port: int
    workers: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def default_workers() -> int:
    """One worker per core but one, which the web server and the database keep."""
    return max(1, (os.cpu_count() or 1) - 1)


def serve(db: str | None, course: str | None, *, host: str = "127.0.0.1", port: int = 8000,
          workers: int | None = None, data_root: str | Path | None = None,
          device: str = "cpu", lease: float = options.JOB_LEASE,
          on_listening: Callable[[Listening], None] = lambda _: None,
          log_level: str = "info") -> None:
    """Serve ``course`` from the gradebook ``db`` until interrupted.

    Args:
        port: 0 for any free port; ``on_listening`` is told which.
        workers: grading processes to start here (0: none, for a web server whose workers run
            elsewhere); default ``default_workers()``.
        lease: the workers' ``grader worker --lease``.
    """
    try:
        import uvicorn

        from grader.service.app import create_app
    except ImportError as err:
        raise UsageError(f"grader serve needs {err.name or 'its web stack'}: "
                         "pip install 'grader[serve]'") from None
    from grader.courses.locate import course_folder

    service = open_service(db, course)
    count = default_workers() if workers is None else workers
    try:
        listener = _bind(host, port)
    except UsageError:
        service.close()
        raise
    pool = WorkerPool(db, str(course_folder(course)), count, data_root=data_root, device=device,
                      lease=lease)
    try:
        config = uvicorn.Config(create_app(service), log_level=log_level, proxy_headers=False,
                                server_header=False)
        server = _server_class()(config)
        pool.start()
        bound_host, bound_port = listener.getsockname()[:2]
        on_listening(Listening(bound_host, bound_port, count))
        server.run(sockets=[listener])
    finally:
        pool.stop()
        listener.close()
        service.close()


def _server_class():
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            """uvicorn's, but without raising the signal again once the server has stopped,
            which for SIGTERM would end this process before its workers are stopped: a stop
            asked for is a clean exit, after ``serve``'s ``finally``."""
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit)
                        for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as err:
        listener.close()
        raise UsageError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    listener.listen(2048)
    listener.set_inheritable(False)
    return listener


class WorkerPool:
    """``count`` processes running ``grader worker``, each restarted when it exits."""

    def __init__(self, db: str | None, course: str, count: int, *,
                 data_root: str | Path | None = None, device: str = "cpu",
                 lease: float = options.JOB_LEASE) -> None:
        self.count = count
        self.command = [sys.executable, "-m", "grader", "worker", "--course", course,
                        "--device", device, "--lease", f"{lease:g}",
                        "--threads", str(options.torch_threads(count))]
        if data_root is not None:
            self.command += ["--data-root", str(Path(data_root).resolve())]
        self.environment = dict(os.environ)
        if db is not None:
            self.environment[options.DB_ENV] = db
        self._stopping = threading.Event()
        self._processes: list[subprocess.Popen | None] = [None] * count
        self._lock = threading.Lock()
        self._watchers: list[threading.Thread] = []

    def start(self) -> None:
        for slot in range(self.count):
            watcher = threading.Thread(target=self._keep, args=(slot,), daemon=True,
                                       name=f"grading worker {slot}")
            watcher.start()
            self._watchers.append(watcher)

    def stop(self) -> None:
        """SIGTERM every worker (each finishes its job), then SIGKILL what is left after
        STOP_GRACE seconds."""
        self._stopping.set()
        with self._lock:
            running = [p for p in self._processes if p is not None and p.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for process in running:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for watcher in self._watchers:
            watcher.join(timeout=5)

    def pids(self) -> list[int]:
        with self._lock:
            return [p.pid for p in self._processes if p is not None and p.poll() is None]

    def _keep(self, slot: int) -> None:
        failures = 0
        while not self._stopping.is_set():
            started = time.monotonic()
            with self._lock:
                if self._stopping.is_set():
                    return
                process = subprocess.Popen(self.command, env=self.environment,
                                           preexec_fn=_die_with(os.getpid()),
                                           process_group=0, stdin=subprocess.DEVNULL)
                self._processes[slot] = process
            code = process.wait()
            if self._stopping.is_set():
                return
            failures = 1 if time.monotonic() - started > HEALTHY_AFTER else failures + 1
            pause = RESTART_PAUSES[min(failures, len(RESTART_PAUSES)) - 1]
            log.warning("grading worker %d (pid %d) exited with %s; starting another in %g s",
                        slot, process.pid, code, pause)
            self._stopping.wait(pause)


def _die_with(server: int) -> Callable[[], None]:
    """For the child, run between fork and exec: SIGTERM when the server dies, however it
    dies. The kernel sends it when the forking thread ends; a watcher thread lives as long as
    its worker. Only a call already loaded runs in the child (no import, no lock)."""
    prctl = _LIBC.prctl

    def in_child() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != server:  # the server died before the line above took effect
            os._exit(0)

    return in_child
