"""The ASGI app of ``grader serve``: the JSON API (``api_routes``) and the pages (``pages``) over
one ``Service``, behind a cap on request bodies.

``create_app`` is what tests and ``grader serve`` call; every answer that refuses something is
one sentence, ``{"detail": "..."}`` for the API.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from grader.service import api_routes, pages
from grader.service.limits import MULTIPART_SLACK, BodyLimit
from grader.service.submissions import Service
from grader.service.uploads import UploadRefused

# Every answer: no page of another origin frames ours, no script but our own file, no sniffing.
_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; connect-src 'self'; "
                               "style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def create_app(service: Service) -> BodyLimit:
    """The app serving ``service``'s course; the caller closes the service after."""
    # The API's page is rendered here from the OpenAPI schema (pages.api_page), not by Swagger
    # UI, which loads its scripts from a CDN: no page of this service fetches anything else.
    app = FastAPI(title=f"grader: {service.course.title or service.name}",
                  description="Hand in work and read its feedback. Send the token the course "
                              "staff gave you as 'Authorization: Bearer TOKEN'.",
                  docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.state.service = service
    app.include_router(api_routes.router)
    app.include_router(pages.router)
    app.add_exception_handler(UploadRefused, _refused)
    app.add_exception_handler(RequestValidationError, _invalid)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    limit = service.course.settings.service.upload_max_bytes + MULTIPART_SLACK
    return BodyLimit(app, limit)


def _refused(request: Request, refused: UploadRefused) -> JSONResponse:
    if pages.is_page(request):
        return pages.refused_page(request, refused)
    headers = {"retry-after": str(refused.retry_after)} if refused.retry_after else None
    return JSONResponse({"detail": refused.reason}, status_code=refused.status, headers=headers)


def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
    """One sentence for what the request lacks, not pydantic's list."""
    missing = sorted({str(e["loc"][-1]) for e in error.errors() if e.get("type") == "missing"})
    kind = request.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    if missing and request.method == "POST" and kind != "multipart/form-data":
        detail = (f"the request must be multipart/form-data with the fields "
                  f"{' and '.join(missing)}; it was {kind}")
    elif missing:
        detail = f"the request lacks {', '.join(missing)}"
    else:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        detail = f"{where}: {first.get('msg', 'invalid')}"
    return JSONResponse({"detail": detail}, status_code=HTTPStatus.UNPROCESSABLE_ENTITY)
