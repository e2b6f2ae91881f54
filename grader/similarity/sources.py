"""The code of each student's current submission, read again from where it was graded.

A batch's submission is the folder or .zip whose absolute path the gradebook keeps; a service
upload is its job's zip, kept in the gradebook. Either is found and unpacked by the code that
found it for grading (``grader.batch.submissions``), its content hash compared with the one
graded, and its file taken in as grading takes it in (a notebook becomes its module). Whatever
stops that is the reason the student's code is not compared, in one sentence.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader.authoring.assignment import Assignment
from grader.batch.submissions import found_at
from grader.gradebook import Gradebook, upload_of, uploaded_files
from grader.grading.intake import IntakeError, take_in


@dataclass(frozen=True)
class Code:
    """A student's code as graded (``text``), or why it cannot be read (``reason``)."""

    text: str = ""
    reason: str = ""


def read_code(gradebook: Gradebook, assignment: Assignment, path: str,
              content_hash: str) -> Code:
    """The module graded for ``assignment`` from the submission at ``path`` (a gradebook
    submission's), provided its files still hash to ``content_hash``."""
    with tempfile.TemporaryDirectory(prefix="grader-similarity-") as scratch:
        source = _located(gradebook, path, Path(scratch))
        if isinstance(source, Code):
            return source
        try:
            submission = found_at(source, Path(scratch) / "unpacked")
        except OSError:
            return Code(reason=f"its files are no longer at {path}")
        if submission.problem or submission.folder is None:
            return Code(reason=submission.problem or f"{path} cannot be read")
        if submission.content_hash != content_hash:
            return Code(reason=f"the files at {path} changed since they were graded")
        return _taken_in(submission.folder, assignment)


def _located(gradebook: Gradebook, path: str, scratch: Path) -> Path | Code:
    job = upload_of(path)
    if job is not None:
        files = uploaded_files(gradebook, job)
        if files is None:
            return Code(reason=f"the upload of {path} is no longer in the gradebook")
        upload = scratch / "upload" / "job.zip"
        upload.parent.mkdir()
        upload.write_bytes(files)
        return upload
    where = Path(path)
    if not where.is_absolute():
        return Code(reason=f"the gradebook keeps {path} relative to where the batch ran; "
                           "grade it again to keep where it is")
    return where


def _taken_in(folder: Path, assignment: Assignment) -> Code:
    try:
        intake = take_in(folder, assignment.student_file,
                         drop_calls=assignment.notebook_drop_calls)
    except (OSError, IntakeError) as err:  # FileNotFoundError: the file was not handed in
        return Code(reason=str(err))
    try:
        text = (intake.folder / intake.file).read_text(encoding="utf-8", errors="replace")
    finally:
        intake.close()
    if not text.strip():
        return Code(reason=f"{intake.shown} is empty")
    return Code(text=text)
