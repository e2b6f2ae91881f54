"""What a submission is on disk: a folder, or for ``grader check`` one .py or .ipynb file. No
torch here, so the command line can say so first."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.outcomes import UsageError

FILE_SUFFIXES = (".py", ".ipynb")  # what grader check takes as a file, not a folder


def submission_folder(path: str | Path) -> Path:
    """``path`` as a submission folder, or a UsageError saying what it is instead."""
    folder = Path(path)
    if not folder.is_dir():
        what = "is a file, not a submission folder" if folder.exists() else "not found"
        raise UsageError(f"{folder}: {what}")
    return folder


def submission_path(path: str | Path) -> Path:
    """``path`` as a submission folder or a single .py or .ipynb file; else a UsageError."""
    file = Path(path)
    if file.is_file() and file.suffix in FILE_SUFFIXES:
        return file
    if file.is_file():
        raise UsageError(f"{file}: is a file, not a submission folder (or a "
                         f"{' or '.join(FILE_SUFFIXES)} file)")
    return submission_folder(path)


@contextmanager
def as_folder(path: str | Path, student_file: str) -> Iterator[Path]:
    """A submission folder: ``path`` itself, or for a single file a scratch folder holding it
    under the assignment's name (``my_try.ipynb`` -> ``linear_regression.ipynb``)."""
    path = submission_path(path)
    if path.is_dir():
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="grader-file-") as scratch:
        folder = Path(scratch) / "submission"
        folder.mkdir()
        shutil.copyfile(path, folder / (Path(student_file).stem + path.suffix))
        yield folder
