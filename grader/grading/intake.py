"""What is graded from a submission folder: its ``STEM.py`` as it is, or its ``STEM.ipynb``
turned into one (``grader.notebooks``), with the way back from a line graded to a cell.

A notebook's module is written into a scratch copy of the folder, next to the learner's other
files, so the child imports it exactly as it would import a .py. Messages that name a line of
the module name the notebook's cell and line instead.
"""

from __future__ import annotations

import ast
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from grader.authoring.assignment import Assignment
from grader.grading.folders import as_folder
from grader.notebooks import (
    DROP_CALLS,
    Converted,
    NotebookError,
    convert,
    read_notebook,
    render_intake,
    unguard,
)
from grader.notebooks import explain_missing as _explain_missing
from grader.notebooks import explain_name_error as _explain_name_error
from grader.outcomes import GraderError

NOTEBOOK = ".ipynb"
MAX_SOURCE_BYTES = 1 * 2**20  # the learner's .py, or the module a notebook becomes
MAX_NOTEBOOK_BYTES = 128 * 2**20  # outputs included: they are never read, but parsed as JSON


class IntakeError(GraderError):
    """The folder holds nothing that can be graded as this assignment's file, and why."""


class NotGradable(IntakeError):
    """Not even a file to grade: both forms of it, or a notebook that is not one."""


