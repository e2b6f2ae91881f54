"""The service's pages, server-rendered from Jinja2 templates (autoescaped) and usable without
JavaScript: log in, a student's assignments with an upload form and their history, one
submission's result (its feedback is the feedback file's own template), and the staff's view.

A page needs the session cookie; without one it sends the browser to the login page. Every form
carries the session's CSRF value, and a POST without it is refused.
"""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from importlib import resources
from typing import Annotated

import jinja2
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from grader.gradebook.tokens import Principal
from grader.reports import templates as report_templates
from grader.reports.schema import number
from grader.service import auth, staff_view, submissions
from grader.service.api_routes import read_files, service_of
from grader.service.feedback_view import feedback_context
from grader.service.submissions import when
from grader.service.uploads import UploadRefused

router = APIRouter(include_in_schema=False)
POLL_SECONDS = 2  # how often a pending result page looks again


@cache
def environment() -> jinja2.Environment:
    """The service's templates, then the reports' (``base.html``, the feedback's body), in an
    environment that writes html as the reports' own does."""
    env = report_templates.make_environment(jinja2.ChoiceLoader(
        [jinja2.PackageLoader("grader.service", "templates"), report_templates.loader()]))
    env.filters["when"] = when
    env.filters["number"] = number
    return env


def render(request: Request, name: str, status: int = HTTPStatus.OK, **context) -> HTMLResponse:
    service = service_of(request)
    html = environment().get_template(name).render(
        course=service.course.title or service.name, **context)
    return HTMLResponse(html, status_code=status)


def is_page(request: Request) -> bool:
    return not request.url.path.startswith("/api")


def refused_page(request: Request, refused: UploadRefused) -> HTMLResponse:
    headers = {"retry-after": str(refused.retry_after)} if refused.retry_after else {}
    response = render(request, "message.html", refused.status, title="Not handed in",
                      message=refused.reason, back="/")
    response.headers.update(headers)
    return response


def _user(request: Request) -> tuple[Principal | None, str | None]:
    token = auth.session_token(request)
    return auth.principal(service_of(request), token), token


def _to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=HTTPStatus.SEE_OTHER)


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
def login(request: Request, token: Annotated[str, Form()] = "",
          login_value: Annotated[str, Form()] = "") -> Response:
    if not auth.login_ok(request, login_value):
        return render(request, "message.html", HTTPStatus.FORBIDDEN, title="Log in again",
                      message="This login form has expired; open the login page again.",
                      back="/login")
    token = token.strip()
    if auth.principal(service_of(request), token) is None:
        return _login_page(request, HTTPStatus.UNAUTHORIZED,
                           "That token is not valid for this course: copy it whole, or ask "
                           "the course staff for a new one.")
    response = RedirectResponse("/", status_code=HTTPStatus.SEE_OTHER)
    response.set_cookie(auth.SESSION_COOKIE, token, max_age=auth.SESSION_SECONDS, httponly=True,
                        samesite="strict", secure=auth.secure(request))
    response.delete_cookie(auth.LOGIN_COOKIE, path="/login")
    return response


def _login_page(request: Request, status: int = HTTPStatus.OK, error: str = "") -> Response:
    """The login form, with a fresh double-submit value in it and in its cookie."""
    value = auth.new_login_value()
    response = render(request, "login.html", status, title="Log in", login_value=value,
                      error=error)
    response.set_cookie(auth.LOGIN_COOKIE, value, httponly=True, samesite="strict",
                        secure=auth.secure(request), path="/login")
    return response


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    if auth.csrf_ok(auth.session_token(request), csrf):
        response = _to_login()
        response.delete_cookie(auth.SESSION_COOKIE)
        return response
    return _to_login()


@router.get("/")
def home(request: Request) -> Response:
    who, token = _user(request)
    if who is None:
        return _to_login()
    if who.is_staff:
        return RedirectResponse("/staff", status_code=HTTPStatus.SEE_OTHER)
    service = service_of(request)
    return render(request, "home.html", title="Your assignments", who=who,
                  csrf=auth.csrf_value(token),
                  assignments=submissions.assignments(service, who),
                  history=submissions.mine(service, who),
                  limit=service.course.settings.service)


