"""A worker for one assignment, kept across submissions, and grading one folder from scratch."""

from __future__ import annotations

import importlib
import inspect
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import torch

import grader
from grader import builtin, options
from grader.authoring.assignment import Assignment
from grader.data import fashion_mnist
from grader.grading import catalog
from grader.grading.folders import as_folder, submission_folder, submission_path
from grader.grading.intake import unreadable
from grader.grading.progress import Progress
from grader.grading.submission import grade
from grader.outcomes import GraderFault, RunStatus, SubmissionResult, UsageError
from grader.runner.isolation import choose_isolation
from grader.runner.worker import Worker

# What grading each reference took: (course, assignment, version, device) -> seconds.
_REFERENCE_SECONDS: dict[tuple[str, str, str, str], float] = {}


def resolve_device(name: str) -> torch.device:
    """``auto`` is the GPU where there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in options.DEVICES:
        raise UsageError(f"unknown device {name!r}: use {', '.join(options.DEVICES)}")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda was asked for, but torch sees no GPU here")
    return torch.device(name)


class Grader:
    """A worker for one assignment, reused across submissions (start-up is paid once).

    Args:
        assignment: the assignment or its name in ``course``.
        course: a course folder or installed course's name; None: $GRADER_COURSE, else the
            built-in course.
        device: ``auto``, ``cpu`` or ``cuda``.
        data_root: the folder holding FashionMNIST/raw; default GRADER_DATA, else ./data.
        seed: every check's inputs and the student's random generators derive from it.
        worker: a launched but unstarted Worker to use (its torch import may be under way).
        isolation: ``auto`` (strict where possible), ``strict`` or ``basic``.
        hide: more folders student code must not see, such as the gradebook's.
    """

    def __init__(
        self,
        assignment: str | Assignment,
        *,
        device: str = options.DEVICE,
        data_root: str | Path | None = None,
        seed: int = options.SEED,
        worker: Worker | None = None,
        isolation: str | None = options.ISOLATION,
        hide: Iterable[str | Path] = (),
        course: str | Path | None = None,
    ) -> None:
        self.assignment = (
            assignment if isinstance(assignment, Assignment)
            else catalog.get_assignment(assignment, course)
        )
        self.device = resolve_device(device)
        self.seed = seed
        self.data_root = options.data_root(data_root).resolve()  # the worker's cwd differs
        if self.assignment.datasets:
            fashion_mnist.check_files(self.data_root)
        self.isolation = choose_isolation(isolation)
        self._worker = worker or Worker()
        self._worker.configure(
            probe_modules=["grader.runner.probes", *self.assignment.child_modules],
            datasets=self.assignment.datasets,
            data_root=self.data_root,
            isolation=self.isolation,
            hide=[*secrets(self.assignment), self.data_root, *hide],
        )
        self._started = False
        self._budget: float | None = None  # measured on the reference, when not declared

    def __enter__(self) -> Grader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def grade(
        self,
        submission: str | Path,
        *,
        student: str | None = None,
        functions: Iterable[str] | None = None,
        progress: Progress | None = None,
    ) -> SubmissionResult:
        """Grade one submission folder. Bad student code gives results, never an exception.
        ``progress`` hears what is happening while it runs."""
        folder = submission_folder(submission)
        if functions is not None:
            unknown = set(functions) - set(self.assignment.functions)
            if unknown:
                raise UsageError(f"{self.assignment.name} has no function {sorted(unknown)[0]}")
        self._start(progress)
        return grade(
            self._worker, self.assignment, folder, device=self.device, seed=self.seed,
            data_root=self.data_root, student=student, functions=functions,
            budget=self.time_budget(), progress=progress,
        )

    def time_budget(self) -> float:
        """Seconds one submission may take: the assignment's (or course.toml's) time_budget,
        else options.TIME_BUDGET_FACTOR times what grading the reference takes here (measured
        once per assignment version and device in this process), and never less than the floor
        or the longest check's own timeout."""
        if self.assignment.time_budget is not None:
            return self.assignment.time_budget
        if self._budget is None:  # the version hashes every file: once per Grader, not per grade
            self._budget = self._measured_budget()
        return self._budget

    def _measured_budget(self) -> float:
        key = (self.assignment.course, self.assignment.name, self.assignment.version,
               str(self.device))
        if key not in _REFERENCE_SECONDS:
            self._start()
            with tempfile.TemporaryDirectory(prefix="grader-reference-") as scratch:
                folder = Path(scratch)
                shutil.copyfile(self.assignment.reference_module().__file__,
                                folder / self.assignment.student_file)
                start = time.monotonic()
                result = grade(self._worker, self.assignment, folder, device=self.device,
                               seed=self.seed, data_root=self.data_root, student="reference")
                if result.status is not RunStatus.GRADED:  # a budget from a broken run is none
                    raise GraderFault(f"grading the reference to measure the time budget "
                                      f"failed ({result.status}: {result.reason})")
                _REFERENCE_SECONDS[key] = time.monotonic() - start
        longest = max((c.timeout for c in self.assignment.checks), default=0.0)
        return max(options.TIME_BUDGET_FLOOR, longest,
                   options.TIME_BUDGET_FACTOR * _REFERENCE_SECONDS[key])

    def _start(self, progress: Progress | None = None) -> None:
        if not self._started:
            if progress is not None:
                loads = " and loading Fashion-MNIST" if self.assignment.datasets else ""
                progress.phase(f"starting the sandbox{loads}")
            self._worker.start(meanwhile=self._warm_up)
            self._started = True

    def _warm_up(self) -> None:
        """torch's lazy first-use costs on this side (the reference's probes run here), paid
        while the zygote pays its own: a check's first autograd call with grad_outputs imports
        sympy, a first optimizer imports torch._dynamo."""
        for name in ("grader.runner.probes", *self.assignment.child_modules):
            getattr(importlib.import_module(name), "warm_up", lambda: None)()

    @property
    def sandbox_uid(self) -> int | None:
        """The unprivileged uid student code runs as (strict isolation, once started)."""
        return self._worker.uid

    def close(self) -> None:
        self._worker.close()
        self._started = False


