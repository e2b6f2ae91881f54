"""Grading's progress on a terminal: one line on stderr, rewritten in place, gone before the report.

It imports neither torch nor the assignments, so ``grader check`` shows its first line at once.
"""

from __future__ import annotations

import os
from typing import TextIO

from grader.outcomes import CheckResult, Outcome
from grader.outcomes.text import printable

_CLEAR = "\r\033[K"


class Live:
    """What ``grader check`` is doing, and the points so far, for a person at a terminal."""

    def __init__(self, stream: TextIO, what: str) -> None:
        self._stream, self._what = stream, printable(what)
        self._got = self._out_of = 0.0
        self._failed = 0

    def phase(self, text: str) -> None:
        self._show(f"{text}…")

    def running(self, title: str, done: int, total: int) -> None:
        so_far = (f"{done}/{total} checks, {self._got:g}/{self._out_of:g} points"
                  + (f", {self._failed} not passed" if self._failed else ""))
        self._show(f"{so_far}; now: {printable(title)}…")

    def checked(self, result: CheckResult) -> None:
        if result.counted:
            self._got += result.points
            self._out_of += result.max_points
            self._failed += result.status is not Outcome.PASSED

    def clear(self) -> None:
        self._stream.write(_CLEAR)
        self._stream.flush()

    def _show(self, text: str) -> None:
        try:
            width = os.get_terminal_size(self._stream.fileno()).columns - 1
        except (OSError, ValueError, AttributeError):  # not a terminal after all
            width = 0
        width = width if width > 0 else 79  # a terminal that says no size
        line = f"{self._what}: {text}"
        if len(line) > width:
            line = line[: max(width - 1, 0)] + "…"
        self._stream.write(_CLEAR + line)
        self._stream.flush()