@router.post("/submit")
def submit(request: Request, assignment: Annotated[str, Form()] = "",
           csrf: Annotated[str, Form()] = "",
           files: Annotated[list[UploadFile] | None, File()] = None) -> Response:
    who, token = _user(request)
    if who is None:
        return _to_login()
    if not auth.csrf_ok(token, csrf):
        return render(request, "message.html", HTTPStatus.FORBIDDEN, title="Not handed in",
                      message="This form has expired; open the page again and resend.",
                      back="/")
    service = service_of(request)
    sent = read_files(files or [], service.course.settings.service.upload_max_bytes)
    queued = submissions.hand_in(service, who, assignment, sent)  # refusals: refused_page
    return RedirectResponse(f"/submissions/{queued.id}", status_code=HTTPStatus.SEE_OTHER)


@router.get("/submissions/{job_id}")
def submission_page(request: Request, job_id: int) -> Response:
    who, token = _user(request)
    if who is None:
        return _to_login()
    found = submissions.find(service_of(request), who, job_id)
    if found is None:
        return render(request, "message.html", HTTPStatus.NOT_FOUND, title="Not found",
                      message=f"There is no submission {job_id} of yours.", back="/")
    feedback = feedback_context(service_of(request), found) if found.result else None
    return render(request, "submission.html", title=f"Submission {job_id}", who=who,
                  csrf=auth.csrf_value(token), submission=found, feedback=feedback,
                  poll_seconds=POLL_SECONDS)


@router.get("/staff")
def staff_page(request: Request) -> Response:
    who, token = _user(request)
    if who is None:
        return _to_login()
    if not who.is_staff:
        return render(request, "message.html", HTTPStatus.FORBIDDEN, title="Staff only",
                      message="This page is for the course staff.", back="/")
    view = staff_view.overview(service_of(request))
    return render(request, "staff.html", title="Staff", who=who, csrf=auth.csrf_value(token),
                  view=view)


@router.get("/staff/report.{fmt}")
def staff_report(request: Request, fmt: str) -> Response:
    who, _ = _user(request)
    if who is None or not who.is_staff:
        return render(request, "message.html", HTTPStatus.FORBIDDEN, title="Staff only",
                      message="Reports are for the course staff.", back="/")
    download = staff_view.report(service_of(request), fmt)
    if download is None:
        return render(request, "message.html", HTTPStatus.NOT_FOUND, title="Not found",
                      message=f"No report in the format {fmt!r}.", back="/staff")
    return Response(download.data, media_type=download.media_type, headers={
        "content-disposition": f'attachment; filename="{download.filename}"'})


@router.get("/api")
def api_page(request: Request) -> Response:
    """The JSON API, described from the app's own OpenAPI schema (/api/openapi.json)."""
    schema = request.app.openapi()
    routes = [
        {"method": method.upper(), "path": path, "summary": op.get("summary", ""),
         "description": op.get("description", ""),
         "parameters": [(p["name"], p["in"], p.get("required", False))
                        for p in op.get("parameters", ())],
         "body": sorted(_form_fields(schema, op)),
         "answers": sorted(op.get("responses", {}))}
        for path, methods in schema["paths"].items() if path.startswith("/api/")
        for method, op in methods.items()
    ]
    return render(request, "api.html", title="The JSON API", routes=routes,
                  description=schema["info"].get("description", ""))


def _form_fields(schema: dict, operation: dict) -> list[str]:
    """The names of an operation's form fields, from its request body's schema."""
    content = operation.get("requestBody", {}).get("content", {})
    for body in content.values():
        ref = body.get("schema", {}).get("$ref", "")
        found = schema.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
        return list(found.get("properties", {}))
    return []


@router.get("/static/poll.js")
def poll_script() -> Response:
    script = resources.files("grader.service").joinpath("templates", "poll.js").read_text()
    return Response(script, media_type="text/javascript",
                    headers={"cache-control": "max-age=300"})