def check_submission(
    submission: str | Path,
    assignment: str,
    *,
    device: str = options.DEVICE,
    data_root: str | Path | None = None,
    seed: int = options.SEED,
    functions: Iterable[str] | None = None,
    worker: Worker | None = None,
    isolation: str | None = options.ISOLATION,
    course: str | Path | None = None,
    progress: Progress | None = None,
) -> SubmissionResult:
    """Grade one submission folder, or one .py or .ipynb file, from scratch (``grader check``);
    ``progress`` hears what is happening while it runs."""
    submission_path(submission)  # before the worker starts
    with Grader(
        assignment, device=device, data_root=data_root, seed=seed, worker=worker,
        isolation=isolation, course=course,
    ) as grader_, as_folder(submission, grader_.assignment.student_file) as folder:
        single = Path(submission).is_file()  # then the result is named after the file
        problem = unreadable(folder, grader_.assignment.student_file)
        if problem:  # nothing to grade: one line, as for a folder that is not there
            copied = Path(grader_.assignment.student_file).with_suffix(Path(submission).suffix)
            raise UsageError(problem.replace(copied.name, Path(submission).name) if single
                             else problem)
        return grader_.grade(folder, functions=functions, progress=progress,
                             student=Path(submission).name if single else None)


def secrets(assignment: Assignment) -> list[Path]:
    """The folders of an assignment's course, checks and reference solutions.

    Grader's own modules (the shared check helpers in grader.authoring among them) are not
    secret; the built-in course inside an installed grader is.
    """
    modules = {inspect.getmodule(c.run) for c in assignment.checks}
    modules.add(assignment.reference_module())
    folders = {Path(m.__file__).resolve().parent for m in modules if m and m.__file__}
    folders |= {f.parent for f in assignment.files}
    if assignment.origin is not None:  # the whole course: course.toml, the other assignments
        folders.add(assignment.origin.folder.resolve().parent)
    # the built-in course's answers, which another course's may share
    folders |= {builtin.folder(name).resolve() for name in ("assignments", "reference")}
    package = Path(grader.__file__).resolve().parent
    return sorted(f for f in folders
                  if not f.is_relative_to(package) or f.is_relative_to(package / "builtin"))
