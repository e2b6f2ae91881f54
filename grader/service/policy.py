"""Whether the service takes one more upload from a student now: the deadline, the rate limit
and the quota, checked in that order after the files (docs/service.md, "Requests").

``now`` is a parameter, never read from the clock here: a decision is a function of the course's
settings, the student's earlier jobs and that time. The late penalty is not applied here:
the job keeps its ``late_days`` and reports apply the course's ``late_penalty`` to them.

``admission`` is the decision as ``enqueue`` takes it: made inside the transaction that stores
the upload, with the student's uploads locked, so uploads sent by one student at the same
instant are decided one after another, each seeing the ones before. ``admit`` decides on its
own transaction, for a look ahead (a page that says when the next upload is possible).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grader.courses.settings import (
    AssignmentSettings,
    CourseSettings,
    ServiceSettings,
    days_late,
)
from grader.gradebook import Gradebook
from grader.gradebook.models import JobRow
from grader.gradebook.queue import Admission
from grader.service.uploads import UploadRefused, human_size

DAY = timedelta(days=1)  # submits_per_day counts in any window this long


@dataclass(frozen=True)
class Decision:
    """An upload the service takes: queue it with these ``late_days``."""

    late_days: float  # 0 until the deadline, then days after it, fractional


@dataclass(frozen=True)
class Earlier:
    """A student's earlier jobs, as far as a decision needs them."""

    times: tuple[datetime, ...]  # this assignment's jobs of the last day: created_at, oldest first
    stored_bytes: int  # every job of this student in the course, every assignment: sum of size


def admit(gradebook: Gradebook, course: CourseSettings, assignment: str, student_id: str, *,
          size: int, now: datetime) -> Decision:
    """Whether ``student_id`` may hand in ``assignment`` now, an upload of ``size`` bytes
    (``Upload.size``); reads their earlier jobs from the gradebook.

    Raises:
        UploadRefused: 403 after the last moment accepted, 429 over the rate limit (with
            ``retry_after``), 413 over the student's quota.
    """
    earlier = earlier_jobs(gradebook, course.name, assignment, student_id, now)
    return decide(assignment, course.of(assignment), course.service, earlier, size=size, now=now)


def admission(course: CourseSettings, assignment: str, student_id: str, *,
              size: int) -> Admission:
    """``admit`` as ``enqueue`` runs it: in its transaction, at the database's time; the
    late days it returns are the job's."""
    def decided(session: Session, now: datetime) -> float:
        earlier = _earlier(session, course.name, assignment, student_id, now)
        return decide(assignment, course.of(assignment), course.service, earlier, size=size,
                      now=now).late_days

    return decided


def earlier_jobs(gradebook: Gradebook, course: str, assignment: str, student_id: str,
                 now: datetime) -> Earlier:
    """What the jobs table holds of ``student_id``: when they queued ``assignment`` in the day
    before ``now``, and how many bytes of uploads they store in ``course``."""
    with gradebook.session() as session:
        return _earlier(session, course, assignment, student_id, now)


def _earlier(session: Session, course: str, assignment: str, student_id: str,
             now: datetime) -> Earlier:
    _aware(now)
    mine = (JobRow.course == course, JobRow.student_id == student_id)
    times = session.scalars(
        select(JobRow.created_at)
        .where(*mine, JobRow.assignment == assignment, JobRow.created_at > now - DAY)
        .order_by(JobRow.created_at)).all()
    stored = session.scalar(select(func.coalesce(func.sum(JobRow.size), 0)).where(*mine))
    return Earlier(tuple(times), int(stored))


def decide(assignment: str, settings: AssignmentSettings, service: ServiceSettings,
           earlier: Earlier, *, size: int, now: datetime) -> Decision:
    """The deadline, then the rate limit, then the quota, for an upload of ``size`` bytes.

    Raises:
        UploadRefused: as ``admit`` says.
    """
    _aware(now)
    late_days = _late_days(assignment, settings, now)
    _rate_limit(assignment, service, earlier.times, now)
    _quota(service, earlier.stored_bytes, size)
    return Decision(late_days)


def _aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware, as the course's deadlines are")


def _late_days(assignment: str, settings: AssignmentSettings, now: datetime) -> float:
    deadline = settings.deadline
    if deadline is None or now <= deadline:
        return 0.0
    if settings.late_until is None:
        raise UploadRefused(HTTPStatus.FORBIDDEN,
                            f"the deadline for {assignment} was {deadline.isoformat()} and late "
                            "submissions are not accepted")
    if now > settings.late_until:
        raise UploadRefused(HTTPStatus.FORBIDDEN,
                            f"late submissions for {assignment} closed at "
                            f"{settings.late_until.isoformat()} (the deadline was "
                            f"{deadline.isoformat()})")
    return days_late(deadline, now)


def _rate_limit(assignment: str, service: ServiceSettings, times: tuple[datetime, ...],
                now: datetime) -> None:
    """One upload per ``submit_interval`` and ``submits_per_day`` in any day; the longer wait
    is the one said."""
    waits: list[tuple[float, str]] = []
    if times:
        interval = timedelta(seconds=service.submit_interval)
        waits.append(((max(times) + interval - now).total_seconds(),
                      f"you may submit {assignment} once every {service.submit_interval:g} s"))
    today = sorted(t for t in times if t > now - DAY)
    over = len(today) - service.submits_per_day
    if over >= 0:  # open again when enough of them are a day old
        waits.append(((today[over] + DAY - now).total_seconds(),
                      f"you have submitted {assignment} {len(today)} times in the last 24 "
                      f"hours, the most allowed"))
    seconds, why = max(waits, default=(0.0, ""))
    if seconds > 0:
        retry_after = max(1, math.ceil(seconds))
        raise UploadRefused(HTTPStatus.TOO_MANY_REQUESTS,
                            f"{why}; try again in {_wait(retry_after)}", retry_after=retry_after)


def _quota(service: ServiceSettings, stored: int, size: int) -> None:
    # 413, not 507: the student's share is full, not the server's disk; a 5xx would tell
    # clients to retry and count as the server's failure.
    quota = service.upload_quota_bytes
    if stored + size > quota:
        raise UploadRefused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                            f"your uploads to this course take {human_size(stored)} of your "
                            f"{human_size(quota)} quota and this one is {human_size(size)}; ask "
                            "the course staff for room")


def _wait(seconds: int) -> str:
    """"45 s", "17 min", "3 h 12 min": rounded up, never sooner than Retry-After."""
    if seconds < 120:
        return f"{seconds} s"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"
