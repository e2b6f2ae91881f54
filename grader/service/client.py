"""``grader submit``: hand files in to a ``grader serve`` and wait for the result.

One upload carries an Idempotency-Key made here, so a retry after a lost answer (the network, a
server restarting) finds the submission the first try made instead of queuing a second one. The
result is read back as the ``SubmissionResult`` ``grader check`` prints.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from grader.outcomes import SubmissionResult, UsageError

RETRIES = 4  # tries of one upload when the server cannot be reached or answers 5xx
RETRY_PAUSE = 2.0  # seconds, doubled after each
POLL = 1.0  # seconds between looks at a pending submission
TIMEOUT = 30.0  # seconds for one request
PENDING = ("queued", "running")


class SubmitError(UsageError):
    """The service refused the upload or could not be reached; the message says why."""


@dataclass(frozen=True)
class Submitted:
    id: int
    url: str  # the submission's page
    status: str  # queued, running, done, failed
    position: int | None
    result: SubmissionResult | None = None  # once done
    error: str = ""  # why it failed


def submit(url: str, token: str, assignment: str, files: Sequence[str | Path], *,
           wait: bool = True, on_status: Callable[[Submitted], None] = lambda _: None,
           timeout: float = 3600.0) -> Submitted:
    """Hand ``files`` in as ``assignment``; with ``wait``, poll until graded (or ``timeout``
    seconds), telling ``on_status`` each change of status or queue position.

    Raises:
        SubmitError: a refusal (its reason, as the service said it), a file that cannot be
            read, or a service that cannot be reached.
    """
    if not token:
        raise SubmitError("no token: set GRADER_TOKEN to the token the course staff gave you "
                          "(or pass --token)")
    parts = [("files", (Path(f).name, _read(f))) for f in files]
    base = url.rstrip("/")
    with httpx.Client(base_url=base, timeout=TIMEOUT,
                      headers={"authorization": f"Bearer {token}"}) as client:
        answer = _posted(client, assignment, parts)
        job_id = int(answer["id"])
        now = Submitted(job_id, f"{base}/submissions/{job_id}", answer["status"],
                        answer.get("position"))
        on_status(now)
        deadline = time.monotonic() + timeout
        while wait and now.status in PENDING and time.monotonic() < deadline:
            time.sleep(POLL)
            latest = _looked_up(client, job_id, now.url)
            if (latest.status, latest.position) != (now.status, now.position):
                on_status(latest)
            now = latest
        return now


def _posted(client: httpx.Client, assignment: str, parts: list) -> dict:
    key = uuid.uuid4().hex  # the same on every retry of this upload
    pause = RETRY_PAUSE
    for attempt in range(RETRIES):
        try:
            answer = client.post("/api/submissions", data={"assignment": assignment},
                                 files=parts, headers={"idempotency-key": key})
        except httpx.TransportError as err:
            if attempt == RETRIES - 1:
                raise SubmitError(f"cannot reach {client.base_url}: {err}") from None
        else:
            if answer.status_code < 500 or attempt == RETRIES - 1:
                return _json(answer)
        time.sleep(pause)
        pause *= 2
    raise AssertionError("unreachable")


def _looked_up(client: httpx.Client, job_id: int, page: str) -> Submitted:
    try:
        data = _json(client.get(f"/api/submissions/{job_id}"))
    except httpx.TransportError as err:
        raise SubmitError(f"lost the service while waiting for submission {job_id}: {err}; "
                          f"see {page}") from None
    result = data.get("result")
    return Submitted(job_id, page, data["status"], data.get("position"),
                     SubmissionResult.from_dict(result) if result else None,
                     data.get("error", ""))


def _json(answer: httpx.Response) -> dict:
    try:
        data = answer.json()
    except ValueError:
        data = None
    if answer.is_success and isinstance(data, dict):
        return data
    reason = data.get("detail") if isinstance(data, dict) else None
    if not isinstance(reason, str):
        reason = answer.reason_phrase or "no reason given"
    wait = answer.headers.get("retry-after")
    later = f" (retry after {wait} s)" if wait else ""
    raise SubmitError(f"the service answered {answer.status_code}: {reason}{later}")


def _read(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise SubmitError(f"cannot read {path}: {err.strerror or err}") from None
