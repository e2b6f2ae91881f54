"""Declaring an assignment and its checks: the public API for course staff.

An assignment is a package whose ``__init__.py`` creates an ``Assignment`` and whose check
modules decorate functions with ``assignment.check(...)``; ``grader.grading.catalog`` finds them.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType

from grader import options
from grader.outcomes import Category, UsageError


class AssignmentError(UsageError):
    """An assignment is declared wrongly, or does not exist."""


@dataclass(frozen=True)
class Check:
    id: str
    function: str
    category: Category
    points: float
    title: str
    run: Callable
    hidden: bool = False
    timeout: float = options.CHECK_TIMEOUT
    own_parts: bool = False  # call the student's own collaborators instead of the stand-ins


@dataclass
class Assignment:
    """One assignment: the student's file, its functions, the reference, and the checks.

    Args:
        name: the name on the command line (``--assignment linreg``).
        title: a line for people.
        student_file: the file in the submission folder (``linear_regression.py``).
        reference: the module with the reference implementation of every function.
        functions: the functions students implement, in the order they are taught.
        probes: modules of trusted recipes that run next to the student's code.
        standins: a module with a public stand-in for every function, built on torch: while one
            function is checked, the child binds the others to these (blame isolation). They run
            next to student code, so never the reference solutions. Without one, a check calls
            the student's own collaborators.
        datasets: public training data the worker preloads (``fashion_mnist_train``).
        banned: for each function, the library calls it may not make (from-scratch rules).
    """

    name: str
    title: str
    student_file: str
    reference: str
    functions: tuple[str, ...]
    probes: tuple[str, ...] = ()
    standins: str | None = None
    datasets: tuple[str, ...] = ()
    banned: dict[str, tuple[str, ...]] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    def check(
        self,
        *,
        function: str,
        category: Category | str,
        points: float,
        hidden: bool = False,
        timeout: float = options.CHECK_TIMEOUT,
        own_parts: bool | None = None,
    ) -> Callable[[Callable], Callable]:
        """Declare a check; its docstring's first line is the title students see."""
        category = Category(category)

        def register(run: Callable) -> Callable:
            doc = inspect.getdoc(run)
            if not doc:
                raise AssignmentError(f"check {run.__name__} needs a docstring: students see it")
            if function not in self.functions:
                raise AssignmentError(f"check {run.__name__}: {function!r} is not in {self.name}")
            if points <= 0:
                raise AssignmentError(f"check {run.__name__} must be worth positive points")
            if any(c.id == run.__name__ for c in self.checks):
                raise AssignmentError(f"{self.name} already has a check named {run.__name__}")
            self.checks.append(
                Check(
                    id=run.__name__,
                    function=function,
                    category=category,
                    points=float(points),
                    title=doc.splitlines()[0],
                    run=run,
                    hidden=hidden,
                    timeout=timeout,
                    own_parts=category is Category.TRAINING if own_parts is None else own_parts,
                )
            )
            return run

        return register

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)

    def reference_module(self) -> ModuleType:
        return importlib.import_module(self.reference)

    @property
    def child_modules(self) -> tuple[str, ...]:
        """The modules the worker loads next to student code: probes and stand-ins."""
        return (*self.probes, *([self.standins] if self.standins else []))

    def checks_for(self, function: str) -> list[Check]:
        return [c for c in self.checks if c.function == function]

    @property
    def version(self) -> str:
        """A hash of the checks' and the reference's source: a new version means a regrade."""
        digest = hashlib.sha256()
        for module in (self.reference, *self.child_modules):
            digest.update(inspect.getsource(importlib.import_module(module)).encode())
        for c in self.checks:
            digest.update(f"{c.id}|{c.function}|{c.category}|{c.points}|".encode())
            digest.update(inspect.getsource(c.run).encode())
        return digest.hexdigest()[:16]
