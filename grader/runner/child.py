"""The forked child: imports one submission and answers the parent's requests until told to stop.

Everything here runs next to student code, so nothing here is trusted by the parent: replies are
data, validated and compared in the parent. The child holds no expected outputs and no test set.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import socket
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from grader.outcomes import GraderError
from grader.runner import wire
from grader.runner.probes import ProbeEnv, seed_everything
from grader.runner.tracing import untraced

_MAX_TRACEBACK = 4000  # characters


class ProbeMisuse(GraderError):
    """The parent asked for a probe that does not exist or with the wrong arguments."""


class _Child:
    def __init__(self, sock: socket.socket, submission: Path, probe_modules: dict[str, ModuleType]):
        self.sock = sock
        self.submission = submission
        self.probe_modules = probe_modules
        self.module: ModuleType | None = None
        self.standins: ModuleType | None = None
        self.functions: list[str] = []

    def serve(self) -> None:
        me = os.getpid()
        while True:
            try:
                request, _ = wire.decode(wire.recv(self.sock))
            except EOFError:
                return
            if request.get("op") == "exit":
                return
            reply = self._answer(request)
            if os.getpid() != me:  # a copy that student code forked never answers or reads
                os._exit(0)
            reply["id"] = request.get("id")
            try:
                payload, _ = wire.encode(reply)
            except BaseException as err:  # a returned object whose conversion raised
                payload, _ = wire.encode({"error": _describe(err, self.submission)})
            wire.send(self.sock, payload)

    def _answer(self, request: dict) -> dict:
        try:
            if request["op"] == "import":
                return {"ok": self._import(request)}
            return {"ok": self._probe(request)}
        except BaseException as err:  # SystemExit and KeyboardInterrupt too: never a pass
            error = _describe(err, self.submission)
            if isinstance(err, torch.cuda.OutOfMemoryError):
                # Slots share the GPU: give back what this check held (its frames hold the
                # tensors) before the next check runs.
                err.__traceback__ = None
                del err
                torch.cuda.empty_cache()
            return {"error": error}

    def _import(self, request: dict) -> dict:
        path = self.submission / request["file"]
        self.functions = list(request["functions"])
        if request.get("standins"):
            self.standins = self.probe_modules.get(request["standins"])
            if self.standins is None:
                raise ProbeMisuse(f"the worker did not load {request['standins']}")
        sys.path.insert(0, str(self.submission))  # the student's own helper modules
        name = path.stem
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path.name}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        self.module = module
        defined = [f for f in self.functions if callable(getattr(module, f, None))]
        # a notebook's module records the statements that raised as it ran (grader.notebooks)
        failed = vars(module).get("__grader_failed__")
        return {"defined": defined, "failed": failed if isinstance(failed, dict) else {}}

    def _probe(self, request: dict) -> Any:
        if self.module is None:
            raise RuntimeError("the submission was not imported")
        probe = self._resolve(request["probe"])
        device = torch.device(request["device"])
        kwargs = _to_device(request["kwargs"], device)
        function = request["function"]
        env = ProbeEnv(module=self.module, function=function, device=device)
        try:
            inspect.signature(probe).bind(env, **kwargs)
        except TypeError as err:
            raise ProbeMisuse(f"{request['probe']}: {err}") from None
        if device.type == "cuda":
            _deterministic_gpu()
        seed_everything(int(request["seed"]))
        with self._bound(request["bind"]):
            return probe(env, **kwargs)

    def _resolve(self, name: str):
        module_name, _, attr = name.rpartition(":")
        module = self.probe_modules.get(module_name)
        if module is None or attr.startswith("_") or not callable(getattr(module, attr, None)):
            raise ProbeMisuse(f"unknown probe {name!r}")
        return getattr(module, attr)

    @contextmanager
    def _bound(self, names: list[str]):
        """Rebind the named module globals to stand-ins for one request (blame isolation).

        Each binding works only during this request: one kept by student code for later raises.
        What a stand-in calls is left out of traces, as it is not the student's own call.
        """
        assert self.module is not None
        if self.standins is None:
            yield
            return
        names = [n for n in names if callable(getattr(self.standins, n, None))]
        saved = {n: self.module.__dict__.get(n) for n in names}
        live = [True]
        for n in names:
            setattr(self.module, n, _stand_in(n, getattr(self.standins, n), live))
        try:
            yield
        finally:
            live[0] = False
            for n, original in saved.items():
                setattr(self.module, n, original)


def _stand_in(name: str, target, live: list[bool]):
    def check() -> None:
        if not live[0]:
            raise RuntimeError(f"the grader's stand-in for {name} is not yours to keep")

    if inspect.isgeneratorfunction(target):

        def generator(*args, **kwargs):
            check()
            with untraced():
                items = target(*args, **kwargs)
            while True:
                check()
                with untraced():
                    try:
                        item = next(items)
                    except StopIteration:
                        return
                yield item

        return generator

    def stand_in(*args, **kwargs):
        check()
        with untraced():
            return target(*args, **kwargs)

    return stand_in


def _to_device(value: Any, device: torch.device) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, (list, tuple)):
        return type(value)(_to_device(v, device) for v in value)
    if isinstance(value, dict):
        return {k: _to_device(v, device) for k, v in value.items()}
    return value


def _deterministic_gpu() -> None:
    """The book's results on a GPU, run after run: deterministic kernels where torch has them
    (a warning, not an error, where it has none: student code must not fail for it)."""
    if not torch.are_deterministic_algorithms_enabled():
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def _describe(err: BaseException, submission: Path) -> dict:
    """The error as data: type, message, and only the traceback frames in the student's files."""
    frames = [
        f for f in traceback.extract_tb(err.__traceback__) if _inside(f.filename, submission)
    ]
    lines = [f"{Path(f.filename).name}, line {f.lineno}, in {f.name}: {f.line}" for f in frames]
    try:
        message = str(err)
    except BaseException:
        message = "<the exception's message could not be read>"
    return {
        "type": type(err).__name__,
        "message": message[:wire.MAX_STR],
        "traceback": "\n".join(lines)[-_MAX_TRACEBACK:],
        "not_implemented": isinstance(err, NotImplementedError),
        "exit": isinstance(err, SystemExit),
        "grader": isinstance(err, ProbeMisuse),
    }


def _inside(filename: str, folder: Path) -> bool:
    try:
        return Path(filename).resolve().is_relative_to(folder)
    except (OSError, ValueError):
        return False


def run(sock: socket.socket, submission: Path, probe_modules: dict[str, ModuleType]) -> None:
    """Serve requests on ``sock`` then exit the process without running the zygote's cleanup."""
    code = 0
    try:
        _Child(sock, submission.resolve(), probe_modules).serve()
    except BaseException:
        code = 70
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
