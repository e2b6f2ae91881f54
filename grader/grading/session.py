"""One submission's life on a worker: its source read and parsed here, its code run in a child.

The child is forked on first use and forked again after a timeout or a crash, so one broken
check never takes the others down with it.
"""

from __future__ import annotations

import ast
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from grader import options
from grader.authoring.assignment import Assignment
from grader.grading.error_hints import error_hint
from grader.grading.folders import submission_folder
from grader.grading.intake import NOTEBOOK, Intake, IntakeError, take_in
from grader.outcomes import (
    GraderFault,
    NotImplementedByStudent,
    Outcome,
    RunStatus,
    StudentError,
    StudentProblem,
    StudentTimeout,
    UsageError,
)
from grader.runner.sandbox import Isolation
from grader.runner.worker import Child, ChildDied, ChildTimeout, Limits, Worker, WorkerError

MAX_SUBMISSION_BYTES = Isolation.submission_bytes  # the folder, copied into the box
MAX_SUBMISSION_FILES = Isolation.submission_files  # its files and folders, likewise


@dataclass(frozen=True)
class Unavailable:
    """Why a function cannot be checked at all (missing file, syntax error, not defined)."""

    outcome: Outcome
    message: str
    # what the whole submission's run is when this stops all of it: nothing of it ran, it
    # crashed or hung on import, or the grader failed to start it (its own trouble, no score)
    status: RunStatus = RunStatus.NOT_RUN


class Session:
    def __init__(
        self,
        worker: Worker,
        assignment: Assignment,
        submission: Path,
        *,
        device: torch.device,
        limits: Limits | None = None,
    ) -> None:
        self.worker, self.assignment, self.submission = worker, assignment, Path(submission)
        self.device, self.limits = device, limits or Limits()
        self.tree: ast.Module | None = None
        self.intake: Intake | None = None
        self._child: Child | None = None
        self._defined: set[str] | None = None
        self._failed: dict = {}  # a notebook's statements that raised on import, by name
        self.handed: dict[str, str] = {}  # function -> why it is the book's own, "" if not
        self.fault = ""  # the grader's own first failure on this submission: then no score
        self._unavailable: Unavailable | None = self._read_source()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def whole(self) -> Unavailable | None:
        """Why nothing of the submission can run (no file, a syntax error, a failed import),
        importing it first if no check has; None when it imported."""
        if self._unavailable is None and self._defined is None:
            self._import()
        return self._unavailable

    def unavailable(self, function: str) -> Unavailable | None:
        """None if ``function`` can be called; otherwise why not."""
        if self._unavailable is None and self._defined is None:
            self._import()
        if self._unavailable is not None:
            return self._unavailable
        if function not in (self._defined or ()):
            shown = self.intake.shown if self.intake else self.assignment.student_file
            why = self.intake.explain_missing(function) if self.intake else None
            return Unavailable(
                Outcome.MISSING, f"`{function}` not found in {shown}" + (f": {why}" if why else "")
            )
        return None

    def request(self, message: dict, deadline: float) -> Any:
        """Send one request to the child; the value it returned, or a ``StudentProblem``."""
        child = self._ensure_child()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise StudentTimeout("the check's time ran out before this call")
        try:
            reply = child.request(message, remaining)
        except ChildTimeout:
            self.close()  # the next request forks a fresh child
            raise StudentTimeout(_timeout_message(message)) from None
        except WorkerError as err:  # the zygote went away: the child with it, through no fault
            self.close()
            raise self.failed(f"the grading worker was lost during `{message.get('function')}` "
                              f"({err})") from None
        except ChildDied as died:
            tail = child.output_tail().strip().splitlines()[-3:]
            self.close()
            said = f"; it printed: {' | '.join(tail)}" if tail else ""
            raise StudentError(f"`{message.get('function')}` crashed: {died}{said}") from None
        if "error" in reply:
            raise _problem(message.get("function", "?"), self._located(reply["error"]))
        return reply["ok"]

    def failed(self, message: str) -> GraderFault:
        """Note the grader's own failure on this submission (the first one is its reason) and
        return it, to raise."""
        self.fault = self.fault or message
        return GraderFault(message)

    def line(self, number: int) -> str:
        """Line ``number`` of the module graded as the learner finds it (a notebook's cell)."""
        return self.intake.line(number) if self.intake else f"line {number}"

    def close(self) -> None:
        if self._child is not None:
            self._child.close()
            self._child = None
        if self.intake is not None:
            self.intake.close()

    def _located(self, error: dict) -> dict:
        """A notebook's error points at cells, and a missing global says where it went."""
        if self.intake is None or self.intake.converted is None or not isinstance(error, dict):
            return error
        error = {**error, "traceback": self.intake.relabel(str(error.get("traceback", "")))}
        if error.get("type") == "NameError":
            why = self.intake.explain_name_error(self._failed, str(error.get("message", "")))
            if why:
                error["message"] = f"{error.get('message', '')}; {why}"
        return error

    def _read_source(self) -> Unavailable | None:
        try:
            submission_folder(self.submission)
        except UsageError as err:  # it went away since the grading began
            return Unavailable(Outcome.ERROR, str(err))
        # a notebook never enters the box (the module made from it does): its outputs may be big
        notebook = Path(self.assignment.student_file).with_suffix(NOTEBOOK).name
        total, entries = _folder_size(self.submission, leave_out=notebook)
        if entries > MAX_SUBMISSION_FILES:
            return Unavailable(
                Outcome.ERROR,
                f"the submission folder holds {entries} files and folders; the limit is "
                f"{MAX_SUBMISSION_FILES} (leave data sets and environments out)",
            )
        if total > MAX_SUBMISSION_BYTES:
            return Unavailable(
                Outcome.ERROR,
                f"the submission folder holds {total / 2**20:.0f} MiB; the limit is "
                f"{MAX_SUBMISSION_BYTES // 2**20} MiB (leave data and checkpoints out)",
            )
        try:
            self.intake = take_in(self.submission, self.assignment.student_file,
                                  drop_calls=self.assignment.notebook_drop_calls)
        except FileNotFoundError as err:
            return Unavailable(Outcome.MISSING, str(err))
        except IntakeError as err:
            return Unavailable(Outcome.ERROR, str(err))
        self.tree = self.intake.tree
        return None

    def _import(self) -> None:
        name = self.assignment.student_file
        try:
            reply = self._spawn_and_import()
        except ChildTimeout:
            self.close()
            self._unavailable = Unavailable(
                Outcome.TIMEOUT,
                f"importing {name} did not finish within {options.IMPORT_TIMEOUT:g} s: "
                "is there a loop or a training run at module level?", RunStatus.TIMED_OUT,
            )
            return
        except ChildDied as died:
            self.close()
            self._unavailable = Unavailable(Outcome.ERROR, f"importing {name} crashed: {died}",
                                            RunStatus.CRASHED)
            return
        except WorkerError as err:  # the grader's trouble, reported on this submission alone
            self.close()
            self.failed(f"the grader could not start this submission: {err}")
            self._unavailable = Unavailable(Outcome.ERROR, self.fault,
                                            RunStatus.INFRASTRUCTURE_ERROR)
            return
        shown = self.intake.shown if self.intake else name
        if "error" in reply:
            problem = _problem(name, self._located(reply["error"]))
            self._unavailable = Unavailable(
                Outcome.ERROR, f"importing {shown} failed: {problem.message}"
            )
        else:
            self._defined = set(reply["ok"]["defined"])
            failed = reply["ok"].get("failed")
            self._failed = failed if isinstance(failed, dict) else {}

    def _spawn_and_import(self) -> dict:
        assert self.intake is not None
        self._child = self.worker.spawn(self.intake.folder, self.limits)
        message = {
            "op": "import",
            "file": self.assignment.student_file,
            "functions": list(self.assignment.functions),
            "standins": self.assignment.standins,
        }
        return self._child.request(message, options.IMPORT_TIMEOUT)

    def _ensure_child(self) -> Child:
        """The live child, forking and importing again after a timeout or crash."""
        if self._child is None or not self._child.alive:
            self.close()  # a child that died between requests still has a scratch folder
            try:
                reply = self._spawn_and_import()
            except WorkerError as err:
                self.close()
                raise self.failed(f"the grader could not restart this submission: {err}") from None
            except (ChildTimeout, ChildDied) as err:
                self.close()
                raise StudentError(f"the submission could not be restarted: {err}") from None
            if "error" in reply:
                raise StudentError("the submission failed to import on a restart")
        return self._child


