"""A cap on request bodies, applied before any route reads one: a hostile upload of any size
costs the server at most the cap in memory or spool, never its disk.

A body whose Content-Length says it is too large is answered 413 unread. One that grows past the
cap while it streams (chunked, or lying about its length) is cut off where it crosses, and
whatever the route made of the cut body is replaced by the same 413.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from grader.service.uploads import human_size

MULTIPART_SLACK = 64 * 1024  # a form's boundaries, headers and fields beside the files


class BodyLimit:
    """ASGI middleware: 413 for a request body over ``max_bytes``."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        crossed = False
        seen = 0

        async def counted():
            nonlocal crossed, seen
            if crossed:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    crossed = True  # the route sees the client leave; its answer is replaced
                    return {"type": "http.disconnect"}
            return message

        refused = started = False

        async def answer(message) -> None:
            nonlocal refused, started
            if crossed and not started:
                if not refused:
                    refused = True
                    await self._refuse(send)
                return
            started = True  # an answer begun before the body ran over is left as it is
            await send(message)

        await self.app(scope, counted, answer)
        if crossed and not (refused or started):
            await self._refuse(send)

    async def _refuse(self, send) -> None:
        body = json.dumps({"detail": f"the request is larger than the "
                                     f"{human_size(self.max_bytes)} this service accepts"})
        await send({"type": "http.response.start",
                    "status": HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body.encode()})


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
