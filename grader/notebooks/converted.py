"""What converting a notebook produced: the module's source, a record per statement, the cells
that do not parse, and the way back from a line of the module to a line of a cell.

Cells are numbered as Jupyter shows them, from 1, counting every cell (markdown too), so that
"cell 7" is the seventh cell on the learner's screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Location:
    """A line of a cell; ``execution_count`` is the ``In [n]`` Jupyter showed, if it ran."""

    cell: int
    line: int
    execution_count: int | None = None

    def __str__(self) -> str:
        return f"{cell_label(self.cell, self.execution_count)}, line {self.line}"


def cell_label(cell: int, execution_count: int | None = None) -> str:
    """``cell 7 [In 12]``, or ``cell 7`` for a cell that never ran."""
    return f"cell {cell}" if execution_count is None else f"cell {cell} [In {execution_count}]"


@dataclass(frozen=True)
class Statement:
    """One top-level statement of a code cell, kept in the module or dropped from it.

    ``reason`` is why it was dropped, a clause that reads after "it" ("loads data
    (load_data_fashion_mnist)"); for a kept statement it is "" or a warning. ``text`` is its
    first line as the learner wrote it; ``binds`` the module-level names it binds.
    """

    cell: int
    execution_count: int | None
    first_line: int
    last_line: int
    kept: bool
    reason: str
    text: str
    binds: tuple[str, ...] = ()

    @property
    def location(self) -> Location:
        return Location(self.cell, self.first_line, self.execution_count)


@dataclass(frozen=True)
class BrokenCell:
    """A code cell that does not parse; none of it is in the module.

    ``names``: what it appears to define (``def``/``class`` lines), for messages only.
    """

    cell: int
    execution_count: int | None
    line: int
    message: str
    names: tuple[str, ...] = ()

    @property
    def location(self) -> Location:
        return Location(self.cell, self.line, self.execution_count)


@dataclass(frozen=True)
class Converted:
    """The graded module built from a notebook, and how it was built.

    ``source`` is valid Python. ``training_loops`` are the dropped top-level loops that call
    backward or take an optimizer step, where a learner trained outside any function.
    """

    source: str
    statements: tuple[Statement, ...]
    broken: tuple[BrokenCell, ...] = ()
    training_loops: tuple[Location, ...] = ()
    # line_map[i] is where line i + 1 of ``source`` came from; None for the grader's own lines
    line_map: tuple[Location | None, ...] = field(default=(), repr=False, compare=False)

    def locate(self, line: int) -> Location | None:
        """The cell line that line ``line`` (1-based) of ``source`` came from, or None for a
        line the grader wrote (the header, a cell's comment)."""
        if 1 <= line <= len(self.line_map):
            return self.line_map[line - 1]
        return None

    def execution_count(self, cell: int) -> int | None:
        """The ``In [n]`` of code cell ``cell``, if it ran and has a statement or is broken."""
        for record in (*self.statements, *self.broken):
            if record.cell == cell:
                return record.execution_count
        return None

    def binders(self, name: str) -> tuple[Statement, ...]:
        """The statements that bind ``name`` at module level, kept or dropped, in order."""
        return tuple(s for s in self.statements if name in s.binds)
