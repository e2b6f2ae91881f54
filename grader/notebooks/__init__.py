"""Notebook submissions: a learner's .ipynb read, validated and turned into the module graded.

``read_notebook`` -> ``convert`` -> ``Converted.source``, with ``locate`` back to cells and
``explain_name_error`` / ``render_intake`` for messages; ``starter_notebook`` makes a starter.
Pure library: imports nbformat, IPython's transformer and ``grader.outcomes`` only.
"""

from grader.notebooks.convert import convert
from grader.notebooks.converted import BrokenCell, Converted, Location, Statement, cell_label
from grader.notebooks.emit import FAILED, unguard
from grader.notebooks.explain import explain_missing, explain_name_error, render_intake
from grader.notebooks.read import NotebookError, read_notebook
from grader.notebooks.starter import starter_notebook
from grader.notebooks.triage import DROP_CALLS

__all__ = [
    "DROP_CALLS", "FAILED", "BrokenCell", "Converted", "Location", "NotebookError", "Statement",
    "cell_label", "convert", "explain_missing", "explain_name_error", "read_notebook",
    "render_intake", "starter_notebook", "unguard",
]