@dataclass
class Intake:
    """The file taken in: ``folder`` is what the child imports from, ``shown`` the name the
    learner knows it by; ``converted`` is set for a notebook."""

    folder: Path
    file: str  # the module the child imports: the assignment's student_file
    shown: str  # the learner's file: linear_regression.py or linear_regression.ipynb
    tree: ast.Module
    converted: Converted | None = None
    _scratch: Path | None = None

    def line(self, number: int) -> str:
        """Line ``number`` of the module graded, as the learner finds it: "line 12", or
        "cell 7 [In 3], line 2" in a notebook."""
        where = self.converted.locate(number) if self.converted else None
        return str(where) if where else f"line {number}"

    def relabel(self, text: str) -> str:
        """``text`` with every "FILE, line N" of the module graded pointing at the learner's
        file: "linear_regression.ipynb, cell 7 [In 3], line 2"."""
        if self.converted is None:
            return text
        pattern = re.compile(rf"{re.escape(self.file)}, line (\d+)")
        return pattern.sub(lambda m: f"{self.shown}, {self.line(int(m.group(1)))}", text)

    def where_defined(self, function: str) -> str | None:
        """"cell 8 [In 5], line 1": where a notebook defines ``function`` (the last kept
        definition, as Jupyter's last run wins); None for a .py."""
        if self.converted is None:
            return None
        kept = [s for s in self.converted.binders(function) if s.kept]
        return str(kept[-1].location) if kept else None

    def explain_missing(self, name: str) -> str | None:
        """Where a function the notebook lacks went: a dropped binding, a cell that does not
        parse, a training loop written at top level."""
        return _explain_missing(self.converted, name) if self.converted else None

    def explain_name_error(self, failed: Mapping[str, object], message: str) -> str | None:
        """Where the name of a NameError was meant to come from (``__grader_failed__``)."""
        if self.converted is None:
            return None
        return _explain_name_error(self.converted, failed, message)

    def close(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


def take_in(folder: Path, student_file: str, *, drop_calls: Iterable[str] = ()) -> Intake:
    """The assignment's file in ``folder``, as a .py or as a notebook of the same stem;
    ``drop_calls``: more calls whose top-level assignments a notebook's module leaves out
    (a course's own training or plotting functions), beyond ``DROP_CALLS``.

    Raises:
        FileNotFoundError: neither is there.
        IntakeError: both are there, the file is too large or does not parse, the notebook is
            not one.
    """
    script = folder / student_file
    notebook = script.with_suffix(NOTEBOOK)
    _one_form(script, notebook)
    if _present(notebook) and not _present(script):
        return _from_notebook(folder, notebook, student_file, DROP_CALLS | set(drop_calls))
    if script.is_symlink() or (script.exists() and not script.is_file()):
        raise IntakeError(f"{student_file} must be a regular file, not a link")
    if not script.exists():
        raise FileNotFoundError(f"{student_file} not found in the submission (nor "
                                f"{notebook.name})")
    return Intake(folder, student_file, student_file, _parse(script.read_bytes(), student_file))


def unreadable(folder: Path, student_file: str) -> str:
    """Why ``folder`` cannot be graded as handed in, before any code runs: both forms of the
    file, or a notebook that is not one (not JSON, too old, too big). "" when it can; a missing
    or broken .py is graded, every check saying so."""
    script = folder / student_file
    notebook = script.with_suffix(NOTEBOOK)
    try:
        _one_form(script, notebook)
        if _present(notebook) and not _present(script):
            _readable(notebook)
    except NotGradable as err:
        return str(err)
    return ""


def _present(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _one_form(script: Path, notebook: Path) -> None:
    if _present(script) and _present(notebook):
        raise NotGradable(f"the submission holds both {script.name} and {notebook.name}: keep "
                          "one, the grader cannot tell which you meant")


def _readable(notebook: Path):
    """The notebook, read and validated; NotGradable says why not."""
    if notebook.is_symlink() or not notebook.is_file():
        raise NotGradable(f"{notebook.name} must be a regular file, not a link")
    size = notebook.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise NotGradable(f"{notebook.name} is {size / 2**20:.0f} MiB; the limit is "
                          f"{MAX_NOTEBOOK_BYTES // 2**20} MiB (clear its outputs: Kernel > "
                          "Restart & Clear Output)")
    try:
        return read_notebook(notebook)
    except NotebookError as err:  # named as the learner knows it, not by where it was unpacked
        raise NotGradable(str(err).replace(str(notebook), notebook.name)) from None


def _parse(data: bytes, name: str) -> ast.Module:
    if len(data) > MAX_SOURCE_BYTES:
        raise IntakeError(f"{name} is {len(data)} bytes; the limit is "
                          f"{MAX_SOURCE_BYTES // 2**20} MiB")
    try:
        return ast.parse(data, filename=name)
    except SyntaxError as err:
        where = f" (line {err.lineno})" if err.lineno else ""
        raise IntakeError(f"{name} has a syntax error{where}: {err.msg}") from None
    except ValueError as err:  # null bytes
        raise IntakeError(f"{name} cannot be parsed: {err}") from None


def _from_notebook(folder: Path, notebook: Path, student_file: str,
                   drop_calls: frozenset[str]) -> Intake:
    converted = convert(_readable(notebook), drop_calls=drop_calls)
    source = converted.source.encode()
    tree = unguard(_parse(source, student_file))
    scratch = Path(tempfile.mkdtemp(prefix="grader-notebook-"))
    copy = scratch / "submission"
    # the learner's other files come along (helper modules), links staying links as in the box;
    # the notebook itself stays out: the module made from it is what the child imports
    shutil.copytree(folder, copy, symlinks=True,
                    ignore=lambda at, names: [notebook.name] if Path(at) == folder else [])
    (copy / student_file).write_bytes(source)
    return Intake(copy, student_file, notebook.name, tree, converted, scratch)


def describe_intake(submission: str | Path, assignment: Assignment) -> list[str]:
    """What is graded of ``submission`` (a folder or one file), for ``--show-intake``: a
    notebook's cells, statement by statement, kept or dropped and why. Plain text."""
    with as_folder(submission, assignment.student_file) as folder:
        try:
            intake = take_in(folder, assignment.student_file,
                             drop_calls=assignment.notebook_drop_calls)
        except (FileNotFoundError, IntakeError) as err:
            return [str(err)]
        try:
            if intake.converted is None:
                return [f"{intake.shown} is graded as it is"]
            return [f"{intake.shown}, as graded:", *render_intake(intake.converted)]
        finally:
            intake.close()
