"""Access tokens for ``grader serve``: issued, checked and revoked; only their hashes are kept.

A token is ``grd_`` and 192 random bits (``secrets.token_urlsafe(24)``). Guessing one is
hopeless, so a fast hash (sha256) is enough and a token is found by looking up its hash: a
stolen gradebook gives no token, and checking one takes the same work whatever it is.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import and_, select

from grader.gradebook.models import TokenRow, utcnow
from grader.gradebook.store import Gradebook, GradebookError
from grader.outcomes import UsageError

PREFIX = "grd_"  # says what a leaked string is (secret scanners match on it); never "-" first
MAX_LENGTH = 128  # an issued token has 36 characters; a longer one is hashed as no token
NAME_LENGTH = TokenRow.__table__.c.staff_name.type.length
Kind = Literal["student", "staff"]


@dataclass(frozen=True)
class Principal:
    """Who a live token speaks for: a student on the course's roster, or a staff member."""

    course: str
    kind: Kind
    student_id: str = ""  # the roster's id; "" for staff
    staff_name: str = ""  # "" for a student

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"


def issue(gradebook: Gradebook, course: str, *, students: Sequence[str] = (),
          staff: str | None = None) -> list[tuple[str, str]]:
    """One new token for each student id (repeats count once) and for ``staff``, stored in
    one transaction; tokens issued before stay live.

    Returns:
        ``(student id or staff name, token)`` pairs, students first, in the order given. The
        tokens are in no other place: hand them out, never log them.
    """
    people: list[tuple[str, Kind]] = [(s, "student") for s in dict.fromkeys(students)]
    if staff is not None:
        people.append((staff, "staff"))
    if not people:
        raise UsageError("no one to issue tokens to: name students or a staff member")
    for who, _ in people:
        _check_name(who)
    rows, issued = [], []
    for who, kind in people:
        token = PREFIX + secrets.token_urlsafe(24)
        rows.append(TokenRow(course=course, token_hash=_digest(token), kind=kind,
                             student_id=who if kind == "student" else "",
                             staff_name=who if kind == "staff" else ""))
        issued.append((who, token))
    with gradebook.session(write=True) as session:
        session.add_all(rows)
    return issued


def verify(gradebook: Gradebook, token: str) -> Principal | None:
    """Whom ``token`` speaks for; None when it was never issued or is revoked.

    Every token costs one hash and one indexed lookup, whatever its shape or length.
    """
    digest = _digest(token if len(token) <= MAX_LENGTH else "")  # "" is no token's
    with gradebook.session() as session:
        row = session.scalar(select(TokenRow).where(TokenRow.token_hash == digest))
    if row is None or row.revoked_at is not None:
        return None
    return Principal(row.course, "staff" if row.kind == "staff" else "student",
                     row.student_id, row.staff_name)


def revoke(gradebook: Gradebook, course: str, *, token: str | None = None,
           student: str | None = None, staff: str | None = None) -> int:
    """Revoke one token, or every live token of one student or one staff member, in
    ``course``; returns how many were live and now are not.

    Raises:
        GradebookError: the course holds no such token, or no token of that person.
    """
    if sum(given is not None for given in (token, student, staff)) != 1:
        raise UsageError("revoke what? name one token, one student or one staff member")
    if token is not None:
        which, what = TokenRow.token_hash == _digest(token), "that token (copy it whole)"
    elif student is not None:
        which = and_(TokenRow.kind == "student", TokenRow.student_id == student)
        what = f"student {student!r}"
    else:
        which = and_(TokenRow.kind == "staff", TokenRow.staff_name == staff)
        what = f"staff member {staff!r}"
    with gradebook.session(write=True) as session:
        rows = session.scalars(select(TokenRow).where(TokenRow.course == course, which)).all()
        if not rows:
            raise GradebookError(f"no tokens for {what} in {course} in the gradebook "
                                 f"{gradebook.url}")
        live = [row for row in rows if row.revoked_at is None]
        now = utcnow()
        for row in live:
            row.revoked_at = now
    return len(live)


def _digest(token: str) -> str:
    # surrogatepass: a header's stray surrogate hashes instead of raising; it matches nothing
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _check_name(who: str) -> None:
    if not who.strip() or any(unicodedata.category(char) == "Cc" for char in who):
        raise UsageError(f"{who!r} cannot own a token: give a name without control characters")
    if len(who) > NAME_LENGTH:
        raise UsageError(f"{who[:40]!r}... is {len(who)} characters long; at most {NAME_LENGTH}")
