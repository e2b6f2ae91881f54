"""What the service's requests do, without HTTP: hand in, look up a submission, list one's own.

The web layer (``grader.service.app``) turns a request into one of these calls and its answer
into JSON or a page; everything a route decides is decided here, so tests and other front ends
call the same code. A student sees only their own jobs: anyone else's is ``None``, exactly as a
missing one is, so an id says nothing about whether it exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus

from grader.courses.course import Course, open_course
from grader.courses.locate import course_folder
from grader.courses.settings import AssignmentSettings
from grader.gradebook import Enqueued, Gradebook, JobState, JobStatus, enqueue, history, status
from grader.gradebook.results import stored_result
from grader.gradebook.tokens import Principal
from grader.outcomes import SubmissionResult, penalised
from grader.service.policy import admission
from grader.service.uploads import UploadRefused, accept_upload


@dataclass
class Service:
    """One course served from one gradebook: what every request needs, opened once."""

    db: str | None  # the gradebook's URL as given (with its password, unlike Gradebook.url)
    gradebook: Gradebook
    course: Course

    @property
    def name(self) -> str:
        return self.course.name

    def close(self) -> None:
        self.gradebook.close()


def open_service(db: str | None, course: str | None) -> Service:
    """The course at ``course`` (a folder or an installed course's name) and the gradebook at
    ``db``, created if it is a new SQLite file."""
    folder = course_folder(course)
    return Service(db, Gradebook(db), open_course(folder))


@dataclass(frozen=True)
class Submission:
    """One job as its student sees it: where it stands and, once graded, its result."""

    job: JobStatus
    result: SubmissionResult | None  # None until done, and for a job that failed
    late_penalty: float = 0.0  # the fraction of the result's score the course takes for lateness

    @property
    def score(self) -> float | None:
        """The result's score after the late penalty, as reports count it."""
        if self.result is None:
            return None
        return penalised(self.result.score, self.late_penalty)

    @property
    def state(self) -> JobState:
        return self.job.status

    @property
    def pending(self) -> bool:
        return self.job.status in (JobState.QUEUED, JobState.RUNNING)


@dataclass(frozen=True)
class AssignmentView:
    """An assignment as a student's list shows it, with their scores so far."""

    name: str
    title: str
    student_file: str
    settings: AssignmentSettings
    latest: Submission | None  # the newest graded submission
    best: Submission | None  # the one with the highest score, after any late penalty


def hand_in(service: Service, who: Principal, assignment: str,
            files: Sequence[tuple[str, bytes]], *,
            idempotency_key: str | None = None) -> Enqueued:
    """Queue an upload of ``assignment`` by the student ``who``.

    Raises:
        UploadRefused: 403 for a staff token or after the last moment accepted, 404 for an
            assignment the course does not have, 413 too large or over the quota, 400 for files
            that cannot be graded, 429 over the rate limit. Nothing is stored then.
    """
    if who.is_staff:
        raise UploadRefused(HTTPStatus.FORBIDDEN,
                            "a staff token cannot hand in work; use a student's token")
    spec = _assignment(service, assignment)
    settings = service.course.settings
    upload = accept_upload(files, spec.student_file,
                           max_bytes=settings.service.upload_max_bytes)
    return enqueue(service.gradebook, course=service.name, assignment=assignment,
                   student_id=who.student_id, files=upload.zip, idempotency_key=idempotency_key,
                   admit=admission(settings, assignment, who.student_id, size=upload.size))


def find(service: Service, who: Principal, job_id: int) -> Submission | None:
    """Submission ``job_id`` if ``who`` may see it (their own, or any for staff), else None."""
    job = status(service.gradebook, job_id)
    if job is None or not _sees(who, job, service.name):
        return None
    return _submission(service, job)


def mine(service: Service, who: Principal, assignment: str | None = None) -> list[Submission]:
    """``who``'s submissions (staff: everyone's), newest first, of one assignment or all."""
    jobs = history(service.gradebook, service.name,
                   student_id=None if who.is_staff else who.student_id, assignment=assignment)
    return [_submission(service, job) for job in jobs]


def assignments(service: Service, who: Principal) -> list[AssignmentView]:
    """The course's assignments in its order, with ``who``'s latest and best graded results."""
    done: dict[str, list[Submission]] = {}
    if not who.is_staff:
        for submission in mine(service, who):
            if submission.result is not None:
                done.setdefault(submission.job.assignment, []).append(submission)
    views = []
    for name, spec in service.course.assignments.items():
        graded = done.get(name, [])  # newest first
        best = max(graded, key=lambda s: s.score, default=None)
        views.append(AssignmentView(name, spec.title, spec.student_file,
                                    service.course.settings.of(name),
                                    graded[0] if graded else None, best))
    return views


def _assignment(service: Service, name: str):
    spec = service.course.assignments.get(name)
    if spec is None:
        known = ", ".join(service.course.assignments) or "none"
        raise UploadRefused(HTTPStatus.NOT_FOUND,
                            f"{service.name} has no assignment {name!r} (it has: {known})")
    return spec


def _sees(who: Principal, job: JobStatus, course: str) -> bool:
    return who.course == course == job.course and (who.is_staff
                                                   or job.student_id == who.student_id)


def _submission(service: Service, job: JobStatus) -> Submission:
    stored = None
    if job.status is JobState.DONE and job.run_id is not None:
        stored = stored_result(service.gradebook, job.run_id, job.student_id)
    if stored is None:
        return Submission(job, None)
    penalty = service.course.settings.of(job.assignment).penalty(stored.late_days)
    return Submission(job, stored.result, penalty)


def when(moment: datetime | None) -> str:
    """A moment as the pages and the API show it: ISO 8601, to the second, or "" for none
    (None, or pandas' NaT)."""
    if moment is None or moment != moment:  # NaT is not equal to itself
        return ""
    return moment.isoformat(timespec="seconds")