def _folder_size(folder: Path, leave_out: str = "") -> tuple[int, int]:
    """The size of the regular files in ``folder``, links not followed, and how many entries
    (files, folders, links) it holds; ``leave_out`` at its top level is not counted."""
    total = entries = 0
    for root, folders, files in os.walk(folder):
        if root == str(folder):
            files = [f for f in files if f != leave_out]
        entries += len(folders) + len(files)
        for name in files:
            try:
                info = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total, entries


def _problem(function: str, error: dict) -> StudentProblem:
    kind, text = str(error.get("type", "Exception")), str(error.get("message", ""))
    where = str(error.get("traceback", "")).strip().splitlines()
    at = f" (at {where[-1]})" if where else ""
    if error.get("grader"):  # a bug in a check, not in the submission
        raise RuntimeError(f"probe misuse: {text}")
    if error.get("not_implemented"):
        return NotImplementedByStudent(
            f"`{function}` is not implemented yet (it raises NotImplementedError)"
        )
    if error.get("exit"):
        return StudentError(
            f"`{function}` called sys.exit({text}): a function must return its result, not exit"
        )
    hint = error_hint(kind, text, str(error.get("traceback", "")))
    # the same exception raised at the same line is one cause, whatever inputs it met there
    cause = f"{kind} at {where[-1]}" if where else f"{kind}: {text}"
    return StudentError(f"`{function}` raised {kind}: {text}{at}", hint, cause)


def _timeout_message(message: dict) -> str:
    function = message.get("function", "the code")
    return f"`{function}` did not finish in time and was stopped: an endless loop, or far too slow?"
