"""What a check sees: ``student`` (calls run in the child) and ``ref`` (calls run here).

Both sides offer the same verbs, so a check reads as a comparison::

    assert_close(student.softmax(X), ref.softmax(X))
    assert_close(student.probe(probes.one_epoch, ...), ref.probe(probes.one_epoch, ...))
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from grader import options
from grader.authoring.assignment import Assignment, Check
from grader.data import fashion_mnist
from grader.files import written_whole
from grader.grading.session import Session
from grader.runner import datasets as public_data
from grader.runner import probes as builtin
from grader.runner.probes import ProbeEnv, seed_everything


def probe_name(probe: Callable) -> str:
    return f"{probe.__module__}:{probe.__name__}"


class Student:
    """The submission, seen from a check. ``student.softmax(X)`` runs softmax in the child.

    While a check on F runs, every other function of the assignment is bound in the child to
    the assignment's stand-ins (public versions built on torch, never the reference), so a
    mistake in G never costs points on F (unless the check uses the student's own parts).
    """

    def __init__(self, session: Session, check: Check, seed: int, deadline: float) -> None:
        self._session, self._check = session, check
        self.seed, self.deadline = seed, deadline

    @property
    def device(self) -> torch.device:
        return self._session.device

    @property
    def source(self) -> ast.Module:
        """The student's file, parsed here in the parent: safe to inspect, never executed."""
        assert self._session.tree is not None
        return self._session.tree

    def line(self, number: int) -> str:
        """Line ``number`` of ``source`` as the learner finds it: "line 12", or a notebook's
        "cell 7 [In 3], line 2"."""
        return self._session.line(number)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or name not in self._session.assignment.functions:
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs)

    def call(self, function: str, *args: Any, **kwargs: Any) -> Any:
        return self.probe(builtin.call, function=function, args=args, kwargs=kwargs)

    def vjp(
        self, function: str, args: tuple, cotangent: torch.Tensor, wrt: tuple[int, ...] = (0,)
    ) -> dict:
        """``{"output": ..., "grads": [...]}``: the output and its cotangent-weighted grads."""
        return self.probe(builtin.vjp, function=function, args=args, wrt=wrt, cotangent=cotangent)

    def trace(self, function: str, *args: Any) -> Any:
        """What the student's function ran on these arguments and how it hid, as the child
        reported it: ``{"names": [...], "entered": [...], "tampering": [...]}`` (unchecked)."""
        return self.probe(builtin.trace, function=function, args=args)

    def probe(self, probe: Callable, *, function: str | None = None, **kwargs: Any) -> Any:
        """Run a trusted probe in the child against the student's module."""
        function = function or self._check.function
        others = [f for f in self._session.assignment.functions if f != function]
        message = {
            "op": "probe",
            "probe": probe_name(probe),
            "function": function,
            "kwargs": kwargs,
            "bind": [] if self._check.own_parts else others,
            "seed": self.seed,
            "device": str(self.device),
        }
        return self._session.request(message, self.deadline)


class Reference:
    """The reference module, seen from a check: attributes pass through; probes run here."""

    def __init__(
        self, module: ModuleType, check: Check, seed: int, data_root: Path | None = None,
        assignment: Assignment | None = None,
    ) -> None:
        self._module, self._check, self.seed = module, check, seed
        self._data_root, self._assignment = data_root, assignment
        self._datasets = assignment.datasets if assignment is not None else ()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def probe(self, probe: Callable, *, function: str | None = None, **kwargs: Any) -> Any:
        for name in self._datasets:  # the public training data, as the child has it
            public_data.preload(name, self._data_root)
        seed_everything(self.seed)
        env = ProbeEnv(self._module, function or self._check.function, torch.device("cpu"))
        return probe(env, **kwargs)

    def beside(self, name: str, compute: Callable[[], float]) -> Future:
        """``compute()``, a number (the reference's share of a slow comparison), started in a
        thread of this process to run while the student's share runs in the child. It is the same
        for every submission: computed once per process, and kept in the user's cache for every
        later one, under the assignment's version, this check, ``name``, the seed, the data
        files and torch's version. A check waits for it (``result()``) before it returns, also
        when the student's share fails: it uses the random generators this process shares."""
        key = (self._check.id, name, self.seed, str(self._data_root))
        kept = _BESIDE.get(key)
        if kept is None or (kept.done() and kept.exception() is not None):  # a failure: again
            on_disk = self._kept_file(name)
            kept = _BESIDE[key] = _beside_pool().submit(_computed_once, compute, on_disk)
        return kept

    def _kept_file(self, name: str) -> Path | None:
        if self._assignment is None or self._data_root is None:
            return None
        facts = [self._assignment.version, self._check.id, name, self.seed, torch.__version__,
                 fashion_mnist.identity(self._data_root)]
        digest = hashlib.sha256(json.dumps(facts, default=str).encode()).hexdigest()[:32]
        return options.user_cache() / "reference" / f"{digest}.json"

    def test_set(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Fashion-MNIST's test images and labels: they exist in this process only."""
        if self._data_root is None:
            raise RuntimeError("this grading run has no data root")
        return _test_set(str(self._data_root))


_BESIDE: dict[tuple, Future] = {}  # (check, name, seed, data root) -> the reference's share


@lru_cache(maxsize=1)
def _beside_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="grader-reference")


def _computed_once(compute: Callable[[], float], on_disk: Path | None) -> float:
    """The number kept in ``on_disk``, else ``compute()``, then kept there (atomically; a cache
    that cannot be read or written only costs the time to compute it)."""
    if on_disk is None:
        return float(compute())
    try:
        return float(json.loads(on_disk.read_text())["value"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    value = float(compute())
    try:
        with written_whole(on_disk) as partial:
            partial.write_text(json.dumps({"value": value}))
    except OSError:
        pass
    return value


@lru_cache(maxsize=2)
def _test_set(root: str) -> tuple[torch.Tensor, torch.Tensor]:
    split = fashion_mnist.load(root, "test")
    return split.images, split.labels
