"""The library API: everything the command line does, callable and testable from Python.

Each name is one call into the package that owns the work; the command line is parse, one of
these, print. The gradebook, report and batch calls load on first use, so ``grader check``
never imports pandas or SQLAlchemy.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from grader import options
from grader.courses.course import Course, open_course
from grader.data import fashion_mnist
from grader.grading.catalog import init_submission, list_assignments, load
from grader.grading.grader import Grader, check_submission, resolve_device
from grader.outcomes import GraderError, SubmissionResult, UsageError
from grader.runner.doctor import Finding, diagnose

# name -> (the module that owns it, its name there), imported when the name is first used
_ON_FIRST_USE = {
    "report": ("grader.reports.outputs", "report"),
    "feedback": ("grader.reports.outputs", "feedback"),
    "export": ("grader.reports.outputs", "export"),
    "override": ("grader.reports.outputs", "override"),
    "import_roster": ("grader.reports.outputs", "import_roster"),
    "issue_tokens": ("grader.service.tokens", "issue_tokens"),
    "revoke_tokens": ("grader.service.tokens", "revoke_tokens"),
    "serve_jobs": ("grader.service.worker", "serve_jobs"),
    "serve": ("grader.service.serve", "serve"),
    "submit": ("grader.service.client", "submit"),
    "create_app": ("grader.service.app", "create_app"),
    "open_service": ("grader.service.submissions", "open_service"),
    "grade_class": ("grader.batch.run", "grade_class"),
    "similarity": ("grader.similarity.outputs", "similarity"),
    "new_course": ("grader.courses.scaffold", "new_course"),
    "validate_course": ("grader.grading.validation", "validate_course"),
    "describe_intake": ("grader.grading.intake", "describe_intake"),
    "BatchOptions": ("grader.batch.run", "Options"),
}

__all__ = [
    "Course", "Finding", "Grader", "GraderError", "SubmissionResult", "UsageError",
    "check_submission", "diagnose", "download_data", "init_submission", "list_assignments",
    "load", "open_course", "resolve_device",
    *_ON_FIRST_USE,
]


def download_data(data_root: str | Path | None = None) -> list[Path]:
    """Fetch the four Fashion-MNIST files, md5-verified; those already there are kept."""
    return fashion_mnist.download(options.data_root(data_root))


def __getattr__(name: str) -> Any:
    if name not in _ON_FIRST_USE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _ON_FIRST_USE[name]
    return getattr(importlib.import_module(module), attribute)
