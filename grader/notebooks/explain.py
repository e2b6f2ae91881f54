"""Sentences about a converted notebook: why a name is missing, and what was taken from each cell.

``explain_name_error`` turns "name 'W' is not defined" into where W was meant to come from: a
statement that raised on import (recorded in the module's ``__grader_failed__``), a statement
that is not graded, a cell that does not parse, or a training loop left at top level.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from grader.notebooks.converted import Converted, Location, Statement, cell_label

_NAME_ERROR = re.compile(r"name '([^']+)' is not defined")
_TEXT_LIMIT = 100  # characters of a statement's first line shown in the intake


def explain_name_error(converted: Converted, failed: Mapping[str, object],
                       message: str) -> str | None:
    """Why the name in a NameError ``message`` is missing from the graded module.

    Args:
        converted: what the module was built from.
        failed: the module's ``__grader_failed__`` as it came back from the student's process:
            name -> (cell, line, exception type, message). Entries of another shape are ignored.
        message: the NameError's message, "name 'W' is not defined".

    Returns:
        A sentence ("W is defined in cell 7, line 2, which raised NameError: ..."), or None
        when the notebook says nothing about the name.
    """
    found = _NAME_ERROR.search(message)
    if not found:
        return None
    name = found.group(1)
    record = _failure(failed.get(name))
    if record is None:
        return explain_missing(converted, name)
    cell, line, kind, text = record
    where = Location(cell, line, converted.execution_count(cell))
    first = text.strip().splitlines()[0] if text.strip() else ""
    sentence = f"{name} is defined in {where}, which raised {kind}" + (f": {first}" if first
                                                                        else "")
    return sentence + _defined_later(converted, where, kind, first)


def explain_missing(converted: Converted, name: str) -> str | None:
    """Why ``name`` is not in the graded module although the notebook mentions it, or None.

    A name bound only by dropped statements, a name a broken cell defines, and (for a name
    starting with "train") a training loop written at top level instead of in a function.
    """
    binders = converted.binders(name)
    if binders and not any(s.kept for s in binders):
        first = binders[0]
        return (f"{name} is bound in {first.location}, which is not graded: it {first.reason}; "
                "create it inside your function")
    for cell in converted.broken:
        if name in cell.names:
            return (f"{name} is defined in {cell_label(cell.cell, cell.execution_count)}, "
                    f"which does not parse (line {cell.line}: {cell.message})")
    if not binders and converted.training_loops and name.startswith("train"):
        loop = converted.training_loops[0]
        return (f"{name} is not defined; your training loop runs at top level in "
                f"{cell_label(loop.cell, loop.execution_count)}: wrap it in "
                f"`def {name}(...)` as the starter shows")
    return None


def _failure(entry: object) -> tuple[int, int, str, str] | None:
    """A ``__grader_failed__`` entry, checked: it came back from the learner's process."""
    if not isinstance(entry, (tuple, list)) or len(entry) != 4:
        return None
    cell, line, kind, text = entry
    if not (type(cell) is int and type(line) is int and isinstance(kind, str)
            and isinstance(text, str)):
        return None
    return cell, line, kind, text


def _defined_later(converted: Converted, where: Location, kind: str, text: str) -> str:
    """"; softmax is defined later, in cell 9", when the statement used a name too early."""
    used = _NAME_ERROR.search(text) if kind == "NameError" else None
    if not used:
        return ""
    for statement in converted.binders(used.group(1)):
        if statement.kept and (statement.cell, statement.first_line) > (where.cell, where.line):
            label = cell_label(statement.cell, statement.execution_count)
            return f"; {used.group(1)} is defined later, in {label}"
    return ""


def render_intake(converted: Converted) -> list[str]:
    """What was taken from each code cell and what was not, one line each, for
    ``grader check --show-intake``. Plain text: the caller escapes what it prints."""
    lines: list[str] = []
    events = sorted([(s.cell, s.first_line, 0, s) for s in converted.statements]
                    + [(b.cell, b.line, 1, b) for b in converted.broken],
                    key=lambda e: e[:3])
    current = None
    for cell, _, _, record in events:
        if cell != current:
            current = cell
            lines.append(cell_label(cell, record.execution_count))
        if isinstance(record, Statement):
            lines.append(_intake_line(record))
        else:
            defines = f"; it defines {', '.join(record.names)}" if record.names else ""
            lines.append(f"  line {record.line}: does not parse, so none of this cell is graded "
                         f"({record.message}){defines}")
    kept = sum(s.kept for s in converted.statements)
    summary = f"kept {kept} of {len(converted.statements)} statements"
    if converted.broken:
        summary += f"; {len(converted.broken)} cell(s) do not parse"
    return [*lines, summary]


def _intake_line(statement: Statement) -> str:
    span = (f"line {statement.first_line}" if statement.first_line == statement.last_line
            else f"lines {statement.first_line}-{statement.last_line}")
    text = statement.text
    if len(text) > _TEXT_LIMIT:
        text = text[:_TEXT_LIMIT - 3] + "..."
    if statement.kept:
        note = f" ({statement.reason})" if statement.reason else ""
        return f"  {span}: kept{note}: {text}"
    return f"  {span}: dropped, it {statement.reason}: {text}"
