"""Declaring an assignment and its checks: the public API for course staff.

An assignment is a folder of a course whose ``__init__.py`` creates an ``Assignment`` and whose
check modules decorate functions with ``assignment.check(...)``; ``grader.courses`` imports it,
and its names (``reference=".reference"``) are relative to that folder.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from grader import options
from grader.authoring import origin as origins
from grader.authoring.origin import AssignmentError, Origin
from grader.outcomes import Category

__all__ = ["Assignment", "AssignmentError", "Check"]


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
        reference: the module with the reference implementation of every function; default
            the folder's ``reference.py`` (course.toml may name another file).
        functions: the functions students implement, in the order they are taught.
        probes: modules of trusted recipes that run next to the student's code.
        standins: a module with a public stand-in for every function, built on torch: while one
            function is checked, the child binds the others to these (blame isolation). They run
            next to student code, so never the reference solutions. Without one, a check calls
            the student's own collaborators.
        datasets: public training data the worker preloads (``fashion_mnist_train``).
        banned: for each function, the library calls it may not make (from-scratch rules).
        time_budget: seconds one submission may take in all, after which its remaining checks
            time out; None: a few times what the reference takes (course.toml may set it).
        notebook_drop_calls: in a notebook handed in, a top-level assignment whose value calls
            one of these (a course's own training or plotting function) is not graded, like
            those calling train_ch3 or load_data_fashion_mnist (grader.notebooks.DROP_CALLS).

    Module names starting with a dot are the assignment folder's modules (``.probes``); a name
    with a slash or ending in ``.py`` is a file, relative to the folder, loaded into the
    assignment's package under its stem (another course's ``../../linreg/probes.py``).
    """

    name: str
    title: str
    student_file: str
    functions: tuple[str, ...]
    reference: str = ".reference"
    probes: tuple[str, ...] = ()
    standins: str | None = None
    datasets: tuple[str, ...] = ()
    banned: dict[str, tuple[str, ...]] = field(default_factory=dict)
    time_budget: float | None = None
    notebook_drop_calls: tuple[str, ...] = ()
    checks: list[Check] = field(default_factory=list)
    # arguments a check runs a function on (add_from_scratch_check's sample): validation runs
    # the stand-ins and the reference on them
    samples: dict[str, list[Callable[[], tuple]]] = field(default_factory=dict)
    origin: Origin | None = field(default=None, init=False)
    _files: set[Path] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        self.origin = origins.current()
        reference = self.origin.reference if self.origin else None
        if reference is not None:  # course.toml names the file
            self.reference = self._resolve(str(reference), as_name="reference")
        else:
            self.reference = self._resolve(self.reference)
        self.probes = tuple(self._resolve(p) for p in self.probes)
        self.standins = self._resolve(self.standins) if self.standins else None

    def _resolve(self, name: str, *, as_name: str | None = None) -> str:
        module, path = origins.resolve(name, self.origin, as_name=as_name)
        if path is not None:
            self._files.add(path)
        return module

    @property
    def course(self) -> str:
        """The name of the course the assignment belongs to ("" outside a course)."""
        return self.origin.course if self.origin else ""

    def reuse_checks(self, path: str | Path, *, skip: Iterable[str] = ()) -> ModuleType:
        """Register another assignment's checks file on this one, but the checks in ``skip``.

        ``path`` is relative to this assignment's folder. The file is loaded into this
        assignment's package, so its ``from . import assignment, probes`` reads this one's:
        the same checks, against this course's reference, probes and stand-ins.
        """
        if self.origin is None:
            raise AssignmentError("reuse_checks works inside a course's assignment folder")
        file = (self.origin.folder / path).resolve()
        before = {c.id for c in self.checks}
        module = origins.load_file(file, f"{self.origin.package}.reused_{file.stem}")
        self._files.add(file)
        added = {c.id for c in self.checks} - before
        unknown = sorted(set(skip) - added)
        if unknown:
            raise AssignmentError(f"{file} has no check {unknown[0]!r} to skip")
        self.checks = [c for c in self.checks if c.id not in set(skip)]
        return module

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
        """Every check's points: the maximum where a GPU runs the device checks."""
        return sum(c.points for c in self.checks)

    def max_score_on(self, device: str) -> float:
        """The maximum graded on ``device`` ("cpu", "cuda"): without a GPU the device checks
        are skipped, counted in neither the score nor the maximum."""
        return sum(c.points for c in self.checks
                   if device == "cuda" or c.category is not Category.DEVICE)

    def reference_module(self) -> ModuleType:
        return importlib.import_module(self.reference)

    def templates(self) -> list[Path]:
        """The starter files ``grader init`` copies: course.toml's, else the folder's template/."""
        if self.origin is None:
            return []
        if self.origin.templates is not None:
            return list(self.origin.templates)
        folder = self.origin.folder / "template"
        return sorted(f for f in folder.iterdir() if f.is_file()) if folder.is_dir() else []

    @property
    def child_modules(self) -> tuple[str, ...]:
        """The modules the worker loads next to student code: probes and stand-ins."""
        return (*self.probes, *([self.standins] if self.standins else []))

    def checks_for(self, function: str) -> list[Check]:
        return [c for c in self.checks if c.function == function]

    @property
    def version(self) -> str:
        """A hash of everything that decides a grade: a new version means a regrade.

        Every file of the assignment's folder, every other file it loads (the reference,
        probes, stand-ins, checks, shared helpers among them), its course.toml entry, its
        course's name, and the checks as declared after the course's settings.
        """
        digest = hashlib.sha256(f"{self.course}|{self.name}|".encode())
        digest.update(json.dumps(self.origin.settings if self.origin else {}, sort_keys=True,
                                 default=str).encode())
        folder = self.origin.folder.resolve() if self.origin else None
        if folder is not None:
            for f in sorted(_tree(folder)):
                digest.update(f"{f.relative_to(folder).as_posix()}|".encode())
                digest.update(f.read_bytes())
        others = set(self._files)
        modules = [importlib.import_module(m) for m in (self.reference, *self.child_modules)]
        modules += [inspect.getmodule(c.run) for c in self.checks]
        others |= {Path(m.__file__).resolve() for m in modules if m and m.__file__}
        for f in sorted(f for f in others if folder is None or not f.is_relative_to(folder)):
            digest.update(hashlib.sha256(f.read_bytes()).digest())
        for c in self.checks:
            digest.update(f"{c.id}|{c.function}|{c.category}|{c.points}|{c.hidden}|".encode())
            digest.update(inspect.getsource(c.run).encode())
        return digest.hexdigest()[:16]

    @property
    def files(self) -> set[Path]:
        """The files outside grader that the assignment is made of (student code must not see
        them): its folder's, and those it loaded by path."""
        found = set(self._files)
        if self.origin is not None:
            found |= set(_tree(self.origin.folder.resolve()))
        return found

    def replace_checks(self, change: Callable[[Check], Check]) -> None:
        """Apply ``change`` to every check (a course's settings: points, hidden)."""
        self.checks = [change(c) for c in self.checks]


def _tree(folder: Path) -> Iterable[Path]:
    """The files under ``folder`` that belong to it: no caches, no hidden files."""
    for path in folder.rglob("*"):
        parts = path.relative_to(folder).parts
        if path.is_file() and not any(p.startswith(".") or p == "__pycache__" for p in parts):
            yield path

