"""Matching submissions (a folder's or a zip's name) to the roster's students.

A name matches the student whose id, login or email it equals, ignoring case. Two submissions
for one student (folders ``Ann`` and ``ann@uni.edu``) are an error, never a silent pick: which
one is graded decides a grade.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from grader.roster.read import Roster, RosterError, Student


@dataclass(frozen=True)
class Matching:
    matched: dict[str, Student]  # submission name -> its student, by name
    unmatched: tuple[str, ...]  # submission names that match no one, sorted
    missing: tuple[Student, ...]  # roster students with no submission, in roster order


def match(roster: Roster, names: Iterable[str]) -> Matching:
    """Each submission name's student, the names that match no one, the students without one.

    Raises:
        RosterError: two submission names match one student.
    """
    owner: dict[Student, str] = {}
    unmatched = []
    for name in sorted(set(names)):
        student = roster.find(name)
        if student is None:
            unmatched.append(name)
        elif student in owner:
            raise RosterError(roster.source, f"submissions {owner[student]!r} and {name!r} "
                                             f"both belong to {_who(student)}; remove or "
                                             "rename one", student.row)
        else:
            owner[student] = name
    return Matching(matched={name: student for student, name in owner.items()},
                    unmatched=tuple(unmatched),
                    missing=tuple(s for s in roster.students if s not in owner))


def resolve(roster: Roster, names: Iterable[str], wanted: str) -> str:
    """The submission that ``wanted`` (``--student``) means: a submission's name, or a roster
    student's id, login or email, ignoring case; an exact name wins over its case variants.

    Raises:
        RosterError: ``wanted`` means no submission, or more than one.
    """
    names = sorted(set(names))
    student = roster.find(wanted)
    if student is not None:
        hits = [name for name in names if roster.find(name) is student]
        if not hits:
            raise RosterError(roster.source, f"{_who(student)} has no submission among the "
                                             f"{len(names)} found", student.row)
        if len(hits) > 1:
            raise RosterError(roster.source, f"{_who(student)} has {len(hits)} submissions "
                                             f"({', '.join(map(repr, hits))}); remove or "
                                             "rename all but one", student.row)
        return hits[0]
    if wanted in names:
        return wanted
    hits = [name for name in names if name.casefold() == wanted.casefold()]
    if not hits:
        raise RosterError(roster.source, f"{wanted!r} is no submission's name and no "
                                         "student's id, login or email; check the spelling")
    if len(hits) > 1:
        raise RosterError(roster.source, f"{wanted!r} matches {len(hits)} submissions "
                                         f"ignoring case ({', '.join(map(repr, hits))}); pass "
                                         "the exact name")
    return hits[0]


def _who(student: Student) -> str:
    return f"{student.name} (id {student.id!r})"
