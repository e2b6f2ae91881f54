"""The identity columns each LMS's grade import reads, and a student's cells under them.

A grade file goes back into the LMS it came from, so its identity columns must be the ones that
LMS matches students on; a score column is the caller's. Cells are the roster's values as they
are: an optional key a student lacks stays empty rather than borrowing another key, since an LMS
that matched on it could then give the grade to someone else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from grader.roster.read import Student


@dataclass(frozen=True)
class Layout:
    name: str  # "canvas" | "gradescope" | "moodle"
    columns: tuple[str, ...]  # identity columns, in order
    cells: Callable[[Student], tuple[str, ...]]  # a student's values, one per column
    points_possible: bool = False  # a "Points Possible" row under the header (Canvas's)


# Canvas's gradebook import CSV leads with these identity columns (Canvas Instructor Guide,
# "How do I import grades in the Gradebook?"); ID is Canvas's user id, the roster's id.
CANVAS = Layout("canvas", ("Student", "ID", "SIS User ID", "SIS Login ID", "Section"),
                lambda s: (s.name, s.id, s.sis_id, s.login, s.section), points_possible=True)

# No Gradescope page on importing an assignment's scores was found; these are the identity
# columns of Gradescope's own score export ("Name", "SID", "Email"). Its roster matches
# students on email, unique per course member:
# https://guides.gradescope.com/hc/en-us/articles/21926598776333-Adding-Students-and-Staff
# SID is the institution's student id, the roster's sis_id.
GRADESCOPE = Layout("gradescope", ("Name", "SID", "Email"),
                    lambda s: (s.name, s.sis_id, s.email))

# Moodle's gradebook "Import > CSV file" maps one column of the file ("Map from") to a user
# field ("Map to"): Username, ID number or Email address (grade/import/grade_import_form.php);
# https://docs.moodle.org/311/en/Grade_import suggests Email address or ID number. Every other
# column is ignored unless mapped to a grade item, so the name travels for the reader.
# ID number is the institution's number in the user's profile, the roster's sis_id.
MOODLE = Layout("moodle", ("Full name", "ID number", "Username", "Email address"),
                lambda s: (s.name, s.sis_id, s.login, s.email))

LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (CANVAS, GRADESCOPE, MOODLE)}
