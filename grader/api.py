"""The library API: everything the command line does, callable and testable from Python."""

from __future__ import annotations

import inspect
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from grader import builtin
from grader.authoring.assignment import Assignment, get_assignment, load_assignments
from grader.data import fashion_mnist
from grader.grading.submission import grade
from grader.outcomes.errors import GraderError
from grader.outcomes.results import SubmissionResult
from grader.runner import sandbox
from grader.runner.isolation import choose_isolation
from grader.runner.worker import Worker


def resolve_device(name: str) -> torch.device:
    """``auto`` is the GPU where there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda"):
        raise GraderError(f"unknown device {name!r}: use auto, cpu or cuda")
    if name == "cuda" and not torch.cuda.is_available():
        raise GraderError("--device cuda was asked for, but torch sees no GPU here")
    return torch.device(name)


class Grader:
    """A worker for one assignment, reused across submissions (start-up is paid once).

    Args:
        assignment: the assignment's name.
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
        device: str = "auto",
        data_root: str | Path | None = None,
        seed: int = 0,
        worker: Worker | None = None,
        isolation: str | None = "auto",
        hide: Iterable[str | Path] = (),
    ) -> None:
        self.assignment = (
            assignment if isinstance(assignment, Assignment) else _assignment(assignment)
        )
        self.device = resolve_device(device)
        self.seed = seed
        self.data_root = fashion_mnist.resolve_root(data_root).resolve()  # the worker's cwd differs
        if self.assignment.datasets:
            _require_data(self.data_root)
        self.isolation = choose_isolation(isolation)
        self._worker = worker or Worker()
        self._worker.configure(
            probe_modules=["grader.runner.probes", *self.assignment.child_modules],
            datasets=self.assignment.datasets,
            data_root=self.data_root,
            isolation=self.isolation,
            hide=[*_secrets(self.assignment), self.data_root, *hide],
        )
        self._started = False

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
    ) -> SubmissionResult:
        """Grade one submission folder. Bad student code gives results, never an exception."""
        folder = Path(submission)
        if not folder.is_dir():
            raise GraderError(f"{folder}: not found (a submission is a folder)")
        if functions is not None:
            unknown = set(functions) - set(self.assignment.functions)
            if unknown:
                raise GraderError(f"{self.assignment.name} has no function {sorted(unknown)[0]}")
        if not self._started:
            self._worker.start()
            self._started = True
        return grade(
            self._worker,
            self.assignment,
            folder,
            device=self.device,
            seed=self.seed,
            data_root=self.data_root,
            student=student,
            functions=functions,
        )

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
    device: str = "auto",
    data_root: str | Path | None = None,
    seed: int = 0,
    functions: Iterable[str] | None = None,
    worker: Worker | None = None,
    isolation: str | None = "auto",
) -> SubmissionResult:
    """Grade one submission folder from scratch (``grader check``)."""
    if not Path(submission).is_dir():
        raise GraderError(f"{submission}: not found (a submission is a folder)")
    with Grader(
        assignment, device=device, data_root=data_root, seed=seed, worker=worker,
        isolation=isolation,
    ) as grader:
        return grader.grade(submission, functions=functions)


@dataclass(frozen=True)
class Finding:
    """One line of ``grader doctor``: a part, whether it works here, and what was found."""

    part: str
    ok: bool
    detail: str = ""


def diagnose(data_root: str | Path | None = None) -> list[Finding]:
    """What this machine supports: each part of strict isolation, the GPU, the data."""
    found = sandbox.support()
    findings = [Finding(part, not why, why or "works") for part, why in found.parts.items()]
    level = "strict" if found.strict else "basic (with a warning)"
    findings.append(Finding("isolation by default", found.strict, level))
    cuda = torch.cuda.is_available()
    gpu = torch.cuda.get_device_name(0) if cuda else "none: --device auto grades on the CPU"
    findings.append(Finding(f"GPU (torch {torch.__version__})", cuda, gpu))
    root = fashion_mnist.resolve_root(data_root)
    try:
        fashion_mnist.check_files(root)
        findings.append(Finding("Fashion-MNIST", True, str(root)))
    except fashion_mnist.DataError as err:
        findings.append(Finding("Fashion-MNIST", False, str(err)))
    return findings


def load(name: str, *, data_root: str | Path | None = None) -> Assignment:
    """The assignment called ``name``, once its data is known to be there."""
    assignment = _assignment(name)
    if assignment.datasets:
        _require_data(fashion_mnist.resolve_root(data_root))
    return assignment


def list_assignments() -> list[Assignment]:
    return list(load_assignments().values())


def init_submission(folder: str | Path) -> list[Path]:
    """Copy the student template into a new folder; refuses to overwrite a file."""
    folder = Path(folder)
    files = sorted(f for f in builtin.folder("student_template").glob("*.py")
                   if not f.name.startswith("_"))
    clashes = [folder / f.name for f in files if (folder / f.name).exists()]
    if clashes:
        raise GraderError(f"{clashes[0]} already exists; choose an empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copyfile(f, folder / f.name)
    return [folder / f.name for f in files]


def download_data(data_root: str | Path | None = None) -> list[Path]:
    return fashion_mnist.download(fashion_mnist.resolve_root(data_root))


def _assignment(name: str) -> Assignment:
    from grader.authoring.assignment import AssignmentError

    try:
        return get_assignment(name)
    except AssignmentError as err:
        raise GraderError(str(err)) from None


def _secrets(assignment: Assignment) -> list[Path]:
    """The folders of an assignment's checks and of its reference solutions."""
    modules = {inspect.getmodule(c.run) for c in assignment.checks}
    modules.add(assignment.reference_module())
    own = Path(__file__).resolve().parent  # shared check helpers live in grader/: not secret
    folders = {Path(m.__file__).resolve().parent for m in modules if m and m.__file__}
    return sorted(f for f in folders if f != own)


def _require_data(root: Path) -> None:
    try:
        fashion_mnist.check_files(root)
    except fashion_mnist.DataError as err:
        raise GraderError(str(err)) from None
