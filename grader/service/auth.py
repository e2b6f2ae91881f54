"""Who a request speaks for: a Bearer token (the API) or the session cookie (the pages).

The pages' session cookie holds the token the student logged in with: HttpOnly (no script reads
it), SameSite=Strict (no other site's page sends it), and valid exactly as long as the token
(revoking the token ends every session at once; nothing else is stored). Each form carries a
CSRF value derived from the token (an HMAC keyed by it), which a page of another origin can
neither read nor compute. The login form, before any session, is held by a double-submit
cookie. Tokens are never logged: uvicorn logs request lines, which carry none.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from grader.gradebook.tokens import Principal, verify
from grader.service.submissions import Service

SESSION_COOKIE = "grader_session"
LOGIN_COOKIE = "grader_login"  # the login form's double-submit value
CSRF_FIELD = "csrf"
SESSION_SECONDS = 12 * 3600  # a browser forgets the session after a working day


def bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, if there is one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def principal(service: Service, token: str | None) -> Principal | None:
    """Whom ``token`` speaks for in this service's course; None for no token, one never issued
    or revoked, and one of another course."""
    if not token:
        return None
    who = verify(service.gradebook, token)
    return who if who is not None and who.course == service.name else None


def csrf_value(token: str) -> str:
    """The CSRF value of the session holding ``token``: the same on every form of it."""
    return hmac.new(token.encode("utf-8", "surrogatepass"), b"grader csrf",
                    hashlib.sha256).hexdigest()


def csrf_ok(token: str | None, sent: str | None) -> bool:
    return bool(token and sent) and hmac.compare_digest(csrf_value(token), sent)


def new_login_value() -> str:
    return secrets.token_urlsafe(24)


def login_ok(request: Request, sent: str | None) -> bool:
    """The login form's hidden value matches its cookie (a page elsewhere can set neither)."""
    cookie = request.cookies.get(LOGIN_COOKIE)
    return bool(cookie and sent) and hmac.compare_digest(cookie, sent)


def secure(request: Request) -> bool:
    """Cookies are marked Secure when the page came over https."""
    return request.url.scheme == "https"
