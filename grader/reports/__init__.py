"""Reports on a gradebook: its two tables, files in several formats, charts, feedback, exports.

``frames.tables`` reads the gradebook into two pandas DataFrames, ``scores`` (one row per student
and assignment) and ``checks`` (one row per check of those gradings; see SCORE_COLUMNS and
CHECK_COLUMNS); everything else works on those. Imports gradebook, authoring, outcomes, options.
"""

import importlib
from typing import Any

# name -> the module that defines it; loaded on first use, so that the terminal's text (which
# `grader check` prints) does not import pandas, matplotlib or SQLAlchemy
_NAMES = {
    "CHECK_COLUMNS": "schema", "SCORE_COLUMNS": "schema", "FORMATS": "formats",
    "write_report": "formats", "HIDDEN_MESSAGE": "visibility", "ITEM_COLUMNS": "tables",
    "gradebook": "tables", "item_analysis": "tables", "canvas_csv": "export", "lms_csv": "export",
    "gradescope_results": "export", "write_gradescope": "export", "write_feedback": "feedback",
    "html_report": "html", "slug": "slugs",
}
__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
