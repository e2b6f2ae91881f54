"""What ``grader tokens issue`` and ``revoke`` do: tokens for a course's roster or its staff.

The token file is a CSV, UTF-8, with a header row, in one of two layouts:

- students: ``id,name,email,token``, one row per student, in the order asked (roster order
  for ``all_students``), the identities as the imported roster holds them;
- staff: ``staff,token``, one row.

It is the only copy of the tokens: it is written whole (or not at all), readable by its owner
only (0600), and never over an existing file, since the tokens in that one may already be in
people's hands. A token is valid as soon as the file exists and until it is revoked.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from grader import options
from grader.gradebook import Gradebook
from grader.gradebook import tokens as stored
from grader.outcomes import UsageError
from grader.reports.cells import spreadsheet_text
from grader.reports.outputs import course_of
from grader.roster import Student

STUDENT_COLUMNS = ("id", "name", "email", "token")
STAFF_COLUMNS = ("staff", "token")


@dataclass(frozen=True)
class Issued:
    """What ``issue_tokens`` wrote; the tokens themselves are only in the file."""

    tokens: int
    output: Path
    course: str
    gradebook: str  # its URL, as shown to people


@dataclass(frozen=True)
class Revoked:
    tokens: int  # how many were live and now are not
    course: str


def issue_tokens(
    db: str | None, course: str | None, *, students: Sequence[str] = (),
    all_students: bool = False, staff: str | None = None, output: str | Path,
) -> Issued:
    """Issue one new token to each student named (roster id, login or email), to every
    student on the imported roster, or to one staff member, and write them to ``output``.

    Raises:
        UsageError: not exactly one of students, all_students, staff; ``output`` exists; no
            roster imported, or a student not on it (nothing is issued then).
    """
    output = Path(output)
    if sum((bool(students), all_students, staff is not None)) != 1:
        raise UsageError("choose whom to issue tokens to: --student ID (repeatable), "
                         "--all-students or --staff NAME")
    _refuse_existing(output)
    with Gradebook(db, create=False) as gradebook:
        name = course_of(gradebook, course) or options.BUILTIN_COURSE
        if staff is not None:
            header = STAFF_COLUMNS
            rows = [[who, token] for who, token in stored.issue(gradebook, name, staff=staff)]
        else:
            header = STUDENT_COLUMNS
            chosen = _students(gradebook, name, students, all_students)
            issued = stored.issue(gradebook, name, students=[s.id for s in chosen])
            rows = [[s.id, s.name, s.email, token]
                    for s, (_, token) in zip(chosen, issued, strict=True)]
        try:
            _write_private(output, header, rows)
        except BaseException:
            for row in rows:  # no one will ever hold them: leave none live
                stored.revoke(gradebook, name, token=row[-1])
            raise
        return Issued(len(rows), output, name, gradebook.url)


def revoke_tokens(
    db: str | None, course: str | None, *, token: str | None = None,
    student: str | None = None, staff: str | None = None,
) -> Revoked:
    """Revoke one token, or every live token of one student (roster id, login or email; a
    student since dropped from the roster by id) or one staff member."""
    with Gradebook(db, create=False) as gradebook:
        name = course_of(gradebook, course) or options.BUILTIN_COURSE
        if student is not None:
            roster = gradebook.roster(name)
            found = roster.find(student) if roster is not None else None
            student = found.id if found is not None else student
        return Revoked(stored.revoke(gradebook, name, token=token, student=student,
                                     staff=staff), name)


def _students(gradebook: Gradebook, course: str, wanted: Sequence[str],
              everyone: bool) -> list[Student]:
    roster = gradebook.roster(course)
    if roster is None:
        raise UsageError(f"no class list for {course} in the gradebook {gradebook.url}: "
                         "run `grader roster import FILE` first")
    if everyone:
        return list(roster.students)
    unknown = [who for who in wanted if roster.find(who) is None]
    if unknown:
        raise UsageError(f"not on {course}'s class list: {', '.join(map(repr, unknown))}; "
                         "give roster ids, logins or emails (nothing was issued)")
    return list(dict.fromkeys(roster.find(who) for who in wanted))  # a repeat counts once


def _refuse_existing(output: Path) -> None:
    if output.exists() or output.is_symlink():
        raise UsageError(f"{output} exists: the tokens in it may already be in people's hands; "
                         "choose another --output (issuing again never replaces tokens)")


def _write_private(output: Path, header: Sequence[str], rows: list[list[str]]) -> None:
    """Write the CSV beside ``output``, private from its first byte, then link it into place:
    atomic, and refused if ``output`` appeared meanwhile."""
    partial = output.with_name(f".{output.stem}.{os.getpid()}.partial{output.suffix}")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)  # a crashed issue's, by the same process id
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(header)
            # a cell a spreadsheet would evaluate (a roster name "=HYPERLINK(...)" could send
            # the file's tokens away) is quoted, as in every report
            writer.writerows([str(spreadsheet_text(value)) for value in row] for row in rows)
            file.flush()
            os.fsync(file.fileno())
        os.link(partial, output)
    except OSError as err:
        if isinstance(err, FileExistsError):
            _refuse_existing(output)
        raise UsageError(f"cannot write {output}: {err.strerror or err}") from None
    finally:
        with suppress(OSError):  # none there, or no folder to hold one
            partial.unlink()
