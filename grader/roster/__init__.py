"""Class rosters: the LMS's CSV read and validated, submissions matched to students, LMS columns.

``read_roster`` / ``roster_from_rows`` -> ``Roster``; ``match`` and ``resolve`` map submission
names to ``Student``s; ``LAYOUTS`` gives each LMS's identity columns for a grade file.
Pure library: the standard library and ``grader.outcomes`` only.
"""

from grader.roster.lms import LAYOUTS, Layout
from grader.roster.match import Matching, match, resolve
from grader.roster.read import Roster, RosterError, Student, read_roster, roster_from_rows

__all__ = [
    "LAYOUTS", "Layout", "Matching", "Roster", "RosterError", "Student", "match",
    "read_roster", "resolve", "roster_from_rows",
]
