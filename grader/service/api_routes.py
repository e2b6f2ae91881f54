"""The JSON API under /api: hand in, poll a submission, list one's own, the assignments, the
queue. Each route is a few lines over ``grader.service.submissions``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Header, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse

from grader.gradebook import queue_overview
from grader.gradebook.tokens import Principal
from grader.service import auth, submissions
from grader.service.submissions import AssignmentView, Service, Submission, when
from grader.service.uploads import UploadRefused

router = APIRouter(prefix="/api")
KEY_LENGTH = 255  # an Idempotency-Key's longest (the jobs table's column)


def service_of(request: Request) -> Service:
    return request.app.state.service


def unauthorized() -> HTTPException:
    return HTTPException(HTTPStatus.UNAUTHORIZED, "a valid token is required: send "
                         "'Authorization: Bearer TOKEN' with the token the course staff gave you",
                         headers={"WWW-Authenticate": "Bearer"})


def reader(request: Request) -> Principal:
    """Who reads: a Bearer token, or the pages' session cookie (the result page polls)."""
    token = auth.bearer(request) or auth.session_token(request)
    who = auth.principal(service_of(request), token)
    if who is None:
        raise unauthorized()
    return who


def writer(request: Request) -> Principal:
    """Who writes: a Bearer token only; a cookie would let another site's page write."""
    who = auth.principal(service_of(request), auth.bearer(request))
    if who is None:
        raise unauthorized()
    return who


def staff(who: Annotated[Principal, Depends(reader)]) -> Principal:
    if not who.is_staff:
        raise HTTPException(HTTPStatus.FORBIDDEN, "only course staff may see this")
    return who


def _said(why: str) -> dict:
    return {"description": why, "content": {"application/json": {"example": {"detail": why}}}}


REFUSALS = {
    400: _said("the files cannot be graded: no code, a zip with a link or a path out, too "
               "many entries, too large unpacked"),
    401: _said("no token, or one not valid for this course"),
    403: _said("a staff token, or after the assignment's last moment accepted"),
    404: _said("no such assignment"),
    413: _said("the upload is larger than the course's limit, or the student's quota is full"),
    422: _said("not multipart/form-data with the fields assignment and files"),
    429: _said("over the rate limit; Retry-After says when to try again"),
}


@router.post("/submissions", status_code=HTTPStatus.ACCEPTED, responses=REFUSALS)
def hand_in(
    request: Request, who: Annotated[Principal, Depends(writer)],
    assignment: Annotated[str, Form()], files: Annotated[list[UploadFile], File()],
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Hand in one .py, one .ipynb, one .zip of the folder, or the folder's files; answers
    202 with the submission's id and its place in the queue."""
    if idempotency_key is not None and not 0 < len(idempotency_key) <= KEY_LENGTH:
        raise UploadRefused(HTTPStatus.BAD_REQUEST,
                            f"an Idempotency-Key has 1 to {KEY_LENGTH} characters")
    service = service_of(request)
    sent = read_files(files, service.course.settings.service.upload_max_bytes)
    queued = submissions.hand_in(service, who, assignment, sent, idempotency_key=idempotency_key)
    return JSONResponse({"id": queued.id, "position": queued.position,
                         "status": queued.status.value}, status_code=HTTPStatus.ACCEPTED)


@router.get("/submissions/{job_id}", responses={401: REFUSALS[401], 404: _said(
    "no submission of yours with this id (another student's answers the same)")})
def submission(request: Request, job_id: int,
               who: Annotated[Principal, Depends(reader)]) -> dict:
    """Where a submission stands; once done, ``result`` is what ``grader check --json`` prints
    for the same files."""
    found = submissions.find(service_of(request), who, job_id)
    if found is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, f"no submission {job_id} of yours")
    return submission_json(found)


@router.get("/submissions")
def submission_list(request: Request, who: Annotated[Principal, Depends(reader)],
                    assignment: str | None = None) -> dict:
    """The caller's submissions, newest first (staff: everyone's)."""
    found = submissions.mine(service_of(request), who, assignment)
    return {"submissions": [summary_json(s) for s in found]}


@router.get("/assignments")
def assignment_list(request: Request, who: Annotated[Principal, Depends(reader)]) -> dict:
    """The course's assignments, their deadlines, and the caller's latest and best scores."""
    views = submissions.assignments(service_of(request), who)
    return {"course": service_of(request).name,
            "assignments": [assignment_json(view) for view in views]}


@router.get("/queue")
def queue(request: Request, who: Annotated[Principal, Depends(staff)]) -> dict:
    """Staff: jobs by state, and which worker grades which."""
    overview = queue_overview(service_of(request).gradebook, service_of(request).name)
    return {"counts": {state.value: n for state, n in overview.counts.items()},
            "running": [{"id": job.id, "assignment": job.assignment, "student": job.student_id,
                         "worker": job.worker, "attempts": job.attempts,
                         "lease_until": when(job.lease_until)} for job in overview.running]}


def read_files(files: list[UploadFile], max_bytes: int) -> list[tuple[str, bytes]]:
    """The uploaded parts as (name, bytes), reading no more than ``max_bytes`` + 1 in all:
    enough for ``accept_upload`` to say the upload is too large."""
    sent, room = [], max_bytes + 1
    for part in files:
        data = part.file.read(max(room, 0))
        room -= len(data)
        sent.append((part.filename or "", data))
    return sent


def submission_json(found: Submission) -> dict:
    job = found.job
    return {
        "id": job.id, "assignment": job.assignment, "student": job.student_id,
        "status": job.status.value, "position": job.position,
        "submitted_at": when(job.created_at), "finished_at": when(job.finished_at),
        "late_days": round(job.late_days, 4), "late_penalty": found.late_penalty,
        "score": found.score, "error": job.error if not found.pending else "",
        "result": found.result.to_dict() if found.result is not None else None,
    }


def summary_json(found: Submission) -> dict:
    return {
        "id": found.job.id, "assignment": found.job.assignment, "student": found.job.student_id,
        "status": found.job.status.value, "submitted_at": when(found.job.created_at),
        "score": found.score, "late_penalty": found.late_penalty,
        "max_score": found.result.max_score if found.result else None,
    }


def assignment_json(view: AssignmentView) -> dict:
    def scored(submission: Submission | None) -> dict | None:
        if submission is None:
            return None
        return {"id": submission.job.id, "score": submission.score,
                "max_score": submission.result.max_score}

    settings = view.settings
    return {"name": view.name, "title": view.title, "file": view.student_file,
            "deadline": when(settings.deadline), "late_until": when(settings.late_until),
            "late_penalty": settings.late_penalty,
            "latest": scored(view.latest), "best": scored(view.best)}
