"""The built-in course: linreg, softmax and gradients, with their references and starter files.

Content, not code of the grader: its assignments import ``grader.authoring`` and nothing else of
grader, and nothing in grader imports them by name but the catalog (``grader.grading.catalog``).
The folders live at the top of the repository; the packaging maps them here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ASSIGNMENTS = "grader.builtin.assignments"


def folder(name: str) -> Path:
    """Where the built-in ``name`` (``assignments``, ``reference``, ``student_template``) lies."""
    spec = importlib.util.find_spec(f"{__name__}.{name}")
    if spec is None or not spec.submodule_search_locations:
        raise LookupError(f"the built-in course has no {name!r}: is grader installed whole?")
    return Path(next(iter(spec.submodule_search_locations)))
