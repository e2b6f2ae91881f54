"""Writing the graded module: each kept statement's own lines, in order, some inside a guard.

A guarded statement runs inside ``try``; if it raises, the module still imports and
``__grader_failed__`` records, for each name it binds, (cell, line, exception type, message).
The statement's lines stay contiguous and unchanged but for indentation, so a traceback line
inside it maps back to exactly one line of the cell. Lines that start inside a multi-line string
are not indented: that would change the string.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from grader.notebooks.converted import Location

FAILED = "__grader_failed__"
_ERROR = "__grader_error__"
_MESSAGE_LIMIT = 500  # characters of an exception's message kept in __grader_failed__

_HEADER = (
    "# The graded module, built by grader.notebooks from a notebook's code cells.",
)
_FAILED_LINE = (f"{FAILED} = {{}}  # name -> (cell, line, exception type, message) of a "
                "statement that raised")


@dataclass(frozen=True)
class Piece:
    """A statement's text: its lines, the cell location of each, and which lines start inside
    a string (and so must keep their indentation exactly)."""

    lines: tuple[str, ...]
    origins: tuple[Location, ...]
    in_string: frozenset[int] = frozenset()  # indices into lines


@dataclass
class ModuleWriter:
    """Collects the module line by line, with where each line came from."""

    _futures: list[tuple[str, Location]] = field(default_factory=list)
    _lines: list[tuple[str, Location | None]] = field(default_factory=list)

    def comment(self, text: str) -> None:
        self._lines.append((f"# {text}", None))

    def future(self, piece: Piece) -> None:
        """A ``from __future__`` import: Python wants it before any other statement."""
        self._futures.extend(zip(piece.lines, piece.origins, strict=True))

    def plain(self, piece: Piece) -> None:
        self._lines.extend(zip(piece.lines, piece.origins, strict=True))

    def guarded(self, piece: Piece, names: tuple[str, ...], at: Location) -> None:
        # a tab in front keeps tab-and-space indentation exactly as consistent as it was
        indent = "\t" if any("\t" in _leading(line) for line in piece.lines) else "    "
        self._lines.append(("try:", at))
        for i, (line, origin) in enumerate(zip(piece.lines, piece.origins, strict=True)):
            if i not in piece.in_string:
                stripped = line.lstrip(" \t\f")
                # Python starts counting a line's indentation again after a form feed
                line = indent + _leading(line).rsplit("\f", 1)[-1] + stripped
            self._lines.append((line, origin))
        self._lines.append((f"except Exception as {_ERROR}:", at))
        if names:
            record = (f"({at.cell}, {at.line}, type({_ERROR}).__name__, "
                      f"str({_ERROR})[:{_MESSAGE_LIMIT}])")
            self._lines.append((f"    {FAILED}.update(dict.fromkeys({names!r}, {record}))", at))
        else:
            self._lines.append(("    pass", at))

    def finish(self) -> tuple[str, tuple[Location | None, ...]]:
        lines = [(line, None) for line in _HEADER] + self._futures
        lines += [(_FAILED_LINE, None), *self._lines]
        return "".join(text + "\n" for text, _ in lines), tuple(where for _, where in lines)


def _leading(line: str) -> str:
    return line[:len(line) - len(line.lstrip(" \t\f"))]


def piece(code_lines: list[str], node: ast.stmt, *, after: int, before: int,
          where: list[Location]) -> Piece:
    """``node``'s text from the transformed cell ``code_lines``.

    Args:
        code_lines: the transformed cell, split on \\n.
        node: a top-level statement parsed from it.
        after: the last line of the statement before it (0 for none): a statement that starts
            on that line (``a = 1; b = 2``) is cut from its column.
        before: the first line of the statement after it: likewise, ``node`` then ends at its
            column rather than at the end of its line.
        where: for each line of ``code_lines``, its location in the cell.
    """
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
    last = node.end_lineno or node.lineno
    lines = code_lines[first - 1:last]
    if before == last:
        lines[-1] = _cut(lines[-1], node.end_col_offset or 0)
    if after == first:
        lines[0] = lines[0][len(_cut(lines[0], node.col_offset)):]
    if lines[-1].rstrip().endswith("\\"):  # a continuation into nothing would join our next line
        lines[-1] = lines[-1].rstrip()[:-1]
    # only a statement of several lines can have one that starts inside a string
    in_string = frozenset(n - first for n in _string_lines(node)) if last > first else frozenset()
    return Piece(tuple(lines), tuple(where[first - 1:last]), in_string)


def _cut(line: str, byte_column: int) -> str:
    """The part of ``line`` before ``byte_column`` (ast counts columns in UTF-8 bytes)."""
    return line.encode("utf-8", "surrogatepass")[:byte_column].decode("utf-8", "replace")


def _string_lines(node: ast.AST) -> set[int]:
    """The lines of ``node`` that begin inside a string literal."""
    strings = (ast.JoinedStr, *((ast.TemplateStr,) if hasattr(ast, "TemplateStr") else ()))
    found: set[int] = set()
    stack = [node]
    while stack:
        sub = stack.pop()
        if isinstance(sub, strings) or (isinstance(sub, ast.Constant)
                                        and isinstance(sub.value, (str, bytes))):
            found.update(range(sub.lineno + 1, (sub.end_lineno or sub.lineno) + 1))
            continue  # an f-string's parts lie inside it
        stack.extend(ast.iter_child_nodes(sub))
    return found


def unguard(tree: ast.Module) -> ast.Module:
    """The graded module's tree with each guard replaced by the statement it guards, so that
    code reading ``tree.body`` (the grader's rules) sees the learner's top-level statements."""
    body: list[ast.stmt] = []
    for node in tree.body:
        if _is_guard(node):
            body.extend(node.body)
        else:
            body.append(node)
    return ast.Module(body=body, type_ignores=tree.type_ignores)


def _is_guard(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Try) and len(node.handlers) == 1 and not node.orelse
            and not node.finalbody and node.handlers[0].name == _ERROR)
