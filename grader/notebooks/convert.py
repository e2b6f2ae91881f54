"""A notebook's code cells -> the Python module that is graded, statement by statement.

Each code cell goes through IPython's transformer, then ``ast``; its top-level statements are
kept or dropped one by one (``triage``), never whole cells. A cell that does not parse is
recorded and skipped; the others are still converted. ``%%time`` and ``%%capture`` cells keep
their body; other cell magics are dropped.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from grader.notebooks.converted import BrokenCell, Converted, Location, Statement, cell_label
from grader.notebooks.emit import ModuleWriter, Piece, piece
from grader.notebooks.transform import normalize_newlines, to_python
from grader.notebooks.triage import DROP_CALLS, Verdict, cell_magic, globals_read, triage
from grader.outcomes import GraderError

_BODY_MAGICS = ("time", "capture")  # cell magics that run their body once, as Python
# a NUL, or a lone surrogate (a JSON "\\ud800" escape): text Python cannot parse
_UNREADABLE = re.compile("[\x00\ud800-\udfff]")
_DEFINES = re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+(\w+)", re.MULTILINE)


def convert(nb: Mapping[str, Any], *, drop_calls: frozenset[str] = DROP_CALLS) -> Converted:
    """Build the graded module from ``nb``'s code cells.

    Args:
        nb: a notebook (``read_notebook``'s result, or any mapping with v4 ``cells``).
        drop_calls: called names that make a top-level assignment a demonstration to drop
            (``DROP_CALLS`` by default; a course may pass a larger set).

    Returns:
        The module's source, a record per top-level statement, the broken cells, the
        top-level training loops, and ``locate`` from a module line back to a cell line.
    """
    builder = _Builder(frozenset(drop_calls))
    with warnings.catch_warnings():
        # parsing and compiling learners' code warns about it ("invalid escape sequence '\d'",
        # "'str' object is not callable"); that is for Jupyter to show, not the grader's log
        warnings.simplefilter("ignore")
        for number, cell in enumerate(nb.get("cells") or (), start=1):
            if isinstance(cell, Mapping) and cell.get("cell_type") == "code":
                count = cell.get("execution_count")
                builder.add_cell(number, count if type(count) is int else None, _text(cell))
    return builder.finish()


def _text(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):  # a notebook read as plain JSON keeps lines as a list
        source = "".join(str(s) for s in source)
    return normalize_newlines(str(source))


@dataclass
class _Unit:
    """A parsed cell, or a %%time cell's body: its tree, its lines, and each line's location."""

    tree: ast.Module
    code_lines: list[str]
    where: list[Location]


@dataclass
class _Function:
    cell: int
    reads: frozenset[str]


@dataclass
class _Builder:
    drop_calls: frozenset[str]
    writer: ModuleWriter = field(default_factory=ModuleWriter)
    statements: list[Statement] = field(default_factory=list)
    broken: list[BrokenCell] = field(default_factory=list)
    loops: list[Location] = field(default_factory=list)
    bound: set[str] = field(default_factory=set)  # names bound so far by kept statements
    functions: dict[str, _Function] = field(default_factory=dict)  # kept defs, by name
    heading: str = ""  # the comment that starts the current cell's code, until it is written

    def add_cell(self, number: int, count: int | None, source: str) -> None:
        if not source.strip():
            return
        raw = source.split("\n")
        try:
            units = list(self._units(number, count, source, 0))
        except _Broken as err:
            names = tuple(dict.fromkeys(_DEFINES.findall(source)))
            self.broken.append(BrokenCell(number, count, err.line, err.message, names))
            return
        self.heading = cell_label(number, count)
        for unit in units:
            self._add_unit(unit, raw, count)

    def _units(self, number: int, count: int | None, source: str,
               offset: int) -> Iterator[_Unit]:
        """The parsed parts of a cell, a %%time cell's body in place of the cell."""
        unreadable = _UNREADABLE.search(source)
        if unreadable:  # Python refuses the whole cell, in words that vary by version
            line = source.count("\n", 0, unreadable.start()) + 1
            raise _Broken(offset + line, f"U+{ord(unreadable.group()):04X} is not a character "
                          "Python can read") from None
        try:
            done = to_python(source)
        except Exception as err:  # IPython's own code, on any text a learner typed
            raise _Broken(offset + 1, f"IPython cannot read it ({type(err).__name__}: "
                          f"{err})") from None
        try:
            tree = ast.parse(done.code)
        except SyntaxError as err:
            raise _Broken(offset + done.origin(err.lineno or 1), err.msg) from None
        except (ValueError, RecursionError, MemoryError) as err:
            raise _Broken(offset + 1, f"{type(err).__name__}: {err}") from None
        magic = cell_magic(tree)
        if magic and magic[0] in _BODY_MAGICS:
            yield from self._units(number, count, magic[1], offset + done.origin(1))
            return
        where = [Location(number, offset + o, count) for o in done.origins]
        yield _Unit(tree, done.code.split("\n"), where)

    def _add_unit(self, unit: _Unit, raw: list[str], count: int | None) -> None:
        body = unit.tree.body
        failing = _failing(unit.tree)
        magics = any("get_ipython" in line for line in unit.code_lines)
        for i, node in enumerate(body):
            verdict = triage(node, self.drop_calls, magics=magics)
            part = piece(unit.code_lines, node, where=unit.where,
                         after=body[i - 1].end_lineno if i else 0,
                         before=body[i + 1].lineno if i + 1 < len(body) else 0)
            if verdict.kept:
                verdict = self._second_look(node, verdict, failing)
            at = part.origins[0]
            self.statements.append(Statement(
                at.cell, count, at.line, part.origins[-1].line, verdict.kept, verdict.reason,
                raw[at.line - 1].strip() if at.line <= len(raw) else "", verdict.binds))
            if verdict.training_loop:
                self.loops.append(at)
            if verdict.kept:
                self._emit(node, verdict, part, at)

    def _second_look(self, node: ast.stmt, verdict: Verdict, failing: bool) -> Verdict:
        """Drop what would not compile alone, and a rebinding of a name a function reads."""
        if failing:
            problem = _compile_error(node)
            if problem:
                return Verdict(False, f"does not compile: {problem}", verdict.binds)
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            for name in verdict.binds:
                reader = self._reader_of(name)
                if reader:
                    return Verdict(False, f"would rebind {name}, which {reader} reads",
                                   verdict.binds)
        return verdict

    def _reader_of(self, name: str) -> str | None:
        if name not in self.bound:
            return None  # a first binding, even after the function, is what it reads
        for function, info in self.functions.items():
            if name in info.reads:
                return f"{function} (cell {info.cell})"
        return None

    def _emit(self, node: ast.stmt, verdict: Verdict, part: Piece, at: Location) -> None:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            self.writer.future(part)
            return  # it binds nothing a function reads
        if self.heading:
            self.writer.comment(self.heading)
            self.heading = ""
        if verdict.guarded:
            self.writer.guarded(part, verdict.binds, at)
        else:
            self.writer.plain(part)
        for name in verdict.binds:
            self.functions.pop(name, None)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.functions[node.name] = _Function(at.cell, globals_read("\n".join(
                part.lines), node.name))
        self.bound.update(verdict.binds)

    def finish(self) -> Converted:
        source, line_map = self.writer.finish()
        return Converted(source, tuple(self.statements), tuple(self.broken), tuple(self.loops),
                         line_map)


class _Broken(GraderError):
    """A cell that cannot be parsed: where, and why. Caught in this module."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def _failing(tree: ast.Module) -> bool:
    """Whether the cell fails to compile as a whole (``ast.parse`` accepts some code that
    ``compile`` refuses: ``await`` or ``return`` at top level, a late ``__future__`` import)."""
    try:
        compile(tree, "<cell>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    return False


def _compile_error(node: ast.stmt) -> str | None:
    try:
        compile(ast.Module(body=[node], type_ignores=[]), "<cell>", "exec", dont_inherit=True)
    except SyntaxError as err:
        return err.msg
    except (ValueError, RecursionError, MemoryError) as err:
        return f"{type(err).__name__}: {err}"
    return None
