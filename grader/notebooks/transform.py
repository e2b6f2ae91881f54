"""A cell's source as plain Python, the way Jupyter turns it into code before running it.

IPython's ``TransformerManager`` rewrites magics and shell escapes into calls
(``%time f()`` -> ``get_ipython().run_line_magic('time', 'f()')``), and knows what is not one:
a line that starts with ``%`` inside brackets continues an expression. It can also shift lines:
it drops leading blank lines, and a magic continued with a backslash becomes one line. So every
transformation comes with ``origins``: the cell line each line of the result came from.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass


@dataclass(frozen=True)
class Transformed:
    """``code``, the Python that IPython would run, and for each of its lines (1-based, at index
    line - 1) the line of the cell it came from."""

    code: str
    origins: tuple[int, ...]

    def origin(self, line: int) -> int:
        """The cell line that ``code``'s ``line`` came from (clamped: SyntaxErrors can point one
        line past the end)."""
        if not self.origins:
            return 1
        return self.origins[min(max(line, 1), len(self.origins)) - 1]


@functools.cache
def _manager():
    # Imported on first use: IPython costs about 0.1 s to import, which a grader that never
    # sees a notebook should not pay.
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager()


def normalize_newlines(source: str) -> str:
    """``source`` with \\r\\n and \\r as \\n: the line breaks Python's tokenizer counts."""
    return source.replace("\r\n", "\n").replace("\r", "\n")


def to_python(source: str) -> Transformed:
    """IPython's transformation of one cell (``source`` with \\n line breaks).

    Raises whatever IPython raises on input it cannot read; the caller records the cell as
    broken.
    """
    code = _manager().transform_cell(source)
    return Transformed(code, _origins(source, code))


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it does not start another
    return lines


def _origins(source: str, code: str) -> tuple[int, ...]:
    raw, out = _lines(source), _lines(code)
    # IPython drops leading whitespace-only lines (unless every line is one)
    lead = next((i for i, line in enumerate(raw) if line.strip()), 0)
    if len(out) == len(raw) - lead:  # the usual case: nothing collapsed
        return tuple(range(lead + 1, lead + 1 + len(out)))
    # A magic continued over several lines became one: align the lines that did not change.
    # Stripped, so that the dedent IPython applies to an indented cell does not hide a match.
    matcher = difflib.SequenceMatcher(None, [s.strip() for s in raw[lead:]],
                                      [s.strip() for s in out], autojunk=False)
    origins = [0] * len(out)
    for _, i1, i2, j1, j2 in matcher.get_opcodes():
        for j in range(j1, j2):
            origins[j] = lead + 1 + min(i1 + (j - j1), max(i2 - 1, i1))
    return tuple(min(o, len(raw)) for o in origins)
